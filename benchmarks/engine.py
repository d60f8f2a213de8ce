"""Latency of the emotion engine on the CPU next to the shipped frozen MELD-7 pipeline.

    python benchmarks/engine.py [--pipeline DIR] [--data-root ../shared/data] [--repeats 7]

``--pipeline`` defaults to the shipped engine (``affectlab predict``'s default text pipeline).
Two figures per pipeline, each the best of ``--repeats`` timed calls after a warm-up
(benchmarks/_timing.py), measured in the same run:
1. one short text, the whole ``Pipeline.predict`` call (tokenise, encode, every head, readouts);
2. a batch of 64 texts in one call (MELD test utterances when MELD is under --data-root,
   otherwise a fixed set of sentences), reported per call and per text.
Threads: torch's default for this machine (printed).
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed  # noqa: E402

from affectlab.pipeline import Pipeline  # noqa: E402

TEXT = "Oh great, another Monday."
FALLBACK = ["I can't believe you did this!", "This is wonderful news.", "Why would you say that?",
            "Oh no, that's terrible.", "We won the game! Amazing.", "Okay. Fine. Whatever.",
            "Thanks for the help, really.", "I'm scared of the dark."]


def batch_texts(data_root: Path, n: int = 64) -> tuple[list[str], str]:
    meld = data_root / "meld" / "test_sent_emo.csv"
    if meld.is_file():
        import pandas as pd

        texts = pd.read_csv(meld)["Utterance"].astype(str).tolist()[:n]
        return texts, "MELD test utterances"
    return (FALLBACK * (n // len(FALLBACK) + 1))[:n], "built-in sentences (MELD not found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default=None, help="an engine pipeline directory (default: the shipped one)")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    engine = Pipeline.load(args.pipeline, device="cpu") if args.pipeline else Pipeline.default(device="cpu")
    frozen = Pipeline.shipped("text-meld7", device="cpu")
    texts, source = batch_texts(Path(args.data_root))
    print(f"engine: {engine.path} (tasks: {', '.join(engine.tasks)}); batch: 64 {source}")
    rows = {}
    for name, pipe in (("frozen MELD-7", frozen), ("engine", engine)):
        rows[name] = (timed(lambda: pipe.predict(TEXT), args.repeats),
                      timed(lambda: pipe.predict(texts, batch_size=64), max(3, args.repeats // 2)))
    single_base, batch_base = rows["frozen MELD-7"][0].best, rows["frozen MELD-7"][1].best
    for name, (single, batch) in rows.items():
        print(f"  {name:14s} one text {single.best * 1000:7.1f} ms ({single.best / single_base:.2f}x)   "
              f"batch of 64 {batch.best * 1000:7.0f} ms = {batch.best / 64 * 1000:5.1f} ms/text "
              f"({batch.best / batch_base:.2f}x)   [{single.spread()}; {batch.spread()}]")


if __name__ == "__main__":
    main()
