"""Dialogue context: each utterance sees the K turns before it in the same dialogue."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def context_index(table: "pd.DataFrame", window: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices [N, window + 1] (oldest … current, -1 where the dialogue has no such turn)
    and the matching {0,1} mask. Rows without a dialogue id are their own one-turn dialogue."""
    import pandas as pd  # here: a cold single prediction without context does not need it

    n = len(table)
    dialogue = table["dialogue"].astype(object).where(table["dialogue"].notna(),
                                                      pd.Series([f"\x00{i}" for i in range(n)],
                                                                index=table.index))
    turn = pd.to_numeric(table["turn"], errors="coerce").fillna(0).to_numpy()
    keys = pd.factorize(dialogue.astype(str))[0]
    order = np.lexsort((np.arange(n), turn, keys))  # by dialogue, then turn, then row
    sorted_keys = keys[order]
    index = np.full((n, window + 1), -1, dtype=np.int64)
    index[:, window] = np.arange(n)
    for back in range(1, window + 1):
        shifted = np.full(n, -1, dtype=np.int64)
        same = np.zeros(n, dtype=bool)
        same[back:] = sorted_keys[back:] == sorted_keys[:-back]
        shifted[back:] = order[:-back]
        index[order, window - back] = np.where(same, shifted, -1)
    return index, (index >= 0).astype(np.float32)


def with_context(features: np.ndarray, index: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[N, D] utterance vectors → [N, window + 1, D] sequences (zeros where there is no turn)."""
    return np.asarray(features)[np.maximum(index, 0)] * mask[..., None]
