"""Seed sweeps of a small head: one BatchedTrainer against one Trainer per seed, same machine.

    python benchmarks/grid.py [--data-root ../shared/data] [--seeds 10] [--epochs N] [--patience 20]
                              [--threads N] [--no-fast-mlp]

Trains the MLP head of configs/meld_text_flat.yaml on cached MELD features (avg_last4, mean;
extracted once into the default feature cache) for ``--seeds`` seeds, first sequentially, then
all at once, with identical settings. Prints both wall times, their ratio and the mean dev/test
weighted-F1 of both. The config's dropout makes the two statistically, not bitwise, equal.
The plain ``mlp`` head trains on ``BatchedTrainer``'s hand-written stacked path;
``--no-fast-mlp`` sends it through the general ``vmap`` path instead (for comparison).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from affectlab.evaluation.metrics import score  # noqa: E402
from affectlab.experiments import load_config, prepare_data  # noqa: E402
from affectlab.experiments.runner import build_loss_for, build_model, make_datasets  # noqa: E402
from affectlab.features import extract_text_features  # noqa: E402
from affectlab.training import Trainer, seed_everything  # noqa: E402
from affectlab.training.batched import BatchedTrainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/meld_text_flat.yaml")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (config seed, +1, ...)")
    parser.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    parser.add_argument("--patience", type=int, default=20, help="early-stopping patience")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's; 1 is steadier on a busy machine)")
    parser.add_argument("--no-fast-mlp", action="store_true",
                        help="train the batched members on the general vmap path, not the mlp fast path")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = load_config(args.config)
    config.training.progress = False
    config.training.device = "cpu"
    config.training.patience = args.patience
    if args.epochs is not None:
        config.training.epochs = args.epochs
    data = prepare_data(config, args.data_root)
    variant = (config.features.layers, config.features.pooling)
    features = extract_text_features(data.corpus, [variant], mode=config.features.mode,
                                     progress=False)
    sets = make_datasets(features, variant, data)
    train, dev, test = sets["train"], sets["dev"], sets["test"]
    seeds = [config.seed + k for k in range(args.seeds)]
    input_dim, n_classes = train.inputs["x"].shape[-1], len(data.scheme)
    cfg = config.training
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch threads {torch.get_num_threads()}; MELD {len(train)}/{len(dev)}/{len(test)} "
          f"train/dev/test, {input_dim}-d {variant}; {config.model.name} hidden {config.model.hidden} "
          f"dropout {config.model.dropout}; {len(seeds)} seeds, epochs {cfg.epochs}, patience "
          f"{cfg.patience}, batch {cfg.batch_size}", flush=True)

    def member(seed: int):
        generator = seed_everything(seed)
        model, _ = build_model(config, input_dim, n_classes)
        return model, build_loss_for(config, train.y, data.scheme), generator

    def f1(split, probs) -> float:
        return score("weighted_f1", split.y, probs, False)

    start = time.perf_counter()
    seq_dev, seq_test, seq_epochs = [], [], []
    for seed in seeds:
        model, loss, generator = member(seed)
        trainer = Trainer(model, loss, cfg, generator=generator)
        fit = trainer.fit(train, dev)
        seq_dev.append(f1(dev, trainer.predict_proba(dev)))
        seq_test.append(f1(test, trainer.predict_proba(test)))
        seq_epochs.append(len(fit.history))
    sequential = time.perf_counter() - start

    start = time.perf_counter()
    models, losses, generators = (list(t) for t in zip(*[member(seed) for seed in seeds]))
    batched = BatchedTrainer(models, losses, cfg, generators, fast_mlp=not args.no_fast_mlp)
    fits = batched.fit(train, dev)
    bat_dev = [f1(dev, p) for p in batched.predict_proba(dev)]
    bat_test = [f1(test, p) for p in batched.predict_proba(test)]
    together = time.perf_counter() - start

    def line(name: str, seconds: float, dev_f1: list, test_f1: list, epochs: list) -> str:
        return (f"{name:<22}: {seconds:8.1f} s  dev wF1 {np.mean(dev_f1):.4f} ± {np.std(dev_f1):.4f}  "
                f"test wF1 {np.mean(test_f1):.4f} ± {np.std(test_f1):.4f}  epochs run {np.mean(epochs):.1f}")

    print(line("sequential Trainer x" + str(len(seeds)), sequential, seq_dev, seq_test, seq_epochs))
    print(line("BatchedTrainer", together, bat_dev, bat_test, [len(f.history) for f in fits]))
    paths = sorted({getattr(f, "path", "?") for f in fits})
    print(f"speed-up (sequential / batched): {sequential / together:.2f}x; all members vectorised: "
          f"{all(getattr(f, 'batched', False) for f in fits)}; path: {', '.join(paths)}")
    # dropout draws differ between the two, so early stopping (and the work done) does too
    seq_work, bat_work = sum(seq_epochs), sum(len(f.history) for f in fits)
    print(f"per member-epoch: sequential {sequential / seq_work * 1e3:.0f} ms ({seq_work} member-epochs), "
          f"batched {together / bat_work * 1e3:.0f} ms ({bat_work}); ratio "
          f"{(sequential / seq_work) / (together / bat_work):.2f}x")


if __name__ == "__main__":
    main()
