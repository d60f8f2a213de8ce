"""Several corpora in one run (config ``sources:``): one table, every task's targets over it.

``data`` stays the first corpus and ``labels`` its primary task (``label``); each source is a
further corpus, loaded and split by its own ``data`` settings, that labels the tasks its
``labels`` names (``label`` too, when its labels map onto the primary scheme). The tables are
stacked with a ``source`` column (the corpus name, or the source's ``name``) — which a task can
predict, e.g. an adversarial domain head — and every task's targets are stacked with them: a
row from a corpus that does not label a task is missing for it (left out of that task's loss,
reports and early stopping). A task over the ``source`` column itself (a domain head) is
labelled on every corpus. Dialogue ids are prefixed with the source, so a context window
never reaches into another corpus.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..corpora import apply_split, load_corpus
from ..errors import ConfigError
from ..training.objectives import MISSING
from .tasks import PRIMARY, TaskTargets, classification_targets, labelled, regression_targets

SOURCE_COLUMN = "source"


def target_for(task: str, target, table: pd.DataFrame) -> TaskTargets:
    """One task's targets over one corpus's rows, from a ``TargetConfig`` (labels or values)."""
    if target.labels is not None:
        return classification_targets(task, target.labels, table)
    return regression_targets(task, list(target.values), table, target.value_range)


def _missing_like(reference: TaskTargets, n: int) -> np.ndarray:
    if reference.kind == "single_label":
        return np.full(n, MISSING, dtype=np.int64)
    return np.full((n, reference.width), np.nan, dtype=np.float32)


def _single_label(targets: TaskTargets) -> TaskTargets:
    """A multi-label corpus's targets as single-label: rows with exactly one label keep it."""
    import dataclasses

    y = np.nan_to_num(targets.y, nan=0.0)
    one = (y == 1).sum(axis=1) == 1
    index = np.where(one & targets.present(), y.argmax(axis=1), MISSING).astype(np.int64)
    scheme = dataclasses.replace(targets.scheme, multi_label=False)
    return TaskTargets(targets.name, "single_label", index, scheme, targets.outputs)


def stack_targets(task: str, segments: list[tuple[str, int, TaskTargets | None]]) -> TaskTargets:
    """One task's targets over the stacked table from its per-corpus parts (None: that corpus
    does not label it); every corpus that labels it must agree on kind and classes / width —
    except that a multi-label corpus may feed a single-label task: its rows with exactly one
    label keep it, the others are missing (e.g. GoEmotions' sentiment beside MELD's)."""
    kinds = {t.kind for _, _, t in segments if t is not None}
    if kinds == {"single_label", "multi_label"}:
        segments = [(name, n, _single_label(t) if t is not None and t.kind == "multi_label" else t)
                    for name, n, t in segments]
    given = [(name, t) for name, _, t in segments if t is not None]
    if not given:
        raise ConfigError(f"task {task!r} is labelled by no corpus")
    first_name, reference = given[0]
    for name, other in given[1:]:
        if other.kind != reference.kind:
            raise ConfigError(f"task {task!r} is {reference.kind} in {first_name!r} but {other.kind} in {name!r}")
        if reference.scheme is not None and tuple(other.scheme.classes) != tuple(reference.scheme.classes):
            raise ConfigError(f"task {task!r}: {name!r} gives classes {list(other.scheme.classes)}, "
                              f"{first_name!r} gives {list(reference.scheme.classes)}; map both onto one scheme")
        if reference.scheme is None and other.width != reference.width:
            raise ConfigError(f"task {task!r}: {name!r} regresses {other.width} values, {first_name!r} {reference.width}")
        if other.bounds != reference.bounds:
            raise ConfigError(f"task {task!r}: give every corpus that labels it a value_range (or none): "
                              f"{first_name!r} has {reference.bounds and 'one'}, {name!r} {other.bounds and 'one'}")
    parts = [t.y if t is not None else _missing_like(reference, n) for _, n, t in segments]
    return TaskTargets(task, reference.kind, np.concatenate(parts), reference.scheme, reference.outputs,
                       reference.bounds)


