"""Dataset loaders (one module per dataset, registered by name) and splitters.

``load_corpus("meld", data_root)`` reads a dataset in the layout its authors publish and
returns a :class:`Corpus`; ``apply_split`` assigns train/dev/test for datasets without one.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..errors import AffectLabError, ConfigError
from ._common import DATA_ROOT_ENV, LOADERS, resolve_root
from .corpus import COLUMNS, Corpus
from .splits import SPLITTERS, Splitter, apply_split, check_leakage

# Imported for their @register side effect.
from . import goemotions, iemocap, meld, mustard, tabular, xed  # noqa: E402,F401  isort: skip
from . import emobank, isarcasmeval, sarcasm_headlines  # noqa: E402,F401  isort: skip
from . import cremad, emodb, ravdess, savee, tess  # noqa: E402,F401  isort: skip

__all__ = [
    "COLUMNS", "Corpus", "DATA_ROOT_ENV", "LOADERS", "SPLITTERS", "Splitter",
    "apply_split", "check_leakage", "corpus_status", "list_corpora", "load_corpus",
]


def list_corpora() -> list[str]:
    """Names ``load_corpus`` accepts."""
    return LOADERS.names()


def load_corpus(name: str, /, data_root: str | Path | None = None, **options: Any) -> Corpus:
    """Load dataset ``name`` from ``data_root`` (default ``$AFFECTLAB_DATA_ROOT``).

    ``options`` are the loader's keyword arguments (e.g. ``splits=["train"]`` for MELD);
    unknown ones raise a ConfigError that lists the valid ones. ``name`` is positional-only
    so ``tabular`` can take a ``name=`` option.
    """
    loader = LOADERS.get(name)
    try:
        inspect.signature(loader).bind(data_root=data_root, **options)
    except TypeError:
        valid = [p for p in inspect.signature(loader).parameters if p != "data_root"]
        unknown = sorted(set(options) - set(valid))
        raise ConfigError(
            f"corpus loader {name!r} has no option(s) {unknown}; options: {', '.join(valid) or 'none'}"
        ) from None
    return loader(data_root=data_root, **options)


def corpus_status(data_root: str | Path | None = None) -> dict[str, bool | None]:
    """Which datasets are present under the root: True/False, None for loaders without a
    fixed location (``tabular``). Only checks for files; nothing is parsed."""
    root = resolve_root(data_root)
    status: dict[str, bool | None] = {}
    for name in LOADERS.names():
        locate = getattr(LOADERS.get(name), "locate", None)
        if locate is None:
            status[name] = None
            continue
        try:
            locate(root)
            status[name] = True
        except AffectLabError:
            status[name] = False
    return status
