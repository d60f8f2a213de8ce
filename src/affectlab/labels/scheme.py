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
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"scheme {self.name!r} has duplicate classes")

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def canonical(self, raw: Any) -> str:
        key = str(raw).strip().lower()
        key = self.aliases.get(key, key)
        return key

    def encode(self, labels: Sequence[Any]) -> np.ndarray:
        """Single-label: int array of class ids. Multi-label: {0,1} float matrix.

        Unknown labels raise one ``LabelError`` listing every offending value.
        """
        index = self.index
        unknown: set[str] = set()
        if self.multi_label:
            out = np.zeros((len(labels), len(self)), dtype=np.float32)
            for row, value in enumerate(labels):
                items = [value] if isinstance(value, str) else list(value)
                for item in items:
                    key = self.canonical(item)
                    if key in index:
                        out[row, index[key]] = 1.0
                    else:
                        unknown.add(str(item))
        else:
            out = np.zeros(len(labels), dtype=np.int64)
            for row, value in enumerate(labels):
                key = self.canonical(value)
                if key in index:
                    out[row] = index[key]
                else:
                    unknown.add(str(value))
        if unknown:
            raise LabelError(
                f"labels not in scheme {self.name!r} ({', '.join(self.classes)}): "
                f"{', '.join(sorted(unknown)[:20])}"
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
