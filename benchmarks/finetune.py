"""Fine-tuning speed of the default encoder (all-MiniLM-L6-v2) and predict latency of a
fine-tuned pipeline, each against a baseline measured in the same run.

    python benchmarks/finetune.py [--data-root ../shared/data] [--batch-size 16] [--steps 4]
                                  [--precisions fp32 bf16] [--finetune full lora] [--device cpu|cuda]

1. Training throughput (utterances/s) of the shared Trainer's step — composed model (encoder →
   MLP head), AdamW over encoder/head parameter groups, clipping — in fp32 and under bf16
   autocast, on MELD token windows (2 previous turns, speaker names: what configs/meld_finetune.yaml
   trains on; synthetic sentences when MELD is not under --data-root), batches of similar length.
2. Single-text predict latency (whole ``Pipeline.predict`` call: tokenise, encode, head) of a
   saved and reloaded fine-tuned pipeline (LoRA), next to the shipped frozen MELD-7 pipeline.
Each figure is the best of several timed repeats after warm-up (benchmarks/_timing.py).
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed  # noqa: E402

from affectlab.experiments.config import config_from_dict  # noqa: E402
from affectlab.experiments.parts import build_composed  # noqa: E402
from affectlab.features.tokens import DialogueWindow, TokenCollate, token_items  # noqa: E402
from affectlab.models.text_encoder import load_tokenizer  # noqa: E402
from affectlab.pipeline import Pipeline, build_spec  # noqa: E402
from affectlab.training import Trainer, TrainingConfig, build_loss  # noqa: E402
from affectlab.training.data import CollatedDataset  # noqa: E402


def meld_table(data_root: Path) -> pd.DataFrame:
    try:
        from affectlab.corpora import load_corpus

        table = load_corpus("meld", data_root).table
        return table[table["split"] == "train"].reset_index(drop=True)
    except Exception as error:  # noqa: BLE001 - no MELD: synthetic sentences of MELD-like length
        print(f"(MELD not found under {data_root}: {error}; using synthetic sentences)")
        rng = np.random.default_rng(0)
        words = "oh my god you did not just say that to me i cannot believe this is happening".split()
        texts = [" ".join(rng.choice(words, rng.integers(3, 20))) for _ in range(2000)]
        return pd.DataFrame({"text": texts, "speaker": rng.choice(["Ross", "Rachel", "Joey"], 2000),
                             "dialogue": np.arange(2000) // 10, "turn": np.arange(2000) % 10})


def config(finetune: str, precision: str, batch_size: int, device: str = "cpu"):
    return config_from_dict({
        "data": {"corpus": "meld"}, "labels": {"scheme": "meld7"},
        "features": {"context": 2, "max_length": 128},
        "model": {"name": "mlp", "dropout": 0.1, "encoder": {"finetune": finetune}},
        "training": {"batch_size": batch_size, "lr": 5e-4, "encoder_lr": 5e-5, "no_decay_norm_bias": True,
                     "precision": precision, "progress": False, "device": device, "bucket_by_length": True}})


def training_throughput(table, finetune: str, precision: str, batch_size: int, steps: int, repeats: int,
                        device: str = "cpu") -> float:
    cfg = config(finetune, precision, batch_size, device)
    tokenizer = load_tokenizer()
    items = token_items(tokenizer, table, DialogueWindow(past=2, max_length=128))
    y = np.random.default_rng(0).integers(0, 7, len(items))
    data = CollatedDataset(items, TokenCollate(tokenizer.pad_token_id), y, lengths=[len(i["ids"]) for i in items])
    torch.manual_seed(0)
    model, _ = build_composed(cfg, {"label": 7})
    trainer = Trainer(model, build_loss("ce", y, 7, False), TrainingConfig(**{**cfg.training.model_dump(), "epochs": 1}))
    optimizer = trainer._optimizer()
    rows = np.random.default_rng(0).permutation(len(data))
    chunks = iter([data.take(rows[k * steps * batch_size:(k + 1) * steps * batch_size]) for k in range(repeats + 1)])

    def run():  # the Trainer's own epoch loop over `steps` batches (autocast, objective, clipping, AdamW)
        chunk = next(chunks)
        trainer._train_epoch(trainer.model, chunk, optimizer, None, torch.amp.GradScaler("cuda", enabled=False),
                             None, chunk.lengths, quiet=True)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        return len(chunk)

    timing = timed(run, repeats=repeats)  # the first chunk is the warm-up
    print(f"  {finetune:5s} {precision}: {timing.result / timing.best:6.1f} utt/s   ({timing.spread()})")
    return timing.result / timing.best


def predict_latency(repeats: int) -> None:
    text = "Oh great, another Monday."
    frozen = Pipeline.default(device="cpu")
    cfg = config("lora", "fp32", 16)
    torch.manual_seed(0)
    model, model_spec = build_composed(cfg, {"label": 7})
    spec = build_spec(features={}, model_name="mlp", model_kwargs={}, scheme=frozen.scheme, model_spec=model_spec,
                      inputs={"text": {"kind": "tokens", "name": "text", "encoder": "default",
                                       "window": DialogueWindow(past=2, max_length=128).to_dict()}})
    with tempfile.TemporaryDirectory() as folder:
        Pipeline(spec, model, frozen.scheme).save(folder)
        tuned = Pipeline.load(folder, device="cpu")
        rows = {}
        for name, pipe in (("frozen MELD-7 (shipped)", frozen), ("fine-tuned (LoRA)", tuned)):
            pipe.predict(text)  # warm-up: loads the encoder
            rows[name] = timed(lambda: pipe.predict(text), repeats=repeats)
    base = rows["frozen MELD-7 (shipped)"].best
    for name, timing in rows.items():
        print(f"  {name:24s} {timing.best * 1000:7.1f} ms  ({timing.best / base:.2f}x the frozen pipeline; {timing.spread()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4, help="optimiser steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--finetune", nargs="+", default=["full", "lora"])
    parser.add_argument("--device", default="cpu", help="where training runs (cuda: a GPU; predict latency "
                        "is measured on the CPU only)")
    args = parser.parse_args()
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}")
    table = meld_table(Path(args.data_root))
    print(f"training throughput, batch {args.batch_size}, MELD train windows (2 past turns + speakers):")
    speeds = {}
    for finetune in args.finetune:
        for precision in args.precisions:
            speeds[(finetune, precision)] = training_throughput(table, finetune, precision, args.batch_size,
                                                                args.steps, args.repeats, args.device)
    for finetune in args.finetune:
        if ("fp32" in args.precisions) and ("bf16" in args.precisions):
            print(f"  {finetune}: bf16/fp32 = {speeds[(finetune, 'bf16')] / speeds[(finetune, 'fp32')]:.2f}x")
    if args.device == "cpu":
        print("single-text predict latency (CPU):")
        predict_latency(max(args.repeats, 5))


if __name__ == "__main__":
    main()
