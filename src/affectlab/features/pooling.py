"""Token pooling: turn a [B, T, D] token matrix into one [B, D] vector per utterance.

Every pooler except ``attn`` is a fixed weighting of tokens that depends only on the
mask (and token ids for IDF), so it commutes with layer combination: pooling each of
the last four layers once and mixing afterwards gives every (layer, pool) variant at
the cost of four poolings. ``attn`` depends on the hidden states and is computed per
combination. Weight functions receive the *content* mask: for text, the attention mask
without [CLS] and [SEP] (``content_mask``); for audio frames, the frame mask itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..errors import ConfigError

WeightFn = Callable[[torch.Tensor, torch.Tensor, "np.ndarray | None"], torch.Tensor]


def content_mask(mask: torch.Tensor) -> torch.Tensor:
    """Attention mask without the first ([CLS]) and last real ([SEP]) token.

    Falls back to the full mask for sequences too short to have content tokens.
    """
    content = mask.clone().float()
    content[:, 0] = 0.0
    lengths = mask.long().sum(dim=1)
    content[torch.arange(mask.shape[0]), (lengths - 1).clamp(min=0)] = 0.0
    empty = content.sum(dim=1) == 0
    content[empty] = mask[empty].float()
    return content


def _positions_from_end(content: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of each content token from the last content token (0 = last)."""
    content = content.float()
    rank = torch.cumsum(content, dim=1)  # 1..n over content tokens
    total = content.sum(dim=1, keepdim=True)
    return (total - rank) * content, content


def _normalise(weights: torch.Tensor) -> torch.Tensor:
    return weights / weights.sum(dim=1, keepdim=True).clamp(min=1e-12)


def cls_weights(content, ids, idf):
    weights = torch.zeros_like(content, dtype=torch.float32)
    weights[:, 0] = 1.0
    return weights


def mean_weights(content, ids, idf):
    return _normalise(content.float())


def pos_weights(content, ids, idf):
    """Linearly increasing weight: later words count more (1, 2, …, n)."""
    content = content.float()
    return _normalise(torch.cumsum(content, dim=1) * content)


def pos_rev_weights(content, ids, idf):
    """Linearly decreasing weight: earlier words count more (n, …, 2, 1)."""
    from_end, content = _positions_from_end(content)
    return _normalise((from_end + 1.0) * content)


def exp_weights(tau: float) -> WeightFn:
    """Exponential decay from the end of the utterance with time constant ``tau`` tokens."""

    def weights(content, ids, idf):
        from_end, content = _positions_from_end(content)
        return _normalise(torch.exp(-from_end / tau) * content)

    return weights


def idf_weights(content, ids, idf):
    if idf is None:
        raise ConfigError("pooling 'wmean_idf' needs an IDF table fitted on the training split")
    table = torch.as_tensor(idf, dtype=torch.float32, device=ids.device)
    return _normalise(table[ids] * content.float())


@dataclass(frozen=True)
class Pooler:
    name: str
    weights: WeightFn | None  # None: depends on hidden states (attention)
    needs_idf: bool = False
    needs_cls: bool = False  # reads a [CLS] state: text encoders only


POOLERS: dict[str, Pooler] = {
    "cls": Pooler("cls", cls_weights, needs_cls=True),
    "mean": Pooler("mean", mean_weights),
    "attn": Pooler("attn", None, needs_cls=True),
    "wmean_pos": Pooler("wmean_pos", pos_weights),
    "wmean_pos_rev": Pooler("wmean_pos_rev", pos_rev_weights),
    "wmean_exp_fast": Pooler("wmean_exp_fast", exp_weights(2.0)),
    "wmean_exp_med": Pooler("wmean_exp_med", exp_weights(5.0)),
    "wmean_exp_slow": Pooler("wmean_exp_slow", exp_weights(10.0)),
    "wmean_idf": Pooler("wmean_idf", idf_weights, needs_idf=True),
}


def list_poolers() -> list[str]:
    return list(POOLERS)


def get_pooler(name: str) -> Pooler:
    if name not in POOLERS:
        raise ConfigError(f"unknown pooling {name!r}; known: {list(POOLERS)}")
    return POOLERS[name]


def cls_attention_pool(hidden: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Parameter-free attention with the [CLS] state as query over the content tokens."""
    query = hidden[:, 0:1, :]  # [B, 1, D]
    scores = (query * hidden).sum(-1) / hidden.shape[-1] ** 0.5  # [B, T]
    scores = scores.masked_fill(content == 0, float("-inf"))
    attn = torch.softmax(scores, dim=1)
    return torch.einsum("bt,btd->bd", attn, hidden)


def fit_idf(token_ids: list[list[int]], vocab_size: int) -> np.ndarray:
    """Smoothed IDF per token id (sklearn's formula); fit it on training utterances only."""
    document_frequency = np.zeros(vocab_size, dtype=np.float64)
    for ids in token_ids:
        document_frequency[np.unique(np.asarray(ids, dtype=np.int64))] += 1
    n_docs = max(len(token_ids), 1)
    return (np.log((1 + n_docs) / (1 + document_frequency)) + 1.0).astype(np.float32)
