"""Trainer callbacks: small objects called by the loop at fixed points."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal


@dataclass
class Ramp:
    """Sets a coefficient at the start of every epoch, rising from ``start`` to ``end`` over
    ``epochs`` epochs — e.g. the gradient-reversal weight of an adversarial head. ``shape="dann"``
    is Ganin & Lempitsky's 2/(1+exp(-10p))-1; ``linear`` rises evenly."""

    apply: Callable[[float], None]
    epochs: int
    start: float = 0.0
    end: float = 1.0
    shape: Literal["linear", "dann"] = "dann"

    def value(self, epoch: int) -> float:
        progress = min(max(epoch - 1, 0) / max(self.epochs, 1), 1.0)
        if self.shape == "dann":
            progress = 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
        return self.start + (self.end - self.start) * progress

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.apply(self.value(epoch))
