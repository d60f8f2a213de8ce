"""Aggregators reduce a masked sequence of vectors (sentences or turns) to one vector."""
from __future__ import annotations

import torch
from torch import nn

from ..registry import Registry
from .recurrent import lstm_single_step, masked_lstm

AGGREGATORS: Registry[nn.Module] = Registry("aggregator")


def _masked(mask: torch.Tensor) -> torch.Tensor:
    return mask.unsqueeze(-1).to(torch.float32)


def _full(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``mask=None`` means every unit is real (flat inputs): a static, vmap-friendly path."""
    return torch.ones(x.shape[:2], device=x.device, dtype=torch.float32) if mask is None else mask


@AGGREGATORS.register("mean")
class MeanAggregator(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return x.mean(1)
        m = _masked(mask)
        return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


@AGGREGATORS.register("sum")
class SumAggregator(nn.Module):
    """Unnormalised sum: keeps 'how much was said' in the vector's length."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x.sum(1) if mask is None else (x * _masked(mask)).sum(1)


@AGGREGATORS.register("expdecay")
class ExpDecayAggregator(nn.Module):
    """Weights decay exponentially from the last unit: the end of an utterance (or the latest
    turn) dominates. The decay rate is learned, initialised at ``tau`` units."""

    def __init__(self, dim: int, tau: float = 2.0) -> None:
        super().__init__()
        self.out_dim = dim
        self.log_tau = nn.Parameter(torch.tensor(float(tau)).log())

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        m = _full(x, mask).to(torch.float32)
        from_end = m.sum(1, keepdim=True) - torch.cumsum(m, dim=1)
        weights = torch.exp(-from_end / self.log_tau.exp()) * m
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1e-12)
        return torch.einsum("bs,bsd->bd", weights, x)


@AGGREGATORS.register("attn")
class AttentionAggregator(nn.Module):
    """Learned additive attention (Yang et al. 2016, HAN)."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.out_dim = dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        scores = self.score(x).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(mask <= 0, float("-inf"))
        return torch.einsum("bs,bsd->bd", torch.softmax(scores, dim=1), x)


@AGGREGATORS.register("lstm")
class LSTMAggregator(nn.Module):
    """Final hidden state of a unidirectional LSTM run over the real units only."""

    def __init__(self, dim: int, hidden: int | None = None) -> None:
        super().__init__()
        self.out_dim = hidden or dim
        self.lstm = nn.LSTM(dim, self.out_dim, batch_first=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            if x.shape[1] == 1:
                return lstm_single_step(self.lstm, x)[:, 0]
            _, (h, _) = self.lstm(x)
            return h[-1]
        return masked_lstm(self.lstm, x, mask)[1][-1]
