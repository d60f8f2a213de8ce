"""The pipelines a server answers with, loaded together and swapped atomically on reload."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataNotFoundError
from ..pipeline import Pipeline


@dataclass(frozen=True)
class Served:
    """One immutable set of loaded pipelines; a request keeps the set it started with."""

    pipelines: dict[str, Pipeline]
    default: str

    def get(self, name: str | None) -> tuple[str, Pipeline]:
        name = name or self.default
        if name not in self.pipelines:
            raise KeyError(name)
        return name, self.pipelines[name]


def load_served(folder: str | None, backend: str = "torch") -> Served:
    """Every pipeline directory under ``folder`` by its folder name (or ``folder`` itself when it
    is one pipeline); no folder: the shipped text pipeline as ``default``."""
    if folder is None:
        return Served({"default": Pipeline.default("text", device="cpu")}, "default")
    root = Path(folder)
    if (root / "pipeline.json").is_file():
        return Served({root.name: Pipeline.load(root, device="cpu", backend=backend)}, root.name)
    dirs = sorted(p for p in root.iterdir() if (p / "pipeline.json").is_file()) if root.is_dir() else []
    if not dirs:
        raise DataNotFoundError(f"{root} holds no pipeline directory (a folder with pipeline.json)")
    loaded = {d.name: Pipeline.load(d, device="cpu", backend=backend) for d in dirs}
    return Served(loaded, "default" if "default" in loaded else dirs[0].name)


class PipelineHolder:
    """Holds the current ``Served`` set. ``reload`` builds a new one beside it and swaps the
    reference only when every pipeline loaded; a failure keeps the old set and is raised."""

    def __init__(self, folder: str | None, backend: str = "torch") -> None:
        self.folder, self.backend = folder, backend
        self._lock = threading.Lock()
        self.current = load_served(folder, backend)

    def reload(self) -> Served:
        with self._lock:  # one reload at a time; requests never wait on it
            fresh = load_served(self.folder, self.backend)
            self.current = fresh
            return fresh
