"""Mixup (Zhang et al. 2018): train on convex mixes of example pairs and of their losses."""
from __future__ import annotations

import numpy as np
import torch

#: Inputs that say which positions are real: never mixed.
UNMIXED = ("mask",)


def mix_batch(batch: dict[str, torch.Tensor], alpha: float,
              generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor, float]:
    """Mix every input with a shuffled copy of the batch. Returns the mixed batch, the partner
    permutation and the weight ``lam`` ~ Beta(alpha, alpha); the loss is then
    ``lam * loss(out, y) + (1 - lam) * loss(out, y[perm])``, which needs no soft-label loss.
    Both draws come from ``generator``, so a seeded run repeats exactly."""
    n = len(next(iter(batch.values())))
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(n, generator=generator)
    mixed = {}
    for key, value in batch.items():
        if key in UNMIXED or not value.is_floating_point():
            mixed[key] = value
        else:
            mixed[key] = lam * value + (1 - lam) * value[perm.to(value.device)]
    return mixed, perm, lam
