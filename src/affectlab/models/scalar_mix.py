"""Learned softmax-weighted mix of encoder layers (ELMo's scalar mix)."""
from __future__ import annotations

import torch
from torch import nn


class ScalarMix(nn.Module):
    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: [..., n_layers, D] → [..., D]."""
        w = torch.softmax(self.weights, dim=0)
        return self.gamma * torch.einsum("l,...ld->...d", w, x)
