"""On-disk array cache: one .npy per feature variant, written atomically, read memory-mapped."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_write, stable_hash, write_json


def default_cache_dir() -> Path:
    return Path(os.environ.get("AFFECTLAB_CACHE", Path.home() / ".cache" / "affectlab"))


class FeatureCache:
    """A directory per (corpus, extractor settings); a file per variant inside it."""

    def __init__(self, root: str | Path | None, key: dict) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.key = key
        self.dir = self.root / stable_hash(key, 20)

    def _file(self, name: str) -> Path:
        return self.dir / f"{name}.npy"

    def has(self, name: str) -> bool:
        return self._file(name).is_file()

    def load(self, name: str) -> np.ndarray:
        return np.load(self._file(name), mmap_mode="r")

    def save(self, name: str, array: np.ndarray) -> None:
        if not (self.dir / "key.json").is_file():
            write_json(self.dir / "key.json", self.key)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, np.ascontiguousarray(array))

        atomic_write(self._file(name), write)
