"""Splitters: fill a corpus's ``split`` column (train/dev/test) reproducibly from a seed.

A splitter is ``f(corpus, **options) -> array of split names`` aligned with the table rows;
:func:`apply_split` runs one by name and records the recipe in ``meta['split']`` and
``meta['split_protocol']``. Group values (``group``/``speaker``/``by``) may be ints or strings:
they are compared as text, with integral floats written as ints (``3.0`` -> ``"3"``).
"""
from __future__ import annotations

import inspect
import re
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

#: Spellings of the three split names that datasets use (compared stripped, in lower case).
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "dev": "dev", "val": "dev", "valid": "dev", "validation": "dev", "development": "dev",
    "test": "test", "testing": "test",
}
#: What to do when a corpus has no (complete) split of its own.
NO_SPLIT_ADVICE = (
    "add a split column (train/dev/test; val, valid and validation count as dev), pass per-split "
    "files with data.options.paths: {train: ..., dev: ..., test: ...}, or choose a splitter, e.g. "
    "data.split.name: stratified_kfold (with data.split.options.dev_fraction: 0.1), group_kfold "
    "or random"
)


def canonical_split(value: Any) -> str | None:
    """``train``/``dev``/``test`` for any usual spelling (``VAL``, ``Validation`` -> ``dev``),
    else None."""
    return None if _is_missing(value) else SPLIT_ALIASES.get(str(value).strip().lower())


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
            "set data.split.options.by: <column> or use data.split.name: stratified_kfold"
        )
    keys = table[column]
    missing = keys.isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} rows have no {column}; each is its own group", stacklevel=3)
    names = keys.map(lambda v: None if _is_missing(v) else _group_name(v))
    return np.where(missing, "uid:" + table["uid"], names).astype(object)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _group_name(value: Any) -> str:
    """A group value as text; integral numbers without a decimal point (an int column with a
    gap becomes float in pandas, and ``3.0`` must still be group ``"3"``)."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


_INT_RE = re.compile(r"^[+-]?\d+$")


def _group_match_key(value: Any) -> str:
    """Key under which a fold entry and a group value meet: ints and digit strings compare as
    numbers (``1``, ``"1"`` and ``"01"`` are one actor), everything else as text."""
    name = _group_name(value)
    return str(int(name)) if _INT_RE.match(name) else name


def _carve_dev_groups(
    groups: np.ndarray, train: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move whole random train groups to dev until ``fraction`` of the train rows is reached.

    With one training group (TESS: two speakers, one of them is test) no group can move, so
    dev becomes a random ``fraction`` of that group's rows, with a warning: dev then shares a
    speaker with train (it only picks the epoch), while test stays speaker-independent."""
    if fraction <= 0:
        return train, train[:0]
    names, counts = np.unique(groups[train], return_counts=True)
    if len(names) < 2:
        if len(train) < 2:
            raise ConfigError("dev_fraction needs at least two training rows")
        n_dev = min(max(1, round(fraction * len(train))), len(train) - 1)
        is_dev = np.zeros(len(train), dtype=bool)
        is_dev[np.random.default_rng(seed).permutation(len(train))[:n_dev]] = True
        warnings.warn(f"only one training group ({_examples(set(names))}): dev is {n_dev} of its rows, so "
                      "dev shares that group with train (test stays group-independent)", stacklevel=4)
        return train[~is_dev], train[is_dev]
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
def predefined(corpus: Corpus, require: Sequence[str] = ("train", "test"), dev_fraction: float = 0.0,
               seed: int = 0) -> np.ndarray:
    """Keep the dataset's own split (``val``/``validation``/``valid``, any case, read as dev);
    refuse rows without one, values that are no split name, and missing required splits.

    ``dev_fraction`` carves a dev split out of train for datasets released as train/test only
    (iSarcasmEval, many user files): whole dialogues when the corpus has them (no conversation
    on both sides), else label-stratified rows; test is never touched."""
    raw = corpus.table["split"]
    if raw.isna().any():
        raise ConfigError(
            f"corpus {corpus.name!r} has no predefined split for {int(raw.isna().sum())} of "
            f"{len(raw)} rows; {NO_SPLIT_ADVICE}"
        )
    split = raw.map(lambda v: canonical_split(v) or v)
    odd = sorted({str(v) for v in split if v not in ("train", "dev", "test")})
    if odd:
        raise ConfigError(
            f"corpus {corpus.name!r}: split values {', '.join(map(repr, odd[:10]))} are not train, dev "
            "or test (val, valid, validation also mean dev); rename them in the split column"
        )
    missing = [s for s in require if s not in set(split)]
    if missing:
        raise ConfigError(f"corpus {corpus.name!r} has no {missing} split (has {sorted(set(split))}); "
                          f"{NO_SPLIT_ADVICE}")
    split = split.to_numpy(dtype=object)
    if dev_fraction:
        if not 0 < dev_fraction < 1:
            raise ConfigError(f"data.split.options.dev_fraction must be between 0 and 1, got {dev_fraction}")
        if "dev" in set(split):
            raise ConfigError(f"corpus {corpus.name!r} has its own dev split; drop data.split.options.dev_fraction")
        train = np.flatnonzero(split == "train")
        dialogues = corpus.table["dialogue"] if "dialogue" in corpus.table.columns else None
        if dialogues is not None and dialogues.notna().any():
            groups = np.where(dialogues.isna(), "uid:" + corpus.table["uid"].astype(str),
                              dialogues.astype(str)).astype(object)
            _, dev = _carve_dev_groups(groups, train, dev_fraction, seed)
        else:
            _, dev = _two_way(train, dev_fraction, _strata(corpus), seed)
        split[dev] = "dev"
    return split


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


