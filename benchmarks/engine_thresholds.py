"""Is the engine's XED (or GoEmotions) figure a threshold problem? Re-thresholds a finished run's
saved primary-task probabilities, every threshold chosen on dev, scored on test.

    python benchmarks/engine_thresholds.py RUN_DIR [--corpus xed]
    python benchmarks/engine_thresholds.py --pipeline text-engine --config configs/goemotions_text.yaml \
        [--task goemotions] [--data-root ../shared/data]

RUN_DIR is a finished multi-corpus run (e.g. ``runs/grids/engine/runs/engine-b1ceb65a84``): its
``dev_probs.npy`` / ``test_probs.npy`` hold the labelled rows of the primary task, corpus after
corpus in the order of ``results.json``'s ``by_source``. The script checks that order by
reproducing each corpus's recorded micro-F1 at the run's threshold before it uses the slices.
Printed, for ``--corpus``: micro- and macro-F1 on test with
1. the run's own threshold (one for every class, chosen on the dev rows of all corpora);
2. one threshold chosen on this corpus's dev rows only;
3. one threshold per class, chosen on this corpus's dev rows;
4. as 2, and every text keeps at least its top class.

With ``--pipeline``, the probabilities come from running that pipeline on the dev and test rows
of ``--config``'s corpus (its labels must give one of the pipeline's tasks, e.g. GoEmotions' 28
labels for the engine's ``goemotions`` head); (1) is then the pipeline's own threshold.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from affectlab.evaluation.metrics import tune_threshold

GRID = np.round(np.arange(0.05, 0.8, 0.025), 3)


def corpus_slices(run: Path, split: str, threshold: float) -> dict[str, slice]:
    """Rows of each corpus in ``{split}_probs.npy``, checked against the recorded figures."""
    results = json.loads((run / "results.json").read_text())
    probs, labels = np.load(run / f"{split}_probs.npy"), np.load(run / f"{split}_labels.npy")
    slices, start = {}, 0
    for corpus, tasks in results["by_source"].items():
        figures = (tasks.get("label") or {}).get(split)
        if not figures:
            continue
        part = slice(start, start + figures["n"])
        micro = f1_score(labels[part], probs[part] >= threshold, average="micro", zero_division=0)
        if abs(micro - figures["micro_f1"]) > 1e-6:
            raise SystemExit(f"{split} rows of {corpus} are not where expected ({micro:.4f} vs "
                             f"{figures['micro_f1']:.4f} recorded)")
        slices[corpus], start = part, part.stop
    if start != len(probs):
        raise SystemExit(f"{split}: {len(probs)} rows, the corpora account for {start}")
    return slices


def scores(labels: np.ndarray, predicted: np.ndarray) -> str:
    micro = f1_score(labels, predicted, average="micro", zero_division=0)
    macro = f1_score(labels, predicted, average="macro", zero_division=0)
    return f"micro-F1 {micro:.4f}  macro-F1 {macro:.4f}"


def from_pipeline(args) -> tuple[str, float, tuple[np.ndarray, ...]]:
    """Dev and test probabilities and labels of a pipeline task on a config's corpus."""
    from affectlab.experiments.config import load_config
    from affectlab.experiments.data import prepare_data
    from affectlab.experiments.evaluate import split_outputs
    from affectlab.pipeline import Pipeline

    pipeline = Pipeline.load(args.pipeline)
    data = prepare_data(load_config(args.config), args.data_root, need=("dev", "test"))
    arrays = []
    for split in ("dev", "test"):
        task, probs, labels = split_outputs(pipeline, data, split, args.task, progress=True)
        arrays += [probs, labels]
    threshold = pipeline.tasks[task].threshold
    return f"{args.pipeline}, task {task} on {data.corpus.name}", threshold, tuple(arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", help="a finished run directory (saved probabilities)")
    parser.add_argument("--corpus", default="xed", help="with RUN: the corpus whose rows to re-threshold")
    parser.add_argument("--pipeline", help="instead of RUN: a pipeline directory or shipped name")
    parser.add_argument("--config", help="with --pipeline: the corpus and labels to score")
    parser.add_argument("--task", help="with --pipeline: the pipeline task (default: the one the labels give)")
    parser.add_argument("--data-root", default="../shared/data")
    args = parser.parse_args()
    if args.pipeline:
        if not args.config:
            parser.error("--pipeline needs --config")
        what, threshold, (dev_p, dev_y, test_p, test_y) = from_pipeline(args)
        corpus = "its"
    else:
        if args.run is None:
            parser.error("give a run directory or --pipeline")
        threshold = float(json.loads((args.run / "results.json").read_text())["threshold"])
        dev_rows = corpus_slices(args.run, "dev", threshold)[args.corpus]
        test_rows = corpus_slices(args.run, "test", threshold)[args.corpus]
        dev_p, dev_y = np.load(args.run / "dev_probs.npy")[dev_rows], np.load(args.run / "dev_labels.npy")[dev_rows]
        test_p, test_y = np.load(args.run / "test_probs.npy")[test_rows], np.load(args.run / "test_labels.npy")[test_rows]
        what, corpus = f"{args.run.name}, {args.corpus}", args.corpus

    one = tune_threshold(dev_y, dev_p, GRID)  # micro-F1 on dev, as runs choose theirs
    per_class = tune_threshold(dev_y, dev_p, GRID, per_label=True)
    top = test_p >= one
    top[np.arange(len(top)), test_p.argmax(1)] = True
    print(f"{what}: {len(dev_p)} dev / {len(test_p)} test rows")
    print(f"  own threshold {np.round(threshold, 3)}: {scores(test_y, test_p >= np.asarray(threshold))}")
    print(f"  one threshold on {corpus} dev ({one:.3f}): {scores(test_y, test_p >= one)}")
    print(f"  per-class thresholds on {corpus} dev: {scores(test_y, test_p >= per_class)}"
          f"  ({', '.join(f'{t:.3f}' for t in per_class)})")
    print(f"  as the second, at least the top class: {scores(test_y, top)}")


if __name__ == "__main__":
    main()
