"""Splitters: fill a corpus's ``split`` column (train/dev/test) reproducibly from a seed.

A splitter is ``f(corpus, **options) -> array of split names`` aligned with the table rows;
:func:`apply_split` runs one by name and records the recipe in ``meta['split']``.
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from ..errors import ConfigError
from ..registry import Registry
from .corpus import Corpus

Splitter = Callable[..., np.ndarray]
SPLITTERS: Registry[np.ndarray] = Registry("splitter")
_NONE = "<none>"


def _strata(corpus: Corpus) -> np.ndarray:
    """Label per row to stratify on; multi-label rows use their first label."""
    def first(value: Any) -> str:
        if isinstance(value, (tuple, list)):
            return str(value[0]) if len(value) else _NONE
        return _NONE if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)

    return np.array([first(v) for v in corpus.table["label"]], dtype=object)


def _two_way(
    index: np.ndarray, size: float, y: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, carved) with ``size`` of ``index`` carved out, stratified when every class allows it."""
    if size <= 0 or len(index) == 0:
        return index, index[:0]
    strata = None if y is None else y[index]
    try:
        rest, carved = train_test_split(index, test_size=size, stratify=strata, random_state=seed)
    except ValueError:  # a class too small to appear on both sides: fall back to a plain shuffle
        rest, carved = train_test_split(index, test_size=size, random_state=seed)
    return np.sort(rest), np.sort(carved)


def _assemble(n: int, parts: dict[str, np.ndarray]) -> np.ndarray:
    split = np.full(n, None, dtype=object)
    for name, index in parts.items():
        split[index] = name
    return split


def _check_fold(n_folds: int, fold: int, n_units: int, unit: str) -> None:
    if n_folds < 2 or not 0 <= fold < n_folds:
        raise ConfigError(f"need n_folds >= 2 and 0 <= fold < n_folds, got n_folds={n_folds}, fold={fold}")
    if n_folds > n_units:
        raise ConfigError(f"n_folds={n_folds} is more than the {n_units} {unit} available")


def _group_keys(corpus: Corpus, by: str | None) -> np.ndarray:
    """Group per row from ``by``, else ``group``, else ``speaker``; unknown rows stand alone."""
    table = corpus.table
    column = by or next((c for c in ("group", "speaker") if table[c].notna().any()), None)
    if column is None or column not in table.columns:
        raise ConfigError(
            f"corpus {corpus.name!r} has no {by or 'group or speaker'} column to group by; "
            "pass by=<column> or use stratified_kfold"
        )
    keys = table[column]
    missing = keys.isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} rows have no {column}; each is its own group", stacklevel=3)
    return np.where(missing, "uid:" + table["uid"], keys.astype(str)).astype(object)