@SPLITTERS.register("group_folds")
def group_folds(corpus: Corpus, folds: Sequence[Sequence[Any]] | None = None, fold: int = 0,
                by: str | None = None, dev: str | None = "next") -> np.ndarray:
    """Predefined speaker-independent folds: ``folds[fold]`` lists the test groups.

    ``folds`` (a list of lists of group values) defaults to ``corpus.meta['folds']``; RAVDESS
    carries EmoBox's 6 folds of 4 actors there. Groups come from ``by``, else ``group``, else
    ``speaker``; fold entries may be ints or strings (``1``, ``"1"`` and ``"01"`` match).
    Test = the groups of fold ``fold``; with ``dev="next"``, dev = the groups of fold
    ``(fold + 1) % k``, so model selection never sees a test speaker; train = every other
    group, including groups that no fold lists. ``dev=None`` gives train/test only.

    EmoBox itself has no dev part (it trains on the other k-1 folds and reports the test
    fold); carving dev from the training actors, as ``dev="next"`` does, is our addition, so
    train holds k-2 folds. Use ``dev=None`` to train on the same actors as EmoBox.
    """
    if folds is None:
        folds = corpus.meta.get("folds")
        if folds is None:
            raise ConfigError(
                f"group_folds needs data.split.options.folds: [[test groups of fold 0], [of fold 1], ...]; corpus "
                f"{corpus.name!r} has no meta['folds'] to use instead"
            )
    if isinstance(folds, (str, bytes)) or not all(
            isinstance(f, (list, tuple, set, frozenset, np.ndarray)) and len(f) for f in folds):
        raise ConfigError(f"group_folds: folds must be a list of non-empty lists of groups, got {folds!r}")
    folds = [list(f) for f in folds]
    k = len(folds)
    if k < 2 or not 0 <= fold < k:
        raise ConfigError(f"group_folds: need at least 2 folds and 0 <= fold < {k}, got fold={fold}")
    if dev not in ("next", None):
        raise ConfigError(f"group_folds: dev must be 'next' or None, got {dev!r}")
    fold_of: dict[str, int] = {}
    for index, entries in enumerate(folds):
        for entry in entries:
            key = _group_match_key(entry)
            if fold_of.setdefault(key, index) != index:
                raise ConfigError(f"group_folds: group {entry!r} is in folds {fold_of[key]} and {index}")
    groups = _group_keys(corpus, by)
    keys = np.array([_group_match_key(g) for g in groups], dtype=object)
    present = set(keys)
    test_keys = {_group_match_key(e) for e in folds[fold]}
    if not test_keys & present:
        known = ", ".join(sorted(set(groups), key=str)[:20])
        raise ConfigError(
            f"group_folds: none of the test groups of fold {fold} ({folds[fold]}) occur in corpus "
            f"{corpus.name!r}; its groups: {known}"
        )
    absent = sorted({str(e) for f in folds for e in f if _group_match_key(e) not in present})
    if absent:
        warnings.warn(f"group_folds: {len(absent)} fold groups are not in the corpus: {absent[:10]}",
                      stacklevel=3)
    dev_keys = {_group_match_key(e) for e in folds[(fold + 1) % k]} if dev == "next" else set()
    in_test = np.isin(keys, list(test_keys))
    in_dev = np.isin(keys, list(dev_keys)) & ~in_test
    train = np.flatnonzero(~in_test & ~in_dev)
    if not len(train):
        raise ConfigError(f"group_folds: no training groups left with {k} folds and dev={dev!r}")
    return _assemble(len(corpus), {"train": train, "dev": np.flatnonzero(in_dev),
                                   "test": np.flatnonzero(in_test)})


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


