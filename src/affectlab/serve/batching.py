"""Micro-batching: concurrent requests for one pipeline share one forward pass.

Requests put their texts on the pipeline's queue and wait. One worker per pipeline takes the
first request and, while other requests are in flight, gathers more for up to ``max_wait_ms``
or ``max_batch`` texts, predicts them in one call and hands every request its slice. A lone
request does not wait: with nothing else in flight it runs at once, so batching costs no latency
at concurrency 1. One worker per pipeline also means forward passes never compete for the
CPU's cores.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher:
    def __init__(self, max_batch: int = 32, max_wait_ms: float = 2.0) -> None:
        self.max_batch, self.max_wait = max_batch, max_wait_ms / 1000.0
        self._queues: dict[int, asyncio.Queue] = {}
        self._workers: dict[int, asyncio.Task] = {}
        self.in_flight = 0
        self.batches = 0

    async def predict(self, pipeline, texts: list[str]) -> list:
        key = id(pipeline)
        if key not in self._queues:
            self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.create_task(self._run(pipeline, self._queues[key]))
        pending = _Pending(list(texts))
        self.in_flight += 1
        try:
            await self._queues[key].put(pending)
            return await pending.future
        finally:
            self.in_flight -= 1

    async def _run(self, pipeline, queue: asyncio.Queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            group = [await queue.get()]
            size = len(group[0].texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                if queue.empty() and self.in_flight <= len(group):
                    break  # nobody else is waiting: do not delay this batch
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                group.append(item)
                size += len(item.texts)
            texts = [t for item in group for t in item.texts]
            try:
                predictions = await run_in_threadpool(pipeline.predict, texts)
            except Exception as error:  # every request of the batch gets the error
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(error)
                continue
            self.batches += 1
            start = 0
            for item in group:
                if not item.future.done():
                    item.future.set_result(predictions[start:start + len(item.texts)])
                start += len(item.texts)

    async def close(self) -> None:
        for task in self._workers.values():
            task.cancel()