def load_source(source, root: str | Path, text_column: str = "text",
                tasks: dict | None = None) -> tuple[pd.DataFrame, dict[str, TaskTargets], dict[str, Any]]:
    """A source's split table and its targets for the tasks it labels; rows without text, or
    without a target for any of its tasks, are dropped and counted. A task of ``tasks`` over
    the ``source`` column (a domain head) is labelled on every corpus without being listed."""
    name = source.source_name
    corpus = load_corpus(source.data.corpus, source.data.data_root or root, **source.data.options)
    corpus = apply_split(corpus, source.data.split.name, **source.data.split.options)
    table = corpus.table.reset_index(drop=True).assign(**{SOURCE_COLUMN: name})
    notes: dict[str, Any] = {"corpus": corpus.name, "fingerprint": corpus.fingerprint(), "rows_loaded": len(table)}
    keep = ~(table[text_column].fillna("").astype(str).str.strip() == "").to_numpy()
    targets = {task: target_for(task, target, table) for task, target in source.labels.items()}
    for task, spec in (tasks or {}).items():
        if task not in targets and spec.labels is not None and spec.labels.column == SOURCE_COLUMN:
            targets[task] = target_for(task, spec, table)
    labelled_any = np.zeros(len(table), dtype=bool)
    for task in source.labels:  # a domain label alone does not keep a row
        labelled_any |= targets[task].present()
    keep &= labelled_any
    notes["rows_dropped"] = int((~keep).sum())
    table = table[keep].reset_index(drop=True)
    targets = {task: t.take(keep) for task, t in targets.items()}
    if "train" not in set(table["split"].dropna()):
        raise ConfigError(f"source {name!r} has no train rows after splitting with {source.data.split.name!r}")
    notes["rows"] = {s: int((table["split"] == s).sum()) for s in ("train", "dev", "test")}
    return table, targets, notes


def with_sources(config, data, root: str | Path | None):
    """``data`` (the first corpus, prepared) stacked with every source of ``config``."""
    from .data import PreparedData

    primary_name = config.data.corpus
    tables = [data.corpus.table.reset_index(drop=True)]  # its `source` column is set by prepare_data
    kind = "multi_label" if data.scheme.multi_label else "single_label"
    primary = TaskTargets(PRIMARY, kind, np.asarray(data.y), data.scheme)
    segments: dict[str, list] = {PRIMARY: [(primary_name, len(data.y), primary)]}
    for task in config.tasks:
        segments[task] = [(primary_name, len(data.y), data.tasks.get(task))]
    notes = dict(data.notes)
    notes["sources"] = {}
    for source in config.sources:
        table, targets, source_notes = load_source(source, source.data.data_root or root, tasks=config.tasks)
        name = source.source_name
        if "dialogue" in table.columns:
            table["dialogue"] = [None if d is None or (isinstance(d, float) and np.isnan(d)) else f"{name}/{d}"
                                 for d in table["dialogue"]]
        tables.append(table)
        for task in segments:
            segments[task].append((name, len(table), targets.get(task)))
        notes["sources"][name] = source_notes
    stacked = pd.concat(tables, ignore_index=True, sort=False)
    if stacked["uid"].duplicated().any():  # two corpora may number their rows alike
        stacked["uid"] = stacked[SOURCE_COLUMN].astype(str) + ":" + stacked["uid"].astype(str)
    label = stack_targets(PRIMARY, segments.pop(PRIMARY))
    tasks = {task: stack_targets(task, parts) for task, parts in segments.items()}
    for name, task in config.tasks.items():
        if task.adversarial and tasks[name].kind == "regression":
            raise ConfigError(f"task {name!r}: an adversarial head needs a classification task")
    split = stacked["split"].to_numpy()
    notes["task_rows"] = {t.name: {s: int(t.present(np.flatnonzero(split == s)).sum()) for s in ("train", "dev", "test")}
                          for t in (label, *tasks.values())}
    if not labelled(label.kind, label.y[split == "dev"]).any():
        raise ConfigError("no dev row carries the primary task (labels): early stopping reads it")
    return PreparedData(data.corpus.with_table(stacked), data.scheme, label.y, notes, tasks,
                        sources=[primary_name, *(s.source_name for s in config.sources)])
