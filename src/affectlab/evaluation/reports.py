"""One call that turns a split's predictions into the standard run artefacts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import classification_report

from .._io import write_text
from ..errors import ConfigError, DataFormatError
from .metrics import (calibration, classification_metrics, format_metric, metric_names, multilabel_metrics,
                      predict)
from .tables import plain_table


def _summary_rows(metrics: dict[str, Any], multi_label: bool) -> list[list[str]]:
    return [[k, format_metric(k, metrics[k])] for k in metric_names(multi_label)]


def write_run_report(
    out_dir: str | Path,
    *,
    scheme_classes: Sequence[str],
    multi_label: bool,
    y_true: np.ndarray,
    probs: np.ndarray,
    split_name: str = "test",
    history: list[dict] | None = None,
    extra: dict | None = None,
    threshold: float | np.ndarray | None = None,
    plots: bool = True,
) -> dict[str, Any]:
    """Write ``cls_report.txt``, ``confusion_matrix.png`` and (with history) ``training_curves.png``.

    Single-label: argmax predictions, confusion matrix (counts + row-normalised) and calibration.
    Multi-label: ``threshold`` (default 0.5; pass one tuned on validation) and a per-label F1 bar
    chart saved under the same ``confusion_matrix.png`` name so consumers need one path.
    ``extra`` is echoed at the top of the text report and under ``"extra"`` in the result.
    Returns the metrics dict (JSON-ready); the caller writes results.json. ``plots=False``
    writes only the text report (plots cost most of a small run's time).
    """
    from . import plots as plotting  # deferred: importing metrics alone should not pull in matplotlib

    out_dir = Path(out_dir)
    classes = list(scheme_classes)
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise DataFormatError(f"probs must be [N, {len(classes)}] for classes {classes}, got {probs.shape}")
    if len(y_true) != len(probs):
        raise DataFormatError(f"y_true has {len(y_true)} rows but probs has {len(probs)}")
    if threshold is not None and not multi_label:
        raise ConfigError("threshold only applies to multi-label runs")

    header = [f"split: {split_name}  n={len(y_true)}  {'multi-label' if multi_label else 'single-label'}"]
    header += [f"{k}: {v}" for k, v in (extra or {}).items()]

    if multi_label:
        thr = 0.5 if threshold is None else threshold
        y_true = y_true.astype(np.int64)
        y_pred = predict(probs, multi_label=True, threshold=thr)
        metrics = multilabel_metrics(y_true, probs, classes, threshold=thr)
        summary = _summary_rows(metrics, multi_label=True)
        summary.append(["threshold", str(metrics["threshold"])])
        thr_note = "per-label thresholds" if isinstance(metrics["threshold"], list) else f"threshold {thr}"
        if plots:
            plotting.plot_label_f1(metrics["per_label"], out_dir / "confusion_matrix.png",
                                   title=f"per-label F1 ({split_name}, {thr_note})")
    else:
        y_true = y_true.astype(np.int64).ravel()
        y_pred = predict(probs, multi_label=False)
        metrics = classification_metrics(y_true, y_pred, classes)
        metrics["calibration"] = calibration(y_true, probs)
        summary = _summary_rows(metrics, multi_label=False)
        summary.append(["ece", f"{metrics['calibration']['ece']:.4f}"])
        if plots:
            plotting.plot_confusion(metrics["confusion"], classes, out_dir / "confusion_matrix.png",
                                    title=f"Confusion matrix ({split_name})")

    labels = None if multi_label else list(range(len(classes)))
    report = classification_report(y_true, y_pred, labels=labels, target_names=classes,
                                   digits=4, zero_division=0)
    write_text(out_dir / "cls_report.txt", "\n".join(header) + "\n\n" + report + "\n"
               + plain_table(summary, min_widths=(12,)) + "\n")

    files = ["cls_report.txt"] + (["confusion_matrix.png"] if plots else [])
    if history and plots:
        plotting.plot_training_curves(history, out_dir / "training_curves.png")
        files.append("training_curves.png")

    result: dict[str, Any] = {"split": split_name, "multi_label": bool(multi_label), **metrics}
    if extra:
        result["extra"] = dict(extra)
    result["files"] = files
    return result
