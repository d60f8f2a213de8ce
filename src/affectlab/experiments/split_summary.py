"""What each split holds: size, class distribution and speaker coverage, printed and recorded.

A skewed dev split or a speaker present in train and test is the usual reason a number cannot
be trusted; every run shows both before training starts.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


def split_summary(table: pd.DataFrame, y: np.ndarray, classes: Sequence[str],
                  splits: Sequence[str] = ("train", "dev", "test")) -> dict[str, Any]:
    """Per split: rows, count per class (single-label ``y`` [N] or multi-hot [N, C]),
    number of speakers and groups, and how many of them also occur in another split."""
    split = table["split"].to_numpy()
    y = np.asarray(y)
    out: dict[str, Any] = {}
    members = {s: _units(table, split == s) for s in splits}
    for name in splits:
        rows = split == name
        if not rows.any():
            continue
        counts = y[rows].sum(0) if y.ndim == 2 else np.bincount(y[rows], minlength=len(classes))
        entry: dict[str, Any] = {"rows": int(rows.sum()),
                                 "classes": {c: int(n) for c, n in zip(classes, counts)}}
        for column in ("speaker", "group"):
            mine = members[name][column]
            if mine:
                others = set().union(*(members[s][column] for s in splits if s != name))
                entry[f"{column}s"] = len(mine)
                entry[f"{column}s_shared"] = len(mine & others)
        out[name] = entry
    return out


def _units(table: pd.DataFrame, rows: np.ndarray) -> dict[str, set]:
    return {c: set(table.loc[rows, c].dropna().astype(str)) for c in ("speaker", "group")}


def print_split_summary(summary: dict[str, Any], console: Console) -> None:
    """One table: a column per split, a row per class, then speakers and groups."""
    splits = list(summary)
    if not splits:
        return
    table = Table(title="splits", show_edge=False, pad_edge=False)
    table.add_column("")
    for name in splits:
        table.add_column(name, justify="right")
    table.add_row("rows", *(str(summary[s]["rows"]) for s in splits))
    for cls in summary[splits[0]]["classes"]:
        table.add_row(cls, *(str(summary[s]["classes"].get(cls, 0)) for s in splits))
    for column in ("speakers", "groups"):
        if any(column in summary[s] for s in splits):
            table.add_row(column, *(_coverage(summary[s], column) for s in splits))
    console.print(table)


def _coverage(entry: dict[str, Any], column: str) -> str:
    if column not in entry:
        return "-"
    shared = entry[f"{column}_shared"]
    return f"{entry[column]}" + (f" ({shared} shared)" if shared else "")