def _carve_dev_groups(
    groups: np.ndarray, train: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move whole random train groups to dev until ``fraction`` of the train rows is reached."""
    if fraction <= 0:
        return train, train[:0]
    names, counts = np.unique(groups[train], return_counts=True)
    if len(names) < 2:
        raise ConfigError("dev_fraction needs at least two groups left for training")
    order = np.random.default_rng(seed).permutation(len(names))
    target, taken, chosen = fraction * len(train), 0, []
    for i in order[:-1]:  # always keep one group for training
        if taken >= target:
            break
        chosen.append(names[i])
        taken += counts[i]
    is_dev = np.isin(groups[train], chosen)
    return train[~is_dev], train[is_dev]


@SPLITTERS.register("predefined")
def predefined(corpus: Corpus, require: Sequence[str] = ("train", "test")) -> np.ndarray:
    """Keep the dataset's own split; refuse rows without one and missing required splits."""
    split = corpus.table["split"]
    if split.isna().any():
        raise ConfigError(
            f"corpus {corpus.name!r} has no predefined split for {int(split.isna().sum())} of "
            f"{len(split)} rows; use a splitter such as stratified_kfold or random"
        )
    missing = [s for s in require if s not in set(split)]
    if missing:
        raise ConfigError(f"corpus {corpus.name!r} has no {missing} split (has {corpus.splits})")
    return split.to_numpy(dtype=object)


@SPLITTERS.register("stratified_kfold")
def stratified_kfold(corpus: Corpus, n_folds: int = 5, fold: int = 0, seed: int = 0,
                     dev_fraction: float = 0.0) -> np.ndarray:
    """Fold ``fold`` is test; ``dev_fraction`` of the rest becomes dev (both label-stratified)."""
    n = len(corpus)
    _check_fold(n_folds, fold, n, "rows")
    y = _strata(corpus)
    counts = pd.Series(y).value_counts()
    if counts.max() >= n_folds:
        splitter: KFold | StratifiedKFold = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # rare classes simply miss some folds
        warnings.filterwarnings("ignore", message="The least populated class")
        train, test = list(splitter.split(np.zeros(n), y))[fold]
    train, dev = _two_way(train, dev_fraction, y, seed)
    return _assemble(n, {"train": train, "dev": dev, "test": test})


@SPLITTERS.register("group_kfold")
def group_kfold(corpus: Corpus, n_folds: int = 5, fold: int = 0, seed: int = 0,
                dev_fraction: float = 0.0, by: str | None = None) -> np.ndarray:
    """No group (``by``, else group, else speaker) spans two splits: speaker-independent folds.

    Groups are shuffled with ``seed`` then dealt largest-first to the smallest fold, so
    fold sizes stay balanced; ``dev_fraction`` moves whole train groups to dev.
    """
    groups = _group_keys(corpus, by)
    names, counts = np.unique(groups, return_counts=True)
    _check_fold(n_folds, fold, len(names), "groups")
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes, fold_of = np.zeros(n_folds), {}
    for i in order:
        target = int(np.argmin(sizes))
        fold_of[names[i]] = target
        sizes[target] += counts[i]
    in_test = np.array([fold_of[g] == fold for g in groups])
    train, dev = _carve_dev_groups(groups, np.flatnonzero(~in_test), dev_fraction, seed)
    return _assemble(len(corpus), {"train": train, "dev": dev, "test": np.flatnonzero(in_test)})


@SPLITTERS.register("leave_one_group_out")
def leave_one_group_out(corpus: Corpus, test_group: str, by: str | None = None,
                        dev_fraction: float = 0.0, seed: int = 0) -> np.ndarray:
    """``test_group`` (e.g. IEMOCAP's "Session5") is test, every other group trains."""
    groups = _group_keys(corpus, by)
    if str(test_group) not in set(groups):
        known = ", ".join(sorted(set(groups))[:20])
        raise ConfigError(f"test_group {test_group!r} not found; groups: {known}")
    in_test = groups == str(test_group)
    train, dev = _carve_dev_groups(groups, np.flatnonzero(~in_test), dev_fraction, seed)
    return _assemble(len(corpus), {"train": train, "dev": dev, "test": np.flatnonzero(in_test)})


@SPLITTERS.register("random")
def random_split(corpus: Corpus, train: float = 0.8, dev: float = 0.1, test: float = 0.1,
                 seed: int = 0, stratify: bool = True) -> np.ndarray:
    """Row-level shuffle into the given fractions, label-stratified when classes allow."""
    fractions = {"train": train, "dev": dev, "test": test}
    if any(f < 0 for f in fractions.values()) or train <= 0 or abs(sum(fractions.values()) - 1) > 1e-6:
        raise ConfigError(f"random split fractions must be >= 0, train > 0 and sum to 1, got {fractions}")
    y = _strata(corpus) if stratify else None
    rest, test_idx = _two_way(np.arange(len(corpus)), test, y, seed)
    train_idx, dev_idx = _two_way(rest, dev / (train + dev), y, seed)
    return _assemble(len(corpus), {"train": train_idx, "dev": dev_idx, "test": test_idx})


def apply_split(corpus: Corpus, name: str, **options: Any) -> Corpus:
    """A new corpus whose ``split`` column comes from splitter ``name``; ``meta['split']`` says how."""
    splitter = SPLITTERS.get(name)
    try:
        inspect.signature(splitter).bind(corpus, **options)
    except TypeError as exc:
        params = [p for p in inspect.signature(splitter).parameters if p != "corpus"]
        raise ConfigError(f"splitter {name!r}: {exc}; options: {', '.join(params)}") from None
    table = corpus.table.copy()
    table["split"] = splitter(corpus, **options)
    result = corpus.with_table(table)
    result.meta["split"] = {"splitter": name, **options}
    return result


def _examples(values: set, k: int = 3) -> str:
    return ", ".join(map(repr, sorted(values, key=str)[:k]))


def check_leakage(corpus: Corpus) -> list[str]:
    """Warnings about things shared between splits: speakers (train/test), whole dialogues
    (any two splits) and verbatim texts (train/test). Empty list = nothing found."""
    table = corpus.table
    split = table["split"]
    warnings_: list[str] = []

    def values(column: str, name: str) -> set:
        return set(table.loc[split == name, column].dropna())

    speakers = values("speaker", "train") & values("speaker", "test")
    if speakers:
        warnings_.append(
            f"{corpus.name}: {len(speakers)} speakers occur in both train and test (e.g. "
            f"{_examples(speakers)}); scores are speaker-dependent, use group_kfold or "
            "leave_one_group_out for speaker-independent results"
        )
    spread = table.dropna(subset=["dialogue", "split"]).groupby("dialogue")["split"].nunique()
    spread = set(spread[spread > 1].index)
    if spread:
        warnings_.append(
            f"{corpus.name}: {len(spread)} dialogues are spread over several splits (e.g. "
            f"{_examples(spread)}); context leaks between them, group_kfold with by='dialogue' avoids it"
        )
    texts = values("text", "train") & values("text", "test")
    if texts:
        warnings_.append(
            f"{corpus.name}: {len(texts)} test texts also occur verbatim in train (e.g. {_examples(texts)})"
        )
    return warnings_
