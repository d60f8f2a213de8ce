"""Probe a trained pipeline's representation for a column of a config's data (``affectlab
probe``), e.g. the source corpus of the engine's rows: the domain the adversary should remove."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..evaluation.probe import linear_probe
from .config import ExperimentConfig
from .data import prepare_data


def _sample(table, split: str, column: str, per_group: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``per_group`` rows of ``split`` per value of ``column`` (positions in ``table``)."""
    picked = []
    rows = np.flatnonzero((table["split"] == split).to_numpy() & table[column].notna().to_numpy())
    values = table[column].to_numpy()[rows]
    for value in sorted(set(values)):
        group = rows[values == value]
        picked.append(rng.choice(group, size=min(per_group, len(group)), replace=False))
    return np.sort(np.concatenate(picked)) if picked else rows[:0]


def probe_pipeline(pipeline, config: ExperimentConfig, column: str = "source", per_group: int = 1000,
                   seed: int = 0, data_root: str | Path | None = None) -> dict[str, Any]:
    """A linear probe for ``column`` on ``pipeline``'s representation: fitted on train rows,
    scored on test rows, at most ``per_group`` of each per value (so corpora weigh alike)."""
    data = prepare_data(config, data_root)
    table = data.corpus.table.reset_index(drop=True)
    if column not in table.columns:
        raise ConfigError(f"the config's data has no column {column!r}; columns: {list(table.columns)}")
    if not hasattr(pipeline.model, "represent"):
        raise ConfigError("this pipeline's model exposes no representation to probe (a composed model does)")
    rng = np.random.default_rng(seed)
    parts = {}
    for split in ("train", "test"):
        rows = _sample(table, split, column, per_group, rng)
        vectors = pipeline.predict_outputs([], table=table.iloc[rows], represent=True)["representation"]
        parts[split] = (vectors, table[column].astype(str).to_numpy()[rows])
    if len(set(parts["train"][1])) < 2:
        raise ConfigError(f"column {column!r} has one value in the training rows: nothing to probe")
    result = linear_probe(*parts["train"], *parts["test"], seed=seed)
    result["column"] = column
    return result
