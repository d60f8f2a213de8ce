"""Losses by name. Class weights are computed from training labels, never from test."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..registry import Registry

LOSSES: Registry[nn.Module] = Registry("loss")


def class_weights(y: np.ndarray, n_classes: int, clip: float | None = 10.0) -> torch.Tensor:
    """Inverse-frequency ('balanced') weights, clipped so a rare class cannot dominate."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64)
    weights = len(y) / (n_classes * np.maximum(counts, 1.0))
    if clip is not None:
        weights = np.minimum(weights, clip)
    return torch.tensor(weights, dtype=torch.float32)


@LOSSES.register("ce")
class CrossEntropy(nn.Module):
    """Cross-entropy with optional class weights and label smoothing."""

    def __init__(self, weight: torch.Tensor | None = None, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("weight", weight if weight is not None else None)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, weight=self.weight, label_smoothing=self.label_smoothing)


@LOSSES.register("focal")
class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017): (1 - p_t)^γ down-weights easy examples; α per class."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None,
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        if gamma < 0:
            raise ConfigError(f"focal gamma must be ≥ 0, got {gamma}")
        self.gamma = gamma
        self.register_buffer("weight", weight if weight is not None else None)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=-1)
        ce = F.nll_loss(log_p, target, reduction="none")
        if self.label_smoothing:
            ce = (1 - self.label_smoothing) * ce - self.label_smoothing * log_p.mean(-1)
        p_t = log_p.gather(1, target[:, None]).squeeze(1).exp()
        loss = (1 - p_t) ** self.gamma * ce
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()


@LOSSES.register("bce")
class MultiLabelBCE(nn.Module):
    """Binary cross-entropy per label; ``weight`` acts as positive-class weight."""

    def __init__(self, weight: torch.Tensor | None = None, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("pos_weight", weight if weight is not None else None)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight)


def positive_weights(y: np.ndarray, clip: float | None = 10.0) -> torch.Tensor:
    """neg/pos ratio per label for multi-label BCE, clipped."""
    pos = y.sum(0)
    weights = (len(y) - pos) / np.maximum(pos, 1.0)
    if clip is not None:
        weights = np.minimum(weights, clip)
    return torch.tensor(weights, dtype=torch.float32)


def build_loss(name: str, y_train: np.ndarray, n_classes: int, multi_label: bool,
               class_weighting: str = "none", weight_clip: float | None = 10.0,
               **options) -> nn.Module:
    """Construct a loss; ``class_weighting='balanced'`` derives weights from training labels."""
    if multi_label and name != "bce":
        raise ConfigError(f"loss {name!r} is single-label; use 'bce' for multi-label schemes")
    if not multi_label and name == "bce":
        raise ConfigError("loss 'bce' is for multi-label schemes; use 'ce' or 'focal'")
    weight = None
    if class_weighting == "balanced":
        weight = positive_weights(y_train, weight_clip) if multi_label else class_weights(
            y_train, n_classes, weight_clip)
    elif class_weighting != "none":
        raise ConfigError(f"class_weighting must be 'none' or 'balanced', got {class_weighting!r}")
    return LOSSES.create(name, weight=weight, **options)
