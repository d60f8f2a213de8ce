"""The service under bounded load: a real `affectlab serve` on 127.0.0.1, the shipped text pipeline,
every prediction committed to the audit log before its answer (SQLite WAL).

    python benchmarks/serve.py [--seconds 30] [--concurrency 1 16 64] [--database-url URL] [--model-only]
                               [--pipeline DIR] [--backends torch onnx onnx-int8]

For each backend (PyTorch; ONNX Runtime fp32 and dynamic INT8, exported into a temporary copy of
the pipeline: fine-tuned pipelines only) and micro-batching off and on, a fresh server (and
database) is started; for each concurrency
level, that many clients send one short text per request back to back for --seconds (after a
warm-up), and p50 / p99 latency (HTTP, model and the committed audit record), throughput and
errors are printed. The batching speed-up is throughput on / off at the highest concurrency,
both measured in this run. The load generator runs on the same machine (its CPU use is part
of the figures).

First, the model alone: ``Pipeline.predict`` on one text and on a batch of 32 (median of 15
after warm-up) with 1 thread and with every core, the share of a request's latency that is the
model and the thread setting that suits this CPU. ``--model-only`` stops there.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

TEXT = "Oh great, another Monday."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(database_url: str, batching: bool, pipelines: str | None = None,
          backend: str = "torch") -> tuple[subprocess.Popen, str, str]:
    from affectlab.serve.database import make_engine, migrate
    from affectlab.serve.keys import create_key

    engine = make_engine(database_url)
    migrate(engine)
    key = create_key(engine, "bench")[1]
    engine.dispose()
    port = free_port()
    code = ("import uvicorn; from affectlab.serve.app import create_app; from affectlab.serve.settings import ServeSettings;"
            f"uvicorn.run(create_app(ServeSettings(database_url={database_url!r}, micro_batching={batching},"
            f" pipelines={pipelines!r}, backend={backend!r},"
            " rate_per_minute=10**9, burst=10**9)), host='127.0.0.1', port=" + str(port) + ", log_level='error')")
    server = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return server, url, key
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


async def load(url: str, key: str, clients: int, seconds: float) -> dict:
    """``clients`` aiohttp clients posting back to back (aiohttp: a lighter client than httpx's
    async one, whose own CPU time would otherwise be counted in every latency on 2 cores)."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=url, headers={"X-API-Key": key}, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    async with http.post("/v1/predict", json={"text": TEXT}) as answer:
                        await answer.read()
                        ok = answer.status == 200
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    values = np.asarray(latencies) * 1000
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "rps": len(values) / seconds, "errors": errors, "n": len(values)}


def serving_copy(source: str | None, backends: list[str], folder: Path) -> str | None:
    """A folder holding one copy of the pipeline (``source``, default: the shipped text one),
    exported to ONNX when a backend needs it; None serves the shipped pipelines as they are."""
    import shutil

    from affectlab.pipeline import Pipeline

    if source is None and backends == ["torch"]:
        return None
    pipeline = Pipeline.load(source, device="cpu") if source else Pipeline.default(device="cpu")
    served = folder / "pipelines"
    target = served / (Path(source).name if source else "default")
    shutil.copytree(pipeline.path, target)
    if any(b != "torch" for b in backends):
        from affectlab.onnx_backend import export_onnx

        started = time.perf_counter()
        export_onnx(Pipeline.load(target, device="cpu"))
        print(f"exported {pipeline.path} to ONNX (fp32 and INT8) in {time.perf_counter() - started:.0f} s", flush=True)
    return str(served)


def model_alone(source: str | None = None, repeats: int = 15) -> None:
    import torch

    from affectlab.pipeline import Pipeline

    pipeline = Pipeline.load(source, device="cpu") if source else Pipeline.default(device="cpu")
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}, reverse=True):
        torch.set_num_threads(threads)
        for n in (1, 32):
            texts = [TEXT] * n
            pipeline.predict(texts)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                pipeline.predict(texts)
                times.append(time.perf_counter() - start)
            median = float(np.median(times))
            print(f"  model alone, {threads} thread(s), {n:2d} text(s): median {median * 1000:6.1f} ms "
                  f"({n / median:5.0f} texts/s)", flush=True)
    torch.set_num_threads(cores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--database-url", help="default: a fresh SQLite file per server")
    parser.add_argument("--model-only", action="store_true", help="time the model alone, start no server")
    parser.add_argument("--pipeline", help="a pipeline directory (default: the shipped text pipeline)")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=["torch", "onnx", "onnx-int8"])
    args = parser.parse_args()
    model_alone(args.pipeline)
    if args.model_only:
        return
    print(f"{os.cpu_count()} CPUs; {args.seconds:.0f} s per point; one short text per request")
    results = {}
    top = max(args.concurrency)
    with tempfile.TemporaryDirectory() as folder:
        pipelines = serving_copy(args.pipeline, args.backends, Path(folder))
        for backend in args.backends:
            for batching in (False, True):
                url_db = args.database_url or f"sqlite:///{Path(folder) / f'audit-{backend}-{batching}.db'}"
                server, url, key = start(url_db, batching, pipelines, backend)
                try:
                    asyncio.run(load(url, key, 4, 2.0))  # warm-up
                    for clients in args.concurrency:
                        results[(backend, batching, clients)] = r = asyncio.run(load(url, key, clients, args.seconds))
                        print(f"  {backend:9s} micro-batching {'on ' if batching else 'off'}  {clients:3d} clients: "
                              f"p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  {r['rps']:7.1f} req/s  "
                              f"errors {r['errors']}", flush=True)
                finally:
                    os.killpg(server.pid, signal.SIGTERM)
                    server.wait(30)
            print(f"{backend}: micro-batching at {top} clients: "
                  f"{results[(backend, True, top)]['rps'] / results[(backend, False, top)]['rps']:.2f}x "
                  "the unbatched throughput", flush=True)


if __name__ == "__main__":
    main()
