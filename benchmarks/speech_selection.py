"""Which speech-encoder layer combination x pooling? Chosen on DEV speakers only, test reported.

    python benchmarks/speech_selection.py [--config configs/ravdess_whisper.yaml] [--data-root ../shared/data]

Runs the config's full cross-validation (EmoBox folds for RAVDESS) once per variant, reading
one cached extraction, and ranks variants by the mean over folds of dev macro-F1 (each fold's
dev actors are never its test actors). The test column is printed for reporting only.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from affectlab.experiments import load_config  # noqa: E402
from affectlab.experiments.cv import run_cross_validation  # noqa: E402

LAYERS = ("last", "avg_last4", "last4_scalar_up", "stack_last4")
POOLINGS = ("mean", "wmean_exp_med")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/ravdess_whisper.yaml")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--out", default="runs/speech_selection")
    parser.add_argument("--metric", default="macro_f1")
    args = parser.parse_args()

    base = load_config(args.config)
    rows = []
    start = time.perf_counter()
    for layers in LAYERS:
        for pooling in POOLINGS:
            config = base.model_copy(deep=True)
            config.features.layers, config.features.pooling = layers, pooling
            config.name = f"{base.name}-{layers}-{pooling}"
            config.training.progress = False
            summary = run_cross_validation(config, data_root=args.data_root, out_dir=args.out).summary["summary"]
            rows.append((summary[f"dev_{args.metric}"]["mean"], summary[f"test_{args.metric}"]["mean"],
                         summary[f"test_{args.metric}"]["sd"], layers, pooling))
            print(f"{layers:>16} {pooling:>14}  dev {rows[-1][0]:.4f}  test {rows[-1][1]:.4f} ± {rows[-1][2]:.4f}",
                  flush=True)
    rows.sort(reverse=True)
    print(f"\nranked by mean dev {args.metric} over folds ({time.perf_counter() - start:.0f} s):")
    for dev, test, sd, layers, pooling in rows:
        print(f"{layers:>16} {pooling:>14}  dev {dev:.4f}  test {test:.4f} ± {sd:.4f}")
    print(f"\nchosen on dev: layers={rows[0][3]} pooling={rows[0][4]} -> test {args.metric} "
          f"{rows[0][1]:.4f} ± {rows[0][2]:.4f}")


if __name__ == "__main__":
    main()
