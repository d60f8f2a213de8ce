"""Bulk scoring at scale: a generated N-row file (default 1,000,000) scored by `affectlab score`,
locally and on a local Ray instance, and a local run killed with SIGKILL part-way, then
started again, that must end with exactly one output row per input row.

    python benchmarks/score.py [--rows 1000000] [--workers 2] [--kill-after 600] [--backends local ray]
                               [--pipeline NAME_OR_DIR]

Texts are short generated sentences (3-12 words, a seeded mix of ordinary and emotional words);
ids are strings. Each run's rows/s is rows / wall time (process start, pipeline load and the
final join included). The local run is the killed one: SIGKILL after --kill-after seconds, then
the same command again; its rows/s counts both stretches, the work lost with the chunks in
flight included (0: no kill).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORDS = ("i you we they the this that movie meeting dinner game trip day news weather job team plan "
         "was is are were so really very not quite just great awful happy sad angry scared love hate "
         "amazing terrible boring fine okay lovely disgusting surprising wonderful annoying calm").split()


def generate(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w") as out:
        out.write("id,text\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            lengths = rng.integers(3, 13, n)
            words = rng.choice(WORDS, (n, 12))
            out.writelines(f"r{start + i:07d},{' '.join(words[i, :lengths[i]])}\n" for i in range(n))


def command(source: Path, out: Path, workers: int, backend: str, pipeline: str | None = None) -> list[str]:
    return [sys.executable, "-m", "affectlab.cli", "score", str(source), "--out", str(out), "--id-column", "id",
            "--workers", str(workers), "--backend", backend, "--chunk-size", "20000", "--quiet",
            *(["--pipeline", pipeline] if pipeline else [])]


def check(source: Path, out: Path) -> str:
    ids = pd.read_csv(source, usecols=["id"], dtype=str)["id"]
    scored = pd.read_parquet(out, columns=["id"])["id"]
    ok = len(scored) == len(ids) and scored.is_unique and (scored.to_numpy() == ids.to_numpy()).all()
    return f"{len(scored):,} output rows for {len(ids):,} input rows, ids unique and in input order: {ok}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-after", type=float, default=600, help="seconds before the local run is killed")
    parser.add_argument("--backends", nargs="+", default=["local", "ray"])
    parser.add_argument("--pipeline", help="a shipped pipeline's name or a pipeline folder (default: the shipped text one)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="affectlab-score-"))
    source = folder / "input.csv"
    generate(source, args.rows)
    print(f"{args.rows:,} rows generated ({source.stat().st_size / 1e6:.0f} MB); {os.cpu_count()} CPUs, "
          f"{args.workers} workers")
    try:
        for backend in args.backends:
            out = folder / f"{backend}.parquet"
            started = time.perf_counter()
            note = ""
            if backend == "local" and args.kill_after > 0:
                process = subprocess.Popen(command(source, out, args.workers, backend, args.pipeline), start_new_session=True)
                try:
                    process.wait(args.kill_after)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    parts = len(list(Path(f"{out}.parts").glob("part-*")))
                    note = (f" (killed with SIGKILL after {args.kill_after:.0f} s with {parts} finished parts of "
                            "20,000 rows, then started again)")
            subprocess.run(command(source, out, args.workers, backend, args.pipeline), check=True)
            seconds = time.perf_counter() - started
            print(f"{backend}: {seconds:.0f} s, {args.rows / seconds:,.0f} rows/s{note}; {check(source, out)}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
