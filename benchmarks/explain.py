"""Integrated Gradients on the CPU: fast and full mode next to a plain per-step Captum loop.

    python benchmarks/explain.py [--pipeline DIR] [--repeats 5] [--full-steps 50] [--sanity]

One short text, the shipped text pipeline by default. Each figure is the best of --repeats
timed calls after a warm-up (benchmarks/_timing.py), all in the same run:
1. fast mode: 8 steps, every interpolation point in one batched forward/backward pass;
2. full mode: --full-steps steps in batches of 16;
3. the baseline: the same 8 steps as a plain Captum loop, one interpolation point per
   forward/backward (``internal_batch_size=1``).
The convergence delta of each is printed beside its time.

``--sanity`` also checks what the attributions say, on benchmarks/data/emotional_words.csv (34
short texts, each with one strongly emotional word): how often that word carries the largest
attribution toward the predicted class (overall, and over the texts predicted as an emotion
rather than neutral), and how much deleting the top-attributed word lowers the predicted
class's probability against deleting a random other word.
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import speedup, timed  # noqa: E402

from affectlab import explain as explaining  # noqa: E402
from affectlab.pipeline import Pipeline  # noqa: E402

TEXT = "I can't believe you did this!"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full-steps", type=int, default=50)
    parser.add_argument("--sanity", action="store_true", help="also run the attribution sanity check")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    pipeline = Pipeline.load(args.pipeline, device="cpu") if args.pipeline else Pipeline.default(device="cpu")
    fast = timed(lambda: explaining.explain(pipeline, TEXT, mode="fast"), args.repeats)
    full = timed(lambda: explaining.explain(pipeline, TEXT, mode="full", steps=args.full_steps), args.repeats)
    saved = dict(explaining.MODES["fast"])
    explaining.MODES["fast"]["batch"] = 1  # the baseline: one interpolation point per pass
    try:
        loop = timed(lambda: explaining.explain(pipeline, TEXT, mode="fast"), args.repeats)
    finally:
        explaining.MODES["fast"].update(saved)
    print(f"text: {TEXT!r} -> {fast.result.target}")
    for name, timing in (("fast (8 steps, one batched pass)", fast), (f"full ({args.full_steps} steps)", full),
                         ("plain Captum loop (8 steps, one per pass)", loop)):
        print(f"  {name:44s} {timing.best * 1000:7.1f} ms  delta {timing.result.delta:.4f}  [{timing.spread()}]")
    print(f"fast mode vs the plain loop: {speedup(loop, fast)}")
    if args.sanity:
        import csv

        rows = Path(__file__).resolve().parent / "data" / "emotional_words.csv"
        items = [(r["text"], r["word"]) for r in csv.DictReader(rows.open())]
        for mode in ("fast", "full"):
            check = explaining.sanity_check(pipeline, items, mode=mode)
            print(f"sanity ({mode}): the emotional word leads in {check['top_word_rate']:.1%} of {check['texts']} texts, "
                  f"{check['top_word_rate_emotional']:.1%} of the {check['emotional_texts']} predicted as an emotion; "
                  f"deleting the top word drops p(predicted) by {check['deletion_drop_top']:.3f}, "
                  f"a random word by {check['deletion_drop_random']:.3f}")
            missed = [f"{r['text']!r} -> {r['target']}, top {r['top_word']!r}" for r in check["rows"] if not r["hit"]]
            print("  missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
