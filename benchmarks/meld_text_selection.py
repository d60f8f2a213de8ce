"""Which layer combination x pooling to use on MELD? Chosen on DEV only, test reported.

    python benchmarks/meld_text_selection.py [--data-root ../shared/data] [--seeds 42]

Extracts all 45 variants of the default encoder in one pass (cached), trains the config's
head on each with the same seed(s), ranks by dev weighted-F1 and prints test figures beside
them. Only the dev column may be used to choose; the test column is for reporting.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from affectlab.evaluation.metrics import score  # noqa: E402
from affectlab.experiments import load_config, prepare_data  # noqa: E402
from affectlab.experiments.runner import build_loss_for, build_model, make_datasets  # noqa: E402
from affectlab.features import extract_text_features, list_layer_combinations, list_poolers  # noqa: E402
from affectlab.training import Trainer, seed_everything  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/meld_text_flat.yaml")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--patience", type=int, default=None, help="override the config's patience")
    args = parser.parse_args()

    config = load_config(args.config)
    config.training.progress = False
    if args.patience:
        config.training.patience = args.patience
    data = prepare_data(config, args.data_root)
    variants = [(layer, pool) for layer in list_layer_combinations() for pool in list_poolers()]
    start = time.perf_counter()
    features = extract_text_features(data.corpus, variants, mode=config.features.mode)
    print(f"features for {len(variants)} variants: {time.perf_counter() - start:.1f} s "
          f"(cache: {features.info['cache_dir']})", flush=True)

    rows = []
    for variant in variants:
        sets = make_datasets(features, variant, data)
        dev, test = [], []
        for seed in args.seeds:
            generator = seed_everything(seed)
            model, _ = build_model(config, sets["train"].inputs["x"].shape[-1], len(data.scheme))
            loss = build_loss_for(config, sets["train"].y, data.scheme)
            trainer = Trainer(model, loss, config.training, generator=generator)
            fit = trainer.fit(sets["train"], sets["dev"])
            dev.append(fit.best_score)
            test.append(score("weighted_f1", sets["test"].y, trainer.predict_proba(sets["test"]), False))
        rows.append((variant, float(np.mean(dev)), float(np.mean(test))))
        print(f"{variant[0]:>18} {variant[1]:<15} dev wF1 {rows[-1][1]:.4f}  test wF1 {rows[-1][2]:.4f}",
              flush=True)

    rows.sort(key=lambda r: -r[1])
    print("\nranked by DEV weighted-F1 (top 10):")
    for (layer, pool), dev, test in rows[:10]:
        print(f"  {layer:>18} {pool:<15} dev {dev:.4f}  test {test:.4f}")
    (layer, pool), dev, test = rows[0]
    print(f"\nselected on dev: layers={layer} pooling={pool} (dev {dev:.4f}); its test weighted-F1 {test:.4f}")


if __name__ == "__main__":
    main()
