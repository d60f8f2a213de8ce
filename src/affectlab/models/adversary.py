"""Adversarial heads: a gradient-reversal layer (Ganin & Lempitsky 2015) in front of a head.

Forward is the identity, so the head learns to predict its task (e.g. the source dataset or
scenario) as usual; backward multiplies the gradient by ``-coefficient`` on its way into the
shared encoder, which is thereby pushed to *remove* what the head can read. The coefficient is
ramped in over the first epochs (``training.callbacks.Ramp``) so the adversary does not
scramble a representation that has not learned the main tasks yet.
"""
from __future__ import annotations

import torch
from torch import nn


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coefficient: float) -> torch.Tensor:
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coefficient * grad, None


class GradientReversal(nn.Module):
    def __init__(self, coefficient: float = 1.0) -> None:
        super().__init__()
        self.coefficient = float(coefficient)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Reverse.apply(x, self.coefficient)

    def extra_repr(self) -> str:
        return f"coefficient={self.coefficient}"


class AdversarialHead(nn.Module):
    """``head(reverse(x))``: the head's outputs unchanged, its gradient reversed into ``x``."""

    def __init__(self, head: nn.Module, coefficient: float = 1.0) -> None:
        super().__init__()
        self.reversal = GradientReversal(coefficient)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.reversal(x))
