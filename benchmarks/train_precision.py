"""Training speed of spectrogram models in fp32 and with ``training.precision: bf16``, same run.

    python benchmarks/train_precision.py [--models resnet18 cnn] [--batch-size 32] [--steps 5]

Times optimiser steps (forward, loss, backward, AdamW) on random log-mel-shaped batches
([B, 128 mels, 130 frames]: 3 s at the RAVDESS preset) exactly as the shared Trainer runs them
(autocast around forward and loss), and prints steps/s and the bf16/fp32 ratio. bf16 pays off
where the hardware has bf16 matrix units (AVX512-BF16/AMX CPUs, recent GPUs); elsewhere it can
be slower, which is why fp32 stays the default.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from affectlab.models import create_model


def seconds_per_step(name: str, hidden: int, precision: str, batch: torch.Tensor, target: torch.Tensor,
                     steps: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = create_model(name, n_classes=8, hidden=hidden, input_dim=batch.shape[1]).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(batch), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):  # warm-up: allocations and kernel selection
        step()
    best = float("inf")
    for _ in range(3):  # best of three rounds: the least disturbed by other work on the machine
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet18:64", "resnet18:32", "cnn:32"],
                        help="name:hidden pairs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    batch = torch.randn(args.batch_size, 128, 130, generator=generator).to(device)
    target = torch.randint(0, 8, (args.batch_size,), generator=generator).to(device)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, device {device}, "
          f"{torch.get_num_threads()} threads; batch {args.batch_size} x 128 mels x 130 frames")
    for spec in args.models:
        name, _, hidden = spec.partition(":")
        fp32 = seconds_per_step(name, int(hidden or 64), "fp32", batch, target, args.steps, device)
        bf16 = seconds_per_step(name, int(hidden or 64), "bf16", batch, target, args.steps, device)
        print(f"{spec:12s} fp32 {1 / fp32:6.2f} steps/s   bf16 {1 / bf16:6.2f} steps/s   "
              f"bf16 is {fp32 / bf16:.2f}x fp32")


if __name__ == "__main__":
    main()
