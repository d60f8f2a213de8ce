"""Label schemes: ordered classes, single- or multi-label, encode/decode with clear errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import LabelError


@dataclass(frozen=True)
class LabelScheme:
    """An ordered set of class names; index ``i`` in a model's output is ``classes[i]``."""

    name: str
    classes: tuple[str, ...]
    multi_label: bool = False
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        folded = [_fold(c) for c in self.classes]
        if len(set(folded)) != len(folded):
            raise ValueError(f"scheme {self.name!r} has duplicate classes (compared ignoring case)")

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def lookup(self) -> dict[str, str]:
        """Stripped lower-case spelling (of a class or an alias) -> the class as the scheme
        spells it. Raw labels are matched ignoring case; an alias wins over a class name."""
        table = {_fold(c): c for c in self.classes}
        by_fold = dict(table)
        for alias, target in self.aliases.items():
            cls = by_fold.get(_fold(target))
            if cls is not None:
                table[_fold(alias)] = cls
        return table

    def canonical(self, raw: Any) -> str:
        """The class ``raw`` names, in the scheme's own spelling (matched ignoring case and
        through aliases); an unknown label comes back stripped and lower-cased."""
        key = _fold(raw)
        return self.lookup().get(key, key)

    def encode(self, labels: Sequence[Any]) -> np.ndarray:
        """Single-label: int array of class ids. Multi-label: {0,1} float matrix.

        Raw labels match classes ignoring case and surrounding spaces (and through
        ``aliases``); unknown labels raise one ``LabelError`` listing each offending raw
        value once, then the scheme's classes.
        """
        index = self.index
        lookup = {key: index[cls] for key, cls in self.lookup().items()}
        unknown: dict[str, str] = {}  # folded -> first spelling seen: each label once
        several: list[Any] = []
        missing = sum(_is_missing(v) for v in labels)
        if missing:
            raise LabelError(
                f"{missing} of {len(labels)} row(s) have no label (empty cell) for scheme "
                f"{self.name!r}; fill them in or remove those rows from the data"
            )
        if self.multi_label:
            out = np.zeros((len(labels), len(self)), dtype=np.float32)
            for row, value in enumerate(labels):
                items = [value] if isinstance(value, str) else list(value)
                for item in items:
                    i = lookup.get(_fold(item))
                    if i is None:
                        unknown.setdefault(_fold(item), str(item).strip())
                    else:
                        out[row, i] = 1.0
        else:
            out = np.zeros(len(labels), dtype=np.int64)
            for row, value in enumerate(labels):
                if isinstance(value, (tuple, list)):
                    several.append(value)
                    continue
                i = lookup.get(_fold(value))
                if i is None:
                    unknown.setdefault(_fold(value), str(value).strip())
                else:
                    out[row] = i
        if several:
            raise LabelError(
                f"scheme {self.name!r} is single-label but {len(several)} row(s) hold several "
                f"labels (e.g. {list(several[0])}); set labels.multi_label: true, or map each raw "
                "value to one class with labels.map"
            )
        if unknown:
            raise LabelError(
                f"{len(unknown)} raw label(s) are not classes of scheme {self.name!r}: "
                f"{_listing(sorted(unknown.values(), key=str.lower))}; its classes are: "
                f"{', '.join(self.classes)}. Map them in the config with labels.map "
                "(raw: class, or null to drop those rows) or labels.aliases"
            )
        return out

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.classes[int(i)] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "classes": list(self.classes),
            "multi_label": self.multi_label,
            "description": self.description,
            "aliases": dict(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelScheme":
        return cls(
            name=data["name"],
            classes=tuple(data["classes"]),
            multi_label=bool(data.get("multi_label", False)),
            description=data.get("description", ""),
            aliases=dict(data.get("aliases", {})),
        )


def _fold(value: Any) -> str:
    """The spelling labels are compared in: stripped, lower case."""
    return str(value).strip().lower()


def _listing(values: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
