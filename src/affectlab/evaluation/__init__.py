"""Metrics, threshold tuning, calibration and run reports.

Plot helpers live in ``affectlab.evaluation.plots`` and are loaded lazily, so a trainer that
only needs ``score``/``METRICS`` does not import matplotlib.
"""
from __future__ import annotations

from typing import Any

from .metrics import (
    METRICS,
    calibration,
    classification_metrics,
    multilabel_metrics,
    predict,
    score,
    tune_threshold,
)
from .reports import write_run_report

_PLOTS = ("plot_confusion", "plot_training_curves", "plot_label_f1")

__all__ = [
    "METRICS",
    "calibration",
    "classification_metrics",
    "multilabel_metrics",
    "predict",
    "score",
    "tune_threshold",
    "write_run_report",
    *_PLOTS,
]


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
