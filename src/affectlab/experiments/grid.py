"""Grids: a base config x axes (dotted config paths) x seeds, expanded into runs.

A grid file is data, e.g.::

    name: meld_flat_grid
    base: meld_text_flat.yaml          # relative to this file
    axes:
      features.layers: [last, avg_last4]
      model.name: [mlp, lstm]
    seeds: {start: 42, count: 10}      # or a list
    set: {training.patience: 20}       # fixed overrides for every run
    drop: [tasks.goemotions, sources.goemotions]   # parts of the base left out (a list entry
                                       # by its name or its data.corpus)
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._io import stable_hash
from ..errors import ConfigError, DataNotFoundError
from .config import (ExperimentConfig, _format_validation, config_from_dict, config_identity,
                     read_yaml_mapping)


class SeedRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = 42
    count: int = Field(10, ge=1)


class GridFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    base: str | dict[str, Any]
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] | SeedRange = Field(default_factory=SeedRange)
    set: dict[str, Any] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)


@dataclass
class Grid:
    name: str
    base: dict[str, Any]
    axes: dict[str, list[Any]]
    seeds: list[int]
    overrides: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def expand(self) -> list[ExperimentConfig]:
        """Every axes combination x every seed, validated; order: configs outer, seeds inner."""
        names = list(self.axes)
        configs = []
        for values in itertools.product(*(self.axes[n] for n in names)):
            point = dict(zip(names, values))
            for seed in self.seeds:
                data = copy.deepcopy(self.base)
                for path in self.dropped:
                    _drop_path(data, path)
                for path, value in {**self.overrides, **point}.items():
                    _set_path(data, path)(value)
                data["seed"] = seed
                data["name"] = self.name
                configs.append(config_from_dict(data, f"(grid {self.name!r}, {point}, seed {seed})"))
        return configs

    def axes_of(self, config: ExperimentConfig) -> dict[str, Any]:
        dumped = config.model_dump(mode="json")
        return {path: _get_path(dumped, path) for path in self.axes}


def _entry(items: list, part: str, path: str, verb: str) -> int:
    """The index of the list entry named ``part`` (its ``name`` or ``data.corpus``)."""
    index = next((i for i, item in enumerate(items) if isinstance(item, dict) and
                  part in (item.get("name"), (item.get("data") or {}).get("corpus"))), None)
    if index is None:
        raise ConfigError(f"grid {verb} {path!r}: no entry {part!r} in that list")
    return index


def _set_path(data: dict[str, Any], path: str):
    """An assignment to ``path``; a list entry (``sources.mustard...``) is named as in ``drop``."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[_entry(node, part, path, "axis")] if isinstance(node, list) else node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise ConfigError(f"grid axis {path!r}: {part!r} is not a section")

    def assign(value: Any) -> None:
        node[parts[-1]] = value

    return assign


def _drop_path(data: dict[str, Any], path: str) -> None:
    """Remove ``path`` from the config; a list entry is named by its ``name`` or ``data.corpus``."""
    parts = path.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            index = _entry(node, part, path, "drop")
            if last:
                del node[index]
                return
            node = node[index]
        elif isinstance(node, dict) and part in node:
            if last:
                del node[part]
                return
            node = node[part]
        else:
            raise ConfigError(f"grid drop {path!r}: the base config has no {part!r} there")


def _get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node[_entry(node, part, path, "axis")] if isinstance(node, list) else node[part]
    return node


def config_key(config: ExperimentConfig) -> str:
    """Identifies a configuration regardless of its seed (the unit compared across seeds)."""
    data = config_identity(config)
    data.pop("seed")
    return stable_hash(data, 10)


def load_grid(path: str | Path) -> Grid:
    path = Path(path)
    raw = read_yaml_mapping(path, "grid")
    try:
        spec = GridFile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_validation(error, str(path))) from None
    if isinstance(spec.base, str):
        base_path = (path.parent / spec.base).resolve()
        if not base_path.is_file():
            raise DataNotFoundError(f"grid {path}: base config not found: {base_path}")
        base = read_yaml_mapping(base_path, "base config")
    else:
        base = spec.base
    seeds = spec.seeds if isinstance(spec.seeds, list) else list(
        range(spec.seeds.start, spec.seeds.start + spec.seeds.count))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"grid {path}: seeds repeat: {seeds}")
    grid = Grid(spec.name, base, spec.axes, seeds, spec.set, spec.drop)
    grid.expand()  # validate every point now, before any work starts
    return grid