def _bind(name: str, corpus: Corpus, options: dict[str, Any]) -> Splitter:
    splitter = SPLITTERS.get(name)
    try:
        inspect.signature(splitter).bind(corpus, **options)
    except TypeError as exc:
        params = [p for p in inspect.signature(splitter).parameters if p != "corpus"]
        raise ConfigError(f"splitter {name!r}: {exc}; options: {', '.join(params)}") from None
    return splitter


def _default_protocol(corpus: Corpus) -> tuple[str, dict[str, Any]] | None:
    """The corpus's ``meta['default_split']`` when its ``split`` column is entirely empty."""
    default = corpus.meta.get("default_split")
    if not default or not corpus.table["split"].isna().all():
        return None
    if not isinstance(default, dict) or "name" not in default:
        raise ConfigError(f"corpus {corpus.name!r}: meta['default_split'] must be "
                          f"{{'name': ..., 'options': {{...}}}}, got {default!r}")
    return str(default["name"]), dict(default.get("options") or {})


def apply_split(corpus: Corpus, name: str, **options: Any) -> Corpus:
    """A new corpus whose ``split`` column comes from splitter ``name``; ``meta['split']`` and
    ``meta['split_protocol']`` say how.

    ``"predefined"`` on a corpus without any split but with ``meta['default_split']`` (the
    speech corpora: RAVDESS's EmoBox folds, speaker-independent k-fold for the others) runs
    that protocol instead; ``require`` is then checked on its result, and
    ``meta['split_protocol']`` names the protocol with ``"default_for": "predefined"``.
    """
    splitter = _bind(name, corpus, options)
    protocol: dict[str, Any] = {"name": name, "options": dict(options)}
    default = _default_protocol(corpus) if name == "predefined" else None
    if default is not None:
        require = options.get("require", ("train", "test"))
        name, options = default
        splitter = _bind(name, corpus, options)
        protocol = {"name": name, "options": dict(options), "default_for": "predefined"}
    split = splitter(corpus, **options)
    if default is not None:
        missing = [s for s in require if s not in set(split)]
        if missing:
            raise ConfigError(f"corpus {corpus.name!r}: its default split {name!r} {options} "
                              f"has no {missing} part")
    table = corpus.table.copy()
    table["split"] = split
    result = corpus.with_table(table)
    result.meta["split"] = {"splitter": name, **options}
    result.meta["split_protocol"] = protocol
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
