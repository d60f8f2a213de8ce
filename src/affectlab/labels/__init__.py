"""Label schemes, raw-label mappings and text auto-labellers, looked up by name.

Loaders keep datasets' raw labels; this package turns them into a training scheme::

    mapped = map_labels(corpus.table["label"], "iemocap_raw->iemocap4")
    ids = get_mapping("iemocap_raw->iemocap4").target_scheme().encode(kept_rows)
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from . import plutchik
from .catalog import SCHEMES
from .from_config import mapping_for, scheme_and_mapping, scheme_for
from .mappings import LABELLERS, MAPPINGS, LabelMapping, Target, TextLabeller
from .scheme import LabelScheme
from .vader import DEFAULT_THRESHOLDS, VaderLevels

__all__ = [
    "DEFAULT_THRESHOLDS", "LABELLERS", "MAPPINGS", "SCHEMES", "LabelMapping", "LabelScheme",
    "TextLabeller", "VaderLevels", "auto_label", "get_labeller", "get_mapping", "get_scheme",
    "list_labellers", "list_mappings", "list_schemes", "map_labels", "mapping_for", "plutchik",
    "scheme_and_mapping", "scheme_for",
]


def get_scheme(name: str) -> LabelScheme:
    """A fresh copy of a named scheme; unknown names raise ``ConfigError``."""
    return SCHEMES.create(name)


def list_schemes() -> list[str]:
    return SCHEMES.names()


def get_mapping(name: str) -> LabelMapping:
    """A named mapping such as ``"iemocap_raw->iemocap4"``; unknown names raise ``ConfigError``."""
    return MAPPINGS.create(name)


def list_mappings() -> list[str]:
    return MAPPINGS.names()


def map_labels(labels: Iterable[Any], mapping_name: str) -> list[Target]:
    """Apply a named mapping; ``None`` in the result marks rows to drop."""
    return get_mapping(mapping_name).apply(labels)


def get_labeller(name: str, **kwargs: Any) -> TextLabeller:
    """A text labeller such as ``"vader->vader7"``; kwargs configure it (e.g. ``thresholds``)."""
    return LABELLERS.create(name, **kwargs)


def list_labellers() -> list[str]:
    return LABELLERS.names()


def auto_label(texts: Sequence[str], labeller_name: str, **kwargs: Any) -> list[str]:
    """Label raw texts with a named labeller, e.g. ``auto_label(texts, "vader->vader7")``."""
    return get_labeller(labeller_name, **kwargs)(texts)
