"""Score a trained pipeline on a corpus it may never have seen (``affectlab evaluate``).

The config names the corpus, its split and how its labels map onto the pipeline's scheme
(``labels.mapping``, e.g. GoEmotions through ``goemotions28->plutchik8_neutral`` for a Plutchik
pipeline); nothing is trained. The pipeline task whose classes the config's scheme gives is
scored (or ``task``), with the pipeline's own threshold, and every row is read with its own
dialogue context, as in training. This is the leave-one-dataset-out test: a model trained
without a corpus, scored zero-shot on its test split beside the in-domain figure.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..evaluation.reports import write_run_report
from .config import ExperimentConfig
from .data import prepare_data


def pipeline_task(pipeline, classes: tuple[str, ...], task: str | None = None) -> str:
    """The pipeline task that predicts ``classes`` (or ``task``, checked)."""
    matching = [name for name, spec in pipeline.tasks.items()
                if spec.scheme is not None and tuple(spec.scheme.classes) == tuple(classes)]
    if task is not None:
        if task not in pipeline.tasks:
            raise ConfigError(f"the pipeline has no task {task!r}; it has {', '.join(pipeline.tasks)}")
        if task not in matching:
            raise ConfigError(f"task {task!r} predicts {list(pipeline.tasks[task].scheme.classes)}, the config's "
                              f"labels give {list(classes)}: map them onto the task's scheme (labels.mapping)")
        return task
    if not matching:
        offered = {n: list(s.scheme.classes) for n, s in pipeline.tasks.items() if s.scheme is not None}
        raise ConfigError(f"no task of the pipeline predicts the config's classes {list(classes)}; its tasks: "
                          f"{offered}. Map the corpus's labels onto one (labels.mapping)")
    return matching[0]


def split_outputs(pipeline, data, split: str, task: str | None = None, batch_size: int = 64,
                  progress: bool = False) -> tuple[str, np.ndarray, np.ndarray]:
    """The pipeline task matching ``data``'s classes, its outputs on ``split``'s rows (each read
    with its own context) and their labels."""
    rows = (data.corpus.table["split"] == split).to_numpy()
    if not rows.any():
        raise ConfigError(f"the config's corpus has no {split!r} rows after splitting")
    name = pipeline_task(pipeline, tuple(data.scheme.classes), task)
    probs = pipeline.predict_outputs([], batch_size=batch_size, progress=progress, table=data.corpus.table[rows])[name]
    return name, probs, np.asarray(data.y)[rows]


def evaluate_pipeline(pipeline, config: ExperimentConfig, split: str = "test", task: str | None = None,
                      out_dir: str | Path | None = None, data_root: str | Path | None = None,
                      batch_size: int = 64) -> dict[str, Any]:
    """Metrics of ``pipeline`` on ``split`` of the config's corpus (reports under ``out_dir``),
    plus how often each class is predicted beside how often it is true."""
    data = prepare_data(config, data_root, need=(split,))
    name, probs, y = split_outputs(pipeline, data, split, task, batch_size)
    rows = (data.corpus.table["split"] == split).to_numpy()
    spec = pipeline.tasks[name]
    multi_label = spec.kind == "multi_label"
    with tempfile.TemporaryDirectory() as scratch:  # the text report goes to out_dir when given
        report = write_run_report(Path(out_dir or scratch), scheme_classes=spec.scheme.classes,
                                  multi_label=multi_label, y_true=y, probs=probs, split_name=f"{split} ({data.corpus.name})",
                                  threshold=spec.threshold if multi_label else None, plots=out_dir is not None)
    predicted = probs >= np.asarray(spec.threshold) if multi_label else np.eye(len(spec.scheme))[probs.argmax(1)]
    truth = y if multi_label else np.eye(len(spec.scheme))[y]
    report["class_shares"] = {c: {"predicted": round(float(predicted[:, i].mean()), 4),
                                  "true": round(float(truth[:, i].mean()), 4)}
                              for i, c in enumerate(spec.scheme.classes)}
    report["task"], report["corpus"], report["rows"] = name, data.corpus.name, int(rows.sum())
    return report
