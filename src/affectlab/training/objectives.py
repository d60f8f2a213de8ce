"""Objectives: named model outputs + named targets → one loss per task and their weighted sum.

A model returns ``{task: logits-or-values}``; each ``Task`` knows its kind, its loss and its
weight. Datasets mark a sample that carries no label for a task (``MISSING``: -1 for class
indices, NaN for regression values and multi-label rows), and that sample is left out of the
task's loss — so datasets that label different tasks can share one batch. A ``score`` task is
self-supervised: the model's output already is each sample's loss (NaN where it does not
apply, e.g. the dissonance of a turn without context), and no target is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError

from ..outputs import TaskKind, output_probs  # noqa: F401  (re-exported: objectives speak of both)
#: The class index of a sample without a label for a single-label task.
MISSING = -1


@dataclass
class Task:
    """One prediction target: ``name`` is the model-output and target key."""

    name: str
    kind: TaskKind
    loss: nn.Module
    weight: float = 1.0

    def present(self, target: torch.Tensor) -> torch.Tensor:
        """Boolean [B]: which samples carry a label for this task."""
        if self.kind == "single_label":
            return target != MISSING
        flat = target.reshape(len(target), -1)
        return ~torch.isnan(flat.float()).any(dim=1)

    def to_probs(self, output: torch.Tensor) -> torch.Tensor:
        return output_probs(self.kind, output)


def as_outputs(output: torch.Tensor | Mapping[str, torch.Tensor], default: str) -> dict[str, torch.Tensor]:
    """Single-output models (the frozen-feature heads) return a tensor: it is task ``default``."""
    if isinstance(output, torch.Tensor):
        return {default: output}
    return dict(output)


class Objective:
    """Per-task losses over the samples each task has labels for, and their weighted total."""

    def __init__(self, tasks: list[Task]) -> None:
        if not tasks:
            raise ConfigError("an objective needs at least one task")
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ConfigError(f"task names must be unique, got {names}")
        self.tasks = {t.name: t for t in tasks}

    @classmethod
    def single(cls, loss: nn.Module, multi_label: bool = False, name: str = "label") -> "Objective":
        return cls([Task(name, "multi_label" if multi_label else "single_label", loss)])

    @property
    def primary(self) -> Task:
        """The task early stopping and single-task reports read: the first one."""
        return next(iter(self.tasks.values()))

    def to(self, device: torch.device | str) -> "Objective":
        for task in self.tasks.values():
            task.loss.to(device)
        return self

    def __call__(self, outputs: Mapping[str, torch.Tensor],
                 targets: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{task: loss, ..., "total": weighted sum}``; a task with no labelled sample in the
        batch contributes 0 (and no gradient)."""
        losses: dict[str, torch.Tensor] = {}
        total = None
        for name, task in self.tasks.items():
            if name not in outputs:
                raise ConfigError(f"the model returns no output {name!r} for task {name!r}; "
                                  f"it returns {sorted(outputs)}")
            if task.kind == "score":
                value = _mean_finite(outputs[name])
            elif name not in targets:
                continue
            else:
                value = self._task_loss(task, outputs[name], targets[name])
            losses[name] = value
            weighted = value if task.weight == 1.0 else task.weight * value
            total = weighted if total is None else total + weighted
        if total is None:
            raise ConfigError(f"no targets for any task {list(self.tasks)} in this batch")
        losses["total"] = total
        return losses

    @staticmethod
    def _task_loss(task: Task, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        present = task.present(target)
        if bool(present.all()):
            return task.loss(output, target)
        if bool(present.any()):
            return task.loss(output[present], target[present])
        return output.sum() * 0.0


def _mean_finite(output: torch.Tensor) -> torch.Tensor:
    """The mean of a score output over its finite entries (0, without gradient, if none)."""
    flat = output.reshape(-1)
    finite = torch.isfinite(flat)
    return flat[finite].mean() if bool(finite.any()) else flat.nan_to_num(0.0).sum() * 0.0


def target_arrays(y: np.ndarray | Mapping[str, np.ndarray] | None, default: str) -> dict[str, np.ndarray]:
    """Targets of a dataset as named arrays (one array = the ``default`` task)."""
    if y is None:
        return {}
    if isinstance(y, Mapping):
        return dict(y)
    return {default: np.asarray(y)}
