"""The dissonance head: how far the current turn departs from what its context predicts.

A small network reads the previous turns' vector (pooled from tokens that never attended to the
current turn, ``TrainableTextEncoder.with_context``) and predicts the current turn's vector. Its
error, ``(1 - cos(predicted, actual)) / 2`` in [0, 1], is both the training loss (self-supervised:
no labels, rows with context only) and the score: low when the turn reads as its context would
lead one to expect, high when it breaks from it (a sudden shift of tone, a sarcastic reply to a
sincere question). The actual vector is detached, so the encoder is never pushed to make turns
predictable; only the context side learns. Rows without context score NaN.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class DissonanceHead(nn.Module):
    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.dim, self.hidden = int(dim), int(hidden)
        self.predict = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, context: torch.Tensor, utterance: torch.Tensor, has_context: torch.Tensor) -> torch.Tensor:
        """[B, 1] scores in [0, 1], NaN where a row has no previous turn."""
        predicted = self.predict(context)
        score = (1.0 - F.cosine_similarity(predicted, utterance.detach(), dim=-1)) / 2.0
        return torch.where(has_context, score, torch.full_like(score, float("nan"))).unsqueeze(-1)

    def spec(self) -> dict:
        return {"dim": self.dim, "hidden": self.hidden}
