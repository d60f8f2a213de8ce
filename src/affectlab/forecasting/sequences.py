"""Next-turn examples from a conversation table: the emotion distributions of the turns so far
(and the time between them), and the emotion of the turn that follows.

A forecaster never sees the next turn's words: it reads per-turn probabilities (what a pipeline
said about each earlier turn), each turn's log time gap to the previous one, and the gap to the
turn it forecasts. MELD gives utterance start times (``start_time``, ``HH:MM:SS,mmm``); where a
table has none, turns are one time unit apart.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataFormatError

#: gaps are clipped to this many seconds (MELD's subtitle times jump between scenes)
MAX_GAP = 60.0


def parse_clock(value: object) -> float:
    """``'00:16:21,731'`` → seconds; NaN when missing or malformed (such gaps count as 1)."""
    try:
        hms, _, millis = str(value).strip().partition(",")
        hours, minutes, seconds = (int(p) for p in hms.split(":"))
        return hours * 3600 + minutes * 60 + seconds + int(millis or 0) / 1000
    except (ValueError, TypeError):
        return float("nan")


def turn_gaps(times: np.ndarray) -> np.ndarray:
    """Seconds between consecutive turns, clipped to [0, MAX_GAP]; the first turn (and any
    turn whose time is missing or runs backwards) gets a gap of 1."""
    times = np.asarray(times, dtype=float)
    gaps = np.ones(len(times))
    if len(times) > 1:
        diff = np.diff(times)
        ok = np.isfinite(diff) & (diff >= 0)
        gaps[1:] = np.where(ok, np.clip(diff, 0.0, MAX_GAP), 1.0)
    return gaps


@dataclass
class NextTurnSet:
    """Padded histories: ``x`` [N, H, C + 1] (each turn's probabilities and log1p gap, oldest
    first, left-aligned), ``lengths`` [N], ``next_gap`` [N] (log1p seconds to the forecast turn),
    ``y`` [N] (class id of that turn; -1 when unknown)."""

    x: np.ndarray
    lengths: np.ndarray
    next_gap: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return self.x.shape[2] - 1

    def last_probs(self) -> np.ndarray:
        """The probabilities of each history's most recent turn [N, C]."""
        return self.x[np.arange(len(self)), self.lengths - 1, :-1]


def history_features(probs: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """One turn per row: its probabilities and log1p of its gap to the previous turn."""
    return np.concatenate([np.asarray(probs, np.float32), np.log1p(np.asarray(gaps, np.float32))[:, None]], axis=1)


def next_turn_set(table: pd.DataFrame, probs: np.ndarray, classes: list[str], history: int = 8) -> NextTurnSet:
    """Every turn after a dialogue's first becomes one example whose history is the (at most
    ``history``) turns before it. ``table`` needs ``dialogue`` and ``turn``; ``start_time`` and
    ``label`` are used when present."""
    if len(table) != len(probs):
        raise DataFormatError(f"{len(table)} rows but {len(probs)} probability rows")
    for column in ("dialogue", "turn"):
        if column not in table.columns:
            raise DataFormatError(f"next-turn examples need a {column!r} column (which conversation, which turn)")
    index = {c: i for i, c in enumerate(classes)}
    frame = table.reset_index(drop=True).assign(_row=np.arange(len(table)))
    xs, lengths, next_gaps, ys = [], [], [], []
    for _, dialogue in frame.sort_values(["dialogue", "turn"], kind="stable").groupby("dialogue", sort=False):
        rows = dialogue["_row"].to_numpy()
        times = dialogue["start_time"].map(parse_clock).to_numpy() if "start_time" in dialogue else np.arange(len(rows), dtype=float)
        gaps = turn_gaps(times)
        feats = history_features(probs[rows], gaps)
        labels = dialogue["label"].to_numpy() if "label" in dialogue else [None] * len(rows)
        for k in range(1, len(rows)):
            start = max(0, k - history)
            window = np.zeros((history, feats.shape[1]), np.float32)
            window[: k - start] = feats[start:k]
            xs.append(window)
            lengths.append(k - start)
            next_gaps.append(np.log1p(gaps[k]))
            ys.append(index.get(str(labels[k]), -1) if labels[k] is not None else -1)
    if not xs:
        raise DataFormatError("no dialogue has two turns: nothing to forecast")
    return NextTurnSet(np.stack(xs), np.asarray(lengths), np.asarray(next_gaps, np.float32), np.asarray(ys))
