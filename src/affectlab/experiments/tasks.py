"""Further prediction targets beside ``labels`` (config ``tasks:``), read from the same table.

``labels`` stays the primary task, ``label``: rows without it are dropped, early stopping and
the run's headline figures read it. Every task under ``tasks:`` is a classification over its
own ``labels`` (any column, scheme, mapping or declared classes) or a regression over
``values`` columns. A row without a value for a further task is kept and marked missing
(``training.objectives.MISSING`` / NaN), so it is left out of that task's loss and reports only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from ..errors import ConfigError
from ..labels import scheme_and_mapping
from ..labels.scheme import LabelScheme
from ..training import build_loss
from ..training.objectives import MISSING, Task, TaskKind

PRIMARY = "label"


@dataclass
class TaskTargets:
    """One further task's encoded targets over the prepared table (missing rows marked)."""

    name: str
    kind: TaskKind
    y: np.ndarray
    scheme: LabelScheme | None = None
    outputs: list[str] | None = None  # regression: the value columns
    bounds: tuple[float, float] | None = None  # regression rescaled by value_range: (0, 1)

    @property
    def width(self) -> int:
        """Model outputs this task needs: classes, or values."""
        return len(self.scheme) if self.scheme is not None else len(self.outputs or ())

    def present(self, index: np.ndarray | None = None) -> np.ndarray:
        return labelled(self.kind, self.y if index is None else self.y[index])

    def take(self, keep: np.ndarray) -> "TaskTargets":
        return TaskTargets(self.name, self.kind, self.y[keep], self.scheme, self.outputs, self.bounds)


def labelled(kind: TaskKind, y: np.ndarray) -> np.ndarray:
    """Boolean per row: does it carry a target for a task of this kind (not MISSING / NaN)."""
    y = np.asarray(y)
    if kind == "single_label":
        return y != MISSING
    values = y.astype(np.float32)
    if values.ndim != 2:  # one value per row, or several axes (reshape(0, -1) fails on 0 rows)
        values = values[:, None] if values.ndim == 1 else values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    return ~np.isnan(values).any(axis=1)


def primary_targets(dataset) -> np.ndarray:
    """The primary task's targets of a dataset (its only ones, in a single-task run)."""
    return np.asarray(dataset.targets(PRIMARY)[PRIMARY])


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def classification_targets(name: str, labels, table: pd.DataFrame) -> TaskTargets:
    scheme, mapping = scheme_and_mapping(labels)
    if labels.column not in table.columns:
        raise ConfigError(f"tasks.{name}.labels.column {labels.column!r} is not in the corpus; "
                          f"columns: {list(table.columns)}")
    raw = table[labels.column].tolist()
    if mapping is not None:
        scheme = mapping.target_scheme()
        values = [None if _is_blank(v) else v for v in raw]
        mapped = mapping.apply([v for v in values if v is not None])
        it = iter(mapped)
        values = [None if v is None else next(it) for v in values]
        values = [None if m is None or m == () else m for m in values]
    else:
        values = [None if _is_blank(v) else v for v in raw]
    present = np.array([v is not None for v in values])
    kind: TaskKind = "multi_label" if scheme.multi_label else "single_label"
    if kind == "single_label":
        y = np.full(len(values), MISSING, dtype=np.int64)
    else:
        y = np.full((len(values), len(scheme)), np.nan, dtype=np.float32)
    if present.any():
        y[present] = scheme.encode([v for v in values if v is not None])
    return TaskTargets(name, kind, y, scheme=scheme)


def regression_targets(name: str, columns: list[str], table: pd.DataFrame,
                       value_range: tuple[float, float] | None = None) -> TaskTargets:
    """Values of ``columns`` (NaN where empty); with ``value_range`` (the scale's ends)
    rescaled to [0, 1], so corpora rated on different scales can share the task."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"tasks.{name}.values: column(s) {missing} are not in the corpus; "
                          f"columns: {list(table.columns)}")
    try:
        cells = table[columns].map(lambda v: np.nan if _is_blank(v) else v)
        y = cells.apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"tasks.{name}.values {columns} must hold numbers (empty cells are "
                          f"allowed): {error}") from None
    if value_range is None:
        return TaskTargets(name, "regression", y, outputs=list(columns))
    low, high = value_range
    outside = np.isfinite(y) & ((y < low) | (y > high))
    if outside.any():
        raise ConfigError(f"tasks.{name}: {int(outside.sum())} value(s) of {columns} lie outside value_range "
                          f"[{low}, {high}] (e.g. {float(y[outside][0])}); give the scale's real ends")
    return TaskTargets(name, "regression", ((y - low) / (high - low)).astype(np.float32),
                       outputs=list(columns), bounds=(0.0, 1.0))


def task_targets(tasks: dict, table: pd.DataFrame) -> dict[str, TaskTargets]:
    """Every ``tasks:`` entry's targets over ``table``'s rows, in config order; a task only
    ``sources`` label has none here (``experiments.sources`` fills it in as missing)."""
    out = {}
    for name, task in tasks.items():
        if task.labels is not None:
            out[name] = classification_targets(name, task.labels, table)
        elif task.values:
            out[name] = regression_targets(name, list(task.values), table, task.value_range)
    return out


def objective_task(config, targets: TaskTargets, train_index: np.ndarray) -> Task:
    """The objective entry for one further task; class weights come from its training rows
    that carry a label."""
    task = config.tasks[targets.name]
    if targets.kind == "regression":
        return Task(targets.name, "regression", nn.MSELoss(), task.weight)
    y_train = targets.y[train_index][targets.present(train_index)]
    loss = task.loss
    options = {"label_smoothing": loss.label_smoothing, **({"gamma": loss.gamma} if loss.gamma is not None else {})}
    name = "bce" if targets.kind == "multi_label" and loss.name == "ce" else loss.name
    return Task(targets.name, targets.kind,
                build_loss(name, y_train, targets.width, targets.kind == "multi_label",
                           loss.class_weighting, loss.weight_clip, **options), task.weight)
