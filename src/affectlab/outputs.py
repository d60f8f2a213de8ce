"""What a task's raw model output means: one place for objectives, run reports and pipelines.

Kept free of heavy imports (no trainer, no scikit-learn): a cold ``affectlab predict`` imports it.
"""
from __future__ import annotations

from typing import Literal

import torch

TaskKind = Literal["single_label", "multi_label", "regression", "score"]


def output_probs(kind: TaskKind, output: torch.Tensor) -> torch.Tensor:
    """What predictions report for a task of ``kind``: class probabilities (softmax), label
    probabilities (sigmoid) or raw values (regression)."""
    if kind == "single_label":
        return torch.softmax(output.float(), dim=-1)
    if kind == "multi_label":
        return torch.sigmoid(output.float())
    return output.float()  # regression values, scores
