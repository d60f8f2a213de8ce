"""Every (layer combination, pooling) view of one batch of encoder states.

Shared by text and audio encoders: both hand over their last four hidden layers and a mask
of the positions that carry content (text: tokens without [CLS]/[SEP]; audio: frames that
hold sound), and get back one tensor per requested variant.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ConfigError
from .base import Variant
from .layers import STACK_LAST4, combination_matrix
from .pooling import cls_attention_pool, get_pooler

Item = TypeVar("Item")


def pool_variants(last4: torch.Tensor, content: torch.Tensor, variants: Sequence[Variant],
                  ids: torch.Tensor | None = None, idf: np.ndarray | None = None,
                  has_cls: bool = True) -> dict[Variant, torch.Tensor]:
    """``last4`` [B, 4, T, D] (oldest layer first), ``content`` [B, T] → {variant: [B, D]}
    ([B, 4, D] for ``stack_last4``).

    Linear poolers are applied to each of the four layers once and mixed afterwards; attention
    pooling runs per combination. ``has_cls=False`` (audio) rejects poolers that read a [CLS] state.
    """
    variants = list(dict.fromkeys(variants))
    if not variants:
        raise ConfigError("no feature variants requested")
    combos = sorted({layer for layer, _ in variants if layer != STACK_LAST4})
    mix = combination_matrix(combos).to(last4.device) if combos else None
    combo_index = {name: i for i, name in enumerate(combos)}
    out: dict[Variant, torch.Tensor] = {}
    for pool in sorted({pool for _, pool in variants}):
        pooler = get_pooler(pool)
        if pooler.needs_cls and not has_cls:
            raise ConfigError(f"pooling {pool!r} reads a [CLS] state, which this encoder does not "
                              "have; use mean or a weighted mean (wmean_*)")
        if pooler.weights is not None:
            weights = pooler.weights(content, ids, idf).to(last4.dtype)
            per_layer = torch.einsum("bt,bltd->bld", weights, last4)
            mixed = torch.einsum("cl,bld->cbd", mix, per_layer) if mix is not None else None
        else:
            per_layer = torch.stack([cls_attention_pool(last4[:, l], content) for l in range(4)], dim=1)
            mixed = None
            if mix is not None:
                combined = torch.einsum("cl,bltd->cbtd", mix, last4)
                mixed = torch.stack([cls_attention_pool(h, content) for h in combined])
        for layer, wanted in variants:
            if wanted == pool:
                out[(layer, pool)] = per_layer if layer == STACK_LAST4 else mixed[combo_index[layer]]
    return out


def encode_in_length_order(items: Sequence[Item], sizes: Sequence[int], batch_size: int,
                           pooled: Callable[[list[Item]], dict[Variant, torch.Tensor]],
                           variants: Sequence[Variant], progress: bool, desc: str,
                           unit: str) -> dict[Variant, np.ndarray]:
    """Run ``pooled`` on batches of items of similar size (longest first: least padding) and
    return every variant's rows in the input order — the loop every encoder shares."""
    order = np.argsort([-size for size in sizes], kind="stable")
    results: dict[Variant, list[np.ndarray]] = {v: [] for v in variants}
    with tqdm(total=len(items), desc=desc, unit=unit, disable=None if progress else True) as bar:
        for start in range(0, len(items), batch_size):
            chunk = [items[i] for i in order[start:start + batch_size]]
            for variant, value in pooled(chunk).items():
                results[variant].append(value.float().cpu().numpy())
            bar.update(len(chunk))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return {v: np.concatenate(parts)[inverse] for v, parts in results.items()}
