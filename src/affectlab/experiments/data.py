"""Prepare a run's data: load and split the corpus, resolve labels, drop unusable rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from rich.console import Console

from ..corpora import apply_split, check_leakage, load_corpus
from ..corpora.corpus import Corpus
from ..errors import ConfigError
from ..labels import auto_label, scheme_and_mapping
from ..labels.scheme import LabelScheme
from .config import ExperimentConfig
from .tasks import PRIMARY, TaskTargets, task_targets
from .split_summary import print_split_summary, split_summary

console = Console(stderr=True)


SPLITS = ("train", "dev", "test")


#: Splitters that ignore who is speaking: combined with a speaker column they leak speakers.
RANDOM_SPLITTERS = {"random", "stratified_kfold"}


@dataclass
class PreparedData:
    """The split, labelled table: ``y`` is the primary task (``labels``); ``tasks`` holds the
    further ones (config ``tasks:``), rows without a value marked missing."""

    corpus: Corpus
    scheme: LabelScheme
    y: np.ndarray
    notes: dict[str, Any]
    tasks: dict[str, TaskTargets] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # several corpora: the table's `source` values

    def targets(self, index: np.ndarray):
        """Targets of rows ``index``: the primary array alone, or ``{task: array}`` with further
        tasks or corpora (where the primary task may be missing too)."""
        if not self.tasks and not self.sources:
            return self.y[index]
        return {PRIMARY: self.y[index], **{name: t.y[index] for name, t in self.tasks.items()}}

    def take(self, keep: np.ndarray, notes: dict[str, Any] | None = None) -> "PreparedData":
        """The rows ``keep`` (a boolean mask over the table)."""
        return PreparedData(self.corpus.with_table(self.corpus.table[keep]), self.scheme, self.y[keep],
                            notes if notes is not None else self.notes,
                            {name: t.take(keep) for name, t in self.tasks.items()}, self.sources)


def prepare_data(config: ExperimentConfig, data_root: str | Path | None = None,
                 need: Sequence[str] = ("train", "test")) -> PreparedData:
    """Load, split and label the corpus; rows whose label a mapping drops are removed and counted.
    ``need``: the splits that must have rows (scoring a pipeline needs only the one it scores)."""
    if config.data.split.options.get("fold") == "all":
        raise ConfigError("split option fold: all means cross-validation: run it with `affectlab run` "
                          "or experiments.cv.run_cross_validation, or set one fold (0, 1, ...)")
    root = data_root or config.data.data_root
    corpus = load_corpus(config.data.corpus, root, **config.data.options)
    corpus = apply_split(corpus, config.data.split.name, **config.data.split.options)  # own seed: fixed split across model seeds
    scheme, mapping = scheme_and_mapping(config.labels)  # registered or declared in the config
    table = corpus.table
    column = config.labels.column
    if config.labels.labeller:
        table = table.copy()
        column = "auto_label"
        table[column] = auto_label(table["text"].fillna("").astype(str).tolist(),
                                   config.labels.labeller, **config.labels.labeller_options)
    if column not in table.columns:
        raise ConfigError(f"label column {column!r} is not in corpus "
                          f"{corpus.name!r}; columns: {list(table.columns)}")
    raw = table[column].tolist()
    notes: dict[str, Any] = {"rows_loaded": len(table), "leakage": check_leakage(corpus)}
    if config.data.split.name in RANDOM_SPLITTERS and table["speaker"].notna().any():
        for warning in notes["leakage"]:  # a random split of a corpus with speakers: say so loudly
            console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if mapping is not None:
        if mapping.target != scheme.name:
            raise ConfigError(f"mapping {mapping.name!r} produces {mapping.target!r} labels, "
                              f"but the config asks for scheme {scheme.name!r}")
        scheme = mapping.target_scheme()  # multi-label when the mapping yields label sets
        mapped = mapping.apply(raw)
        keep = np.array([m is not None and m != () for m in mapped])
        notes["rows_dropped_by_mapping"] = int((~keep).sum())
        table = table[keep].copy()
        table["target"] = [m for m, k in zip(mapped, keep) if k]
    else:
        table = table.copy()
        table["target"] = raw
    source = "text" if config.features.modality == "text" else config.features.modality
    empty = table[source].fillna("").astype(str).str.strip() == ""
    if empty.any():
        notes[f"rows_dropped_empty_{source}"] = int(empty.sum())
        table = table[~empty]
    missing = [s for s in need if s not in set(table["split"].dropna())]
    if missing:
        raise ConfigError(f"corpus {corpus.name!r} has no {missing} split after splitting with "
                          f"{config.data.split.name!r}; choose a splitter that makes train/dev/test")
    corpus = corpus.with_table(table)
    y = scheme.encode(table["target"].tolist())
    if config.sources:  # several corpora: which one a row comes from (a task may predict it)
        table = table.assign(source=config.data.corpus)
        corpus = corpus.with_table(table)
    tasks = task_targets(config.tasks, table)
    notes["splits"] = split_summary(table, y, scheme.classes)
    for name, task in tasks.items():
        notes.setdefault("task_rows", {})[name] = {s: int(task.present(np.flatnonzero(table["split"].to_numpy() == s)).sum())
                                                   for s in SPLITS}
    if config.training.progress:
        print_split_summary(notes["splits"], console)
    data = PreparedData(corpus, scheme, y, notes, tasks)
    if config.sources:
        from .sources import with_sources

        data = with_sources(config, data, root)
        if config.training.progress:
            for name, info in data.notes["sources"].items():
                console.print(f"source {name}: {info['rows']} rows ({info['rows_dropped']} without text or targets)",
                              highlight=False, soft_wrap=True)
    return data

