"""Micro-batching: concurrent callers share forward passes; a lone caller never waits."""
import asyncio
import time

from affectlab.serve.batching import MicroBatcher


class CountingPipeline:
    """Predicts each text as itself, slowly, and counts its calls (what a forward pass costs)."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.calls, self.seconds = [], seconds

    def predict(self, texts):
        self.calls.append(len(texts))
        time.sleep(self.seconds)
        return [f"answer to {t}" for t in texts]


def test_concurrent_requests_are_batched_and_each_gets_its_slice():
    pipeline = CountingPipeline()

    async def main():
        batcher = MicroBatcher(max_batch=16, max_wait_ms=20)
        answers = await asyncio.gather(*(batcher.predict(pipeline, [f"t{i}", f"u{i}"]) for i in range(12)))
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert answers == [[f"answer to t{i}", f"answer to u{i}"] for i in range(12)]
    assert len(pipeline.calls) < 12 and max(pipeline.calls) <= 16


def test_a_lone_request_does_not_wait_for_company():
    pipeline = CountingPipeline(seconds=0.0)

    async def main():
        batcher = MicroBatcher(max_batch=16, max_wait_ms=500)
        start = time.perf_counter()
        await batcher.predict(pipeline, ["alone"])
        elapsed = time.perf_counter() - start
        await batcher.close()
        return elapsed

    assert asyncio.run(main()) < 0.25  # far below the 500 ms window
