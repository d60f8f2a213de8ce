"""Evaluation metrics for single- and multi-label emotion recognition.

Every sklearn call is made as ``f(y_true, y_pred)``: swapping the arguments silently
exchanges per-class precision and recall and makes weighted F1 weight by *predicted*
instead of true support. All returned numbers are plain Python floats/ints/lists so the
results can go straight into JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)

from ..errors import ConfigError, DataFormatError
from ..registry import Registry
from .tables import format_number

DEFAULT_GRID = np.linspace(0.05, 0.95, 19)


def _as_int(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).astype(np.int64)


def _check_rows(y_true: np.ndarray, other: np.ndarray, what: str) -> None:
    if len(y_true) != len(other):
        raise DataFormatError(f"y_true has {len(y_true)} rows but {what} has {len(other)}")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Single-label metrics from integer class ids.

    ``labels=range(len(classes))`` keeps every class in the macro averages and the
    confusion matrix even when a split lacks it, so runs stay comparable.
    """
    y_true, y_pred = _as_int(y_true).ravel(), _as_int(y_pred).ravel()
    _check_rows(y_true, y_pred, "y_pred")
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "uar": float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Pearson r, MAE and RMSE per output column (EmoBank-style V/A/D), and their means."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    _check_rows(y_true, y_pred, "predictions")
    per = {}
    for j, name in enumerate(names):
        t, p = y_true[:, j], y_pred[:, j]
        r = float(np.corrcoef(t, p)[0, 1]) if len(t) > 1 and t.std() > 0 and p.std() > 0 else float("nan")
        per[str(name)] = {"pearson_r": r, "mae": float(np.abs(t - p).mean()),
                          "rmse": float(np.sqrt(((t - p) ** 2).mean()))}
    return {"n": int(len(y_true)), "per_output": per,
            **{f"mean_{k}": float(np.mean([v[k] for v in per.values()])) for k in ("pearson_r", "mae", "rmse")}}


