"""The one utterance table every modality and model reads."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFormatError

#: Columns every corpus has (missing ones are filled with None by ``Corpus``).
COLUMNS: tuple[str, ...] = (
    "uid", "text", "audio", "video", "pose", "label", "split",
    "speaker", "group", "dialogue", "turn",
)


@dataclass
class Corpus:
    """A validated table with one row per utterance.

    ``label`` holds the dataset's raw label: a string for single-label corpora and a
    tuple of strings for multi-label ones. Mapping to a training scheme happens in
    :mod:`affectlab.labels`, never in a loader. ``dialogue`` keys are unique across
    splits (loaders prefix them with the split when the dataset restarts ids).
    """

    name: str
    table: pd.DataFrame
    root: Path | None = None
    multi_label: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = self.table.copy()
        for column in COLUMNS:
            if column not in table.columns:
                table[column] = None
        extra = [c for c in table.columns if c not in COLUMNS]
        table = table[list(COLUMNS) + extra].reset_index(drop=True)
        if table["uid"].isna().any():
            raise DataFormatError(f"corpus {self.name!r}: every row needs a uid")
        duplicated = table["uid"][table["uid"].duplicated()]
        if len(duplicated):
            raise DataFormatError(
                f"corpus {self.name!r}: duplicate uids, e.g. {list(duplicated[:3])}"
            )
        table["uid"] = table["uid"].astype(str)
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    @property
    def splits(self) -> list[str]:
        return sorted(s for s in self.table["split"].dropna().unique())

    def subset(self, split: str | list[str]) -> "Corpus":
        wanted = [split] if isinstance(split, str) else list(split)
        part = self.table[self.table["split"].isin(wanted)]
        return Corpus(self.name, part, self.root, self.multi_label, dict(self.meta))

    def with_table(self, table: pd.DataFrame) -> "Corpus":
        return Corpus(self.name, table, self.root, self.multi_label, dict(self.meta))

    def fingerprint(self) -> str:
        """Content hash of uids, texts, audio paths, labels and dialogue order: the key for
        feature caches. The split is left out: features never depend on it (IDF pooling keys its
        own fit rows), so every fold of a cross-validation shares one extraction."""
        digest = hashlib.sha256()
        digest.update(self.name.encode())
        for column in ("uid", "text", "audio", "label", "dialogue", "turn"):
            values = self.table[column].map(lambda v: "" if v is None else str(v))
            digest.update(column.encode())
            digest.update("\x1f".join(values).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:16]

    def label_counts(self, split: str | None = None) -> dict[str, int]:
        table = self.table if split is None else self.table[self.table["split"] == split]
        labels = table["label"].explode() if self.multi_label else table["label"]
        return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}

    def __repr__(self) -> str:
        by_split = self.table["split"].value_counts().to_dict()
        return f"Corpus({self.name!r}, {len(self)} utterances, splits={by_split})"
