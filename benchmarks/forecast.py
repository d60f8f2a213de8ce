"""Next-turn emotion forecasting on MELD: a neural ODE against persistence, a Markov chain and a
GRU over the same inputs.

    python benchmarks/forecast.py [--data-root ../shared/data] [--pipeline text-meld7]
                                  [--task TASK] [--seeds 42 43 44] [--save DIR]

Each turn of each dialogue is read by a pipeline (default: the shipped MELD-7 one, which never
sees the forecast turn's words); a forecaster reads the distributions of the (at most 8) turns so
far and the time gaps (MELD's utterance start times), and gives the distribution of the next
turn's emotion. Trained on MELD train, early-stopped on dev log-loss, scored on test against the
gold label of the next turn: accuracy, macro-F1, log-loss (mean ± sd over seeds for the neural
ones). The pipeline's probabilities on train are in-sample (it was trained there), so they are
sharper than on dev/test; every forecaster sees the same inputs.
``--task`` picks the pipeline task read per turn (default: the primary one; the engine's MELD-7
head is ``meld``); it must be single-label over MELD's 7 emotions, the gold labels forecast.
``--save DIR`` keeps the first seed's ODE forecaster with its task (e.g. inside a pipeline folder
as ``forecaster/``, where ``/v1/trajectory`` and ``predict --conversation`` find it).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from affectlab.corpora import load_corpus
from affectlab.evaluation.metrics import classification_metrics
from affectlab.forecasting import FORECASTERS, log_loss, next_turn_set
from affectlab.pipeline import Pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--pipeline", default="text-meld7", help="a shipped pipeline's name or a pipeline folder")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--task", default=None, help="the pipeline task read per turn (default: the primary one)")
    parser.add_argument("--history", type=int, default=8)
    parser.add_argument("--save", default=None)
    parser.add_argument("--cache", default=".cache/forecast")
    args = parser.parse_args()
    try:
        table = load_corpus("meld", args.data_root).table
    except Exception as error:  # noqa: BLE001
        sys.exit(f"MELD is needed under --data-root ({error})")
    pipeline = Pipeline.load(args.pipeline) if Path(args.pipeline).is_dir() else Pipeline.shipped(args.pipeline)
    task = args.task or pipeline.primary
    spec = pipeline.tasks.get(task)
    if spec is None or spec.kind != "single_label":
        single = [name for name, t in pipeline.tasks.items() if t.kind == "single_label"]
        sys.exit(f"--task must be a single-label task of the pipeline: one of {single}")
    cache = Path(args.cache) / f"meld_{pipeline.version}_{task}.npy"
    if cache.is_file():
        probs = np.load(cache)
    else:
        started = time.perf_counter()
        probs = pipeline.predict_outputs([], table=table, progress=True)[task]
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs)
        print(f"per-turn probabilities of {len(table)} utterances: {time.perf_counter() - started:.0f} s")
    classes = list(spec.scheme.classes)
    sets = {s: next_turn_set(table[table["split"] == s], probs[(table["split"] == s).to_numpy()], classes, args.history)
            for s in ("train", "dev", "test")}
    print(f"pipeline {args.pipeline} ({pipeline.version}), task {task}; next-turn examples: "
          + ", ".join(f"{s} {len(d)}" for s, d in sets.items()))
    rows = {}
    for name in ("persistence", "markov", "gru", "ode"):
        neural = name in ("gru", "ode")
        figures = []
        for seed in args.seeds if neural else [None]:
            started = time.perf_counter()
            model = FORECASTERS.create(name, **({"seed": seed} if neural else {})).fit(sets["train"], sets["dev"])
            p = model.predict_proba(sets["test"])
            y = sets["test"].y
            keep = y >= 0
            test = classification_metrics(y[keep], p[keep].argmax(1), classes)
            figures.append((test["accuracy"], test["macro_f1"],
                            log_loss(y, p), log_loss(sets["dev"].y, model.predict_proba(sets["dev"])),
                            time.perf_counter() - started))
            if name == "ode" and args.save and seed == args.seeds[0]:
                model.task = None if task == pipeline.primary else task
                model.save(args.save)
                print(f"saved the seed-{seed} ODE forecaster to {args.save}")
        rows[name] = np.asarray(figures)
    print(f"\nnext-turn emotion on MELD test ({len(sets['test'])} turns), {len(args.seeds)} seeds for gru/ode:")
    print("| forecaster | accuracy | macro-F1 | log-loss | dev log-loss | fit s |")
    print("|---|---|---|---|---|---|")
    for name, f in rows.items():
        cell = (lambda j: f"{f[:, j].mean():.4f} ± {f[:, j].std(ddof=1):.4f}") if len(f) > 1 else (lambda j: f"{f[0, j]:.4f}")
        print(f"| {name} | {cell(0)} | {cell(1)} | {cell(2)} | {cell(3)} | {f[:, 4].mean():.0f} |")
    majority = np.bincount(sets["train"].y[sets["train"].y >= 0], minlength=len(classes)).argmax()
    print(f"(majority class '{classes[majority]}' on test: accuracy "
          f"{(sets['test'].y == majority).mean():.4f})")


if __name__ == "__main__":
    main()