def _binarize(probs: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """``probs >= threshold``; an array threshold is one value per label (column)."""
    probs = np.asarray(probs, dtype=np.float64)
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim == 1 and thr.shape[0] != probs.shape[1]:
        raise DataFormatError(f"got {thr.shape[0]} thresholds for {probs.shape[1]} labels")
    return (probs >= thr).astype(np.int64)


def multilabel_metrics(
    y_true: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    threshold: float | np.ndarray = 0.5,
) -> dict[str, Any]:
    """Multi-label metrics after thresholding probabilities (global or per-label threshold)."""
    y_true = _as_int(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    _check_rows(y_true, probs, "probs")
    if y_true.shape != probs.shape or probs.shape[1] != len(classes):
        raise DataFormatError(f"y_true {y_true.shape} and probs {probs.shape} must both be [N, {len(classes)}]")
    y_pred = _binarize(probs, threshold)

    def f1(average: str) -> float:
        return float(f1_score(y_true, y_pred, average=average, zero_division=0))

    precision, recall, f1s, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    thr = np.asarray(threshold, dtype=np.float64)
    return {
        "n": int(len(y_true)),
        "micro_f1": f1("micro"),
        "macro_f1": f1("macro"),
        "weighted_f1": f1("weighted"),
        "samples_f1": f1("samples") if len(y_true) else 0.0,
        "per_label": {
            name: {
                "f1": float(f1s[i]),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "threshold": thr.tolist() if thr.ndim else float(thr),
    }


def _f1_per_label(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-column F1 with zero_division=0 (vectorised; used inside the threshold search)."""
    tp = (y_true * y_pred).sum(axis=0)
    denom = y_true.sum(axis=0) + y_pred.sum(axis=0)
    return np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=np.float64), where=denom > 0)


def _pick(scores: np.ndarray, grid: np.ndarray) -> float:
    """Best grid value; ties go to the middle of the tied values, which is less brittle than an edge."""
    tied = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[tied[len(tied) // 2]])


def tune_threshold(
    y_true: np.ndarray,
    probs: np.ndarray,
    grid: np.ndarray = DEFAULT_GRID,
    per_label: bool = False,
) -> float | np.ndarray:
    """Pick the decision threshold(s) that maximise F1 for multi-label outputs.

    Call this on VALIDATION data only and then apply the result to the test split;
    tuning on the test split leaks labels and inflates the reported scores.
    Global mode maximises micro-F1 and returns a float; ``per_label=True`` maximises each
    label's F1 independently and returns an array with one threshold per label.
    """
    y_true = _as_int(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64).ravel()
    if y_true.shape != probs.shape or probs.ndim != 2:
        raise DataFormatError(f"y_true {y_true.shape} and probs {probs.shape} must both be [N, C]")
    if grid.size == 0:
        raise ConfigError("threshold grid is empty")
    if per_label:
        scores = np.stack([_f1_per_label(y_true, (probs >= t).astype(np.int64)) for t in grid])  # [G, C]
        return np.array([_pick(scores[:, c], grid) for c in range(probs.shape[1])])
    scores = np.array(
        [f1_score(y_true, (probs >= t).astype(np.int64), average="micro", zero_division=0) for t in grid]
    )
    return _pick(scores, grid)


def calibration(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> dict[str, Any]:
    """Expected calibration error of the top-class confidence, plus reliability-diagram bins.

    Bins are equal-width over (0, 1]; ECE is the support-weighted mean |accuracy - confidence|.
    """
    y_true = _as_int(y_true).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    _check_rows(y_true, probs, "probs")
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(axis=1) == y_true).astype(np.float64) if len(probs) else np.zeros(0)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins, ece, mce = [], 0.0, 0.0
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        acc = float(correct[mask].mean()) if count else 0.0
        conf = float(confidence[mask].mean()) if count else 0.0
        if count:
            gap = abs(acc - conf)
            ece += gap * count / len(y_true)
            mce = max(mce, gap)
        bins.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count,
                     "accuracy": acc, "confidence": conf})
    return {"ece": float(ece), "mce": float(mce), "n_bins": int(n_bins), "bins": bins}


# --- metrics by name: the one list of metrics, with what every table and check needs ---------
# Each entry is fn(y_true, y_pred, n_classes=None) -> float on PREDICTIONS (int ids for
# single-label, a {0,1} matrix for multi-label). Use ``score`` to go from probabilities to a
# number. ``METRIC_INFO`` (same names, registration order) says how to show and compare them;
# reports, grid statistics, cross-validation tables, tracking and the CLI all derive their
# metric lists from it.

METRICS: Registry[float] = Registry("metric")


@dataclass(frozen=True)
class MetricInfo:
    """What a registered metric is.

    ``single_label`` / ``multi_label``: whether single-label (``classification_metrics``) or
    multi-label (``multilabel_metrics``) results record it — the metrics shown for such a run.
    ``abbrev`` is the short name papers use (speech: WA, UA).
    """

    name: str
    display: str
    single_label: bool
    multi_label: bool
    higher_is_better: bool = True
    digits: int = 4
    abbrev: str = ""

    def format(self, value: Any) -> str:
        return format_number(value, self.digits)


METRIC_INFO: dict[str, MetricInfo] = {}


def _metric(name: str, display: str, single_label: bool, multi_label: bool, **meta: Any):
    def decorator(fn: Callable[..., float]) -> Callable[..., float]:
        METRICS.register(name)(fn)
        METRIC_INFO[name] = MetricInfo(name, display, single_label, multi_label, **meta)
        return fn

    return decorator


def metric_info(name: str) -> MetricInfo:
    """The metadata of metric ``name``; an unknown name is a ConfigError listing the known ones."""
    METRICS.get(name)
    return METRIC_INFO[name]


def metric_names(multi_label: bool | None = None) -> list[str]:
    """Every metric in registration order, or those recorded for single-/multi-label runs."""
    return [m.name for m in METRIC_INFO.values()
            if multi_label is None or (m.multi_label if multi_label else m.single_label)]


def format_metric(name: str, value: Any) -> str:
    return metric_info(name).format(value)


def _labels(n_classes: int | None) -> list[int] | None:
    return None if n_classes is None else list(range(n_classes))


@_metric("accuracy", "accuracy", single_label=True, multi_label=False, abbrev="WA")
def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Single-label accuracy; for multi-label this is exact-match (subset) accuracy."""
    return float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0


def _f1(average: str) -> Callable[..., float]:
    def fn(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
        labels = _labels(n_classes) if np.ndim(y_true) == 1 else None
        return float(f1_score(y_true, y_pred, labels=labels, average=average, zero_division=0))

    fn.__name__ = f"{average}_f1"
    return fn


_metric("micro_f1", "micro-F1", single_label=False, multi_label=True)(_f1("micro"))
_metric("macro_f1", "macro-F1", single_label=True, multi_label=True)(_f1("macro"))
_metric("weighted_f1", "weighted-F1", single_label=True, multi_label=True)(_f1("weighted"))


@_metric("uar", "unweighted average recall", single_label=True, multi_label=False, abbrev="UA")
def _uar(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Unweighted average recall (macro recall), the usual speech-emotion headline metric."""
    labels = _labels(n_classes) if np.ndim(y_true) == 1 else None
    return float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


@_metric("samples_f1", "samples-F1", single_label=False, multi_label=True)
def _samples_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Mean per-example F1; multi-label only."""
    if np.ndim(y_true) != 2:
        raise ConfigError("samples_f1 needs multi-label [N, C] targets; for a single-label scheme use "
                          "accuracy, macro_f1, weighted_f1 or uar")
    return float(f1_score(y_true, y_pred, average="samples", zero_division=0)) if len(y_true) else 0.0


def predict(probs: np.ndarray, multi_label: bool, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """Probabilities [N, C] → argmax ids (single-label) or a thresholded {0,1} matrix (multi-label)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise DataFormatError(f"probs must be [N, C], got shape {probs.shape}")
    return _binarize(probs, threshold) if multi_label else probs.argmax(axis=1)


def score(name: str, y_true: np.ndarray, probs: np.ndarray, multi_label: bool) -> float:
    """Metric ``name`` from PROBABILITIES: argmax for single-label, 0.5 threshold for multi-label.

    Higher is better for every registered metric (``METRIC_INFO[name].higher_is_better``), so a
    trainer can early-stop on any of them.
    """
    fn = METRICS.get(name)
    probs = np.asarray(probs, dtype=np.float64)
    y_pred = predict(probs, multi_label)
    y_true = _as_int(y_true) if multi_label else _as_int(y_true).ravel()
    _check_rows(y_true, y_pred, "probs")
    return fn(y_true, y_pred, n_classes=probs.shape[1])
