"""Report figures (confusion matrix, training curves, per-label F1), reusable by the dashboard.

Rendering is headless: the Agg backend is selected before pyplot is imported, unless some
caller already imported pyplot (switching then would close that caller's figures). Every
figure is closed after saving and written atomically, so concurrent readers never see a
half-written PNG.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._io import atomic_write  # noqa: E402

FONT = 10


def _save(fig: Any, path: str | Path) -> Path:
    """Save a figure as PNG through a temp file, and always close it."""
    try:
        fig.tight_layout()
        return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=120))
    finally:
        plt.close(fig)


def _heatmap(ax: Any, data: np.ndarray, classes: Sequence[str], title: str, fmt: str) -> None:
    n = len(classes)
    im = ax.imshow(data, cmap="Blues", vmin=0, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(title, fontsize=FONT + 1)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=FONT)
    ax.set_yticklabels(classes, fontsize=FONT)
    ax.set_xlabel("predicted", fontsize=FONT)
    ax.set_ylabel("true", fontsize=FONT)
    if n <= 30:  # beyond that, numbers in cells are unreadable anyway
        hi = data.max() if data.size else 0
        size = FONT if n <= 10 else max(5, FONT - (n - 10) // 4)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, format(data[i, j], fmt), ha="center", va="center", fontsize=size,
                        color="white" if hi and data[i, j] > hi / 2 else "black")


def plot_confusion(cm: Any, classes: Sequence[str], path: str | Path, title: str = "Confusion matrix") -> Path:
    """Two panels: raw counts and row-normalised (per-true-class recall), rows = true class."""
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    side = max(4.5, 0.45 * len(classes) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1, side))
    fig.suptitle(title, fontsize=FONT + 3)
    _heatmap(axes[0], cm.astype(np.int64), classes, "counts", "d")
    _heatmap(axes[1], norm, classes, "row-normalised", ".2f")
    return _save(fig, path)


def _series(history: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """One value per epoch; a missing or non-numeric value becomes NaN (a gap in the line)."""
    out = []
    for row in history:
        value = row.get(key)
        try:
            out.append(float(value))
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.asarray(out)


def plot_training_curves(history: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Losses on the left axis, every ``val_*`` metric (non-loss) on the right, per epoch."""
    keys: list[str] = []
    for row in history:
        keys.extend(k for k in row if k not in keys)
    losses = [k for k in keys if k == "loss" or k.endswith("_loss")]
    metrics = [k for k in keys if k.startswith("val_") and k not in losses]
    epochs = _series(history, "epoch") if "epoch" in keys else np.arange(1, len(history) + 1, dtype=float)

    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, names, title in ((ax_loss, losses, "loss"), (ax_metric, metrics, "validation metrics")):
        for name in names:
            ax.plot(epochs, _series(history, name), marker="o", markersize=3, label=name)
        ax.set_title(title, fontsize=FONT + 1)
        ax.set_xlabel("epoch", fontsize=FONT)
        ax.grid(alpha=0.3)
        if names:
            ax.legend(fontsize=FONT - 1)
        else:
            ax.text(0.5, 0.5, f"no {title} recorded", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def plot_label_f1(per_label: Mapping[str, Mapping[str, Any]], path: str | Path, title: str = "per-label F1") -> Path:
    """Horizontal F1 bar per label (multi-label runs have no confusion matrix), support annotated."""
    names = list(per_label)
    f1 = [float(per_label[n].get("f1", 0.0)) for n in names]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.32 * len(names) + 1.2)))
    y = np.arange(len(names))
    ax.barh(y, f1, color="tab:blue")
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=FONT)
    ax.invert_yaxis()  # keep scheme order top to bottom
    ax.set_xlim(0, 1.3)  # room for the annotations
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("F1", fontsize=FONT)
    ax.set_title(title, fontsize=FONT + 1)
    ax.grid(axis="x", alpha=0.3)
    for i, name in enumerate(names):
        support = per_label[name].get("support")
        note = f"{f1[i]:.2f}" + (f" (n={support})" if support is not None else "")
        ax.text(f1[i] + 0.01, i, note, va="center", fontsize=FONT - 2)
    return _save(fig, path)
