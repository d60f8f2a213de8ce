"""Layer combinations: fixed weightings of the encoder's last four hidden layers.

Weights are listed oldest → newest layer (L-3, L-2, L-1, L) and normalised to sum to 1,
so every combination is a convex mix and lives on the same scale as a single layer.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError

#: name → unnormalised weights over the last four layers (oldest first).
LAYER_COMBINATIONS: dict[str, tuple[float, float, float, float]] = {
    "last": (0.0, 0.0, 0.0, 1.0),
    "avg_last4": (1.0, 1.0, 1.0, 1.0),
    "last4_scalar_up": (1.0, 2.0, 3.0, 4.0),
    "last4_scalar_down": (4.0, 3.0, 2.0, 1.0),
    "last4_scalar_top2": (0.0, 1.0, 1.0, 0.0),
}

#: A layer "combination" that keeps the four layers apart for a learned scalar mix.
STACK_LAST4 = "stack_last4"


def list_layer_combinations() -> list[str]:
    return list(LAYER_COMBINATIONS)


def combination_matrix(names: list[str]) -> torch.Tensor:
    """[len(names), 4] matrix of normalised weights, one row per requested combination."""
    unknown = [n for n in names if n not in LAYER_COMBINATIONS]
    if unknown:
        raise ConfigError(
            f"unknown layer combination(s) {unknown}; known: {list(LAYER_COMBINATIONS)}"
            f" (or {STACK_LAST4!r} for a learned mix)"
        )
    weights = torch.tensor([LAYER_COMBINATIONS[n] for n in names], dtype=torch.float32)
    return weights / weights.sum(dim=1, keepdim=True)
