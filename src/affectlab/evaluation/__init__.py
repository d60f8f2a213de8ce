"""Metrics, threshold tuning, calibration and run reports.

Plot helpers live in ``affectlab.evaluation.plots`` and are loaded lazily, so a trainer that
only needs ``score``/``METRICS`` does not import matplotlib.
"""
from __future__ import annotations

from typing import Any

from .metrics import (
    METRIC_INFO,
    METRICS,
    MetricInfo,
    calibration,
    classification_metrics,
    format_metric,
    metric_info,
    metric_names,
    multilabel_metrics,
    predict,
    score,
    tune_threshold,
)
from .reports import write_run_report

_PLOTS = ("plot_confusion", "plot_training_curves", "plot_label_f1")
# Grid statistics and the grid report (matplotlib) load on first use, like the plots.
_STATISTICS = ("summarise", "runs_frame", "leaderboard", "paired_test", "pairwise_tests",
               "friedman_nemenyi", "marginal_effects")
_GRID_REPORT = ("write_grid_report",)

__all__ = [
    "METRIC_INFO",
    "METRICS",
    "MetricInfo",
    "format_metric",
    "metric_info",
    "metric_names",
    "calibration",
    "classification_metrics",
    "multilabel_metrics",
    "predict",
    "score",
    "tune_threshold",
    "write_run_report",
    *_PLOTS,
    *_STATISTICS,
    *_GRID_REPORT,
]


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    if name in _STATISTICS:
        from . import statistics

        return getattr(statistics, name)
    if name in _GRID_REPORT:
        from . import grid_report

        return getattr(grid_report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
