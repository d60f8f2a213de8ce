"""Learning-rate schedules: per epoch (the frozen-head configs) or per optimiser step (fine-tuning)."""
from __future__ import annotations

import math

import torch


def epoch_schedule(config, optimizer: torch.optim.Optimizer):
    """``plateau`` (on the monitored metric) or ``cosine`` with ``warmup_epochs``, stepped once per
    epoch; None for ``none`` or a per-step schedule."""
    if config.scheduler_interval == "step":
        return None
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=max(config.patience // 3, 1))
    if config.scheduler == "cosine":
        def factor(epoch: int) -> float:
            if epoch < config.warmup_epochs:
                return (epoch + 1) / (config.warmup_epochs + 1)
            progress = (epoch - config.warmup_epochs) / max(config.epochs - config.warmup_epochs, 1)
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if config.scheduler == "linear":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: _warmup_then(epoch, config.warmup_epochs, config.epochs, _linear))
    return None


def step_schedule(config, optimizer: torch.optim.Optimizer, total_steps: int):
    """``linear`` or ``cosine`` decay to 0 over ``total_steps`` optimiser steps after a linear
    warm-up over ``warmup_ratio`` of them (the usual fine-tuning recipe); None otherwise."""
    if config.scheduler_interval != "step" or config.scheduler not in ("linear", "cosine"):
        return None
    warmup = int(round(config.warmup_ratio * total_steps))
    shape = _linear if config.scheduler == "linear" else _cosine
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _warmup_then(step, warmup, total_steps, shape))


def _linear(progress: float) -> float:
    return max(0.0, 1.0 - progress)


def _cosine(progress: float) -> float:
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _warmup_then(step: int, warmup: int, total: int, shape) -> float:
    if step < warmup:
        return (step + 1) / (warmup + 1)
    return shape((step - warmup) / max(total - warmup, 1))
