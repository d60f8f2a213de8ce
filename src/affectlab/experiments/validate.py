"""Registry names in a config are checked when it is loaded, not when a run reaches them.

``validate_names(config)`` raises one ConfigError listing every name no registry knows (with
the names it does know), so a grid with a misspelt axis value fails at ``load_grid`` — before
any feature extraction — instead of in N failed runs.

Registries are read only when a config is validated (imports inside the functions), so this
module adds no import to ``experiments.config``; a new checked name is one line in ``CHECKS``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from ..errors import ConfigError

if TYPE_CHECKING:
    from .config import ExperimentConfig


def _models() -> Iterable[str]:
    from ..models import MODELS

    return MODELS.names()


def _aggregators() -> Iterable[str]:
    from ..models import AGGREGATORS

    return AGGREGATORS.names()


def _losses() -> Iterable[str]:
    from ..training.losses import LOSSES

    return LOSSES.names()


def _poolings() -> Iterable[str]:
    from ..features.pooling import POOLERS

    return list(POOLERS)


def _layers() -> Iterable[str]:
    from ..features.layers import LAYER_COMBINATIONS, STACK_LAST4

    return [*LAYER_COMBINATIONS, STACK_LAST4]


def _metrics() -> Iterable[str]:
    from ..evaluation.metrics import METRICS

    return METRICS.names()


def _splitters() -> Iterable[str]:
    from ..corpora.splits import SPLITTERS

    return SPLITTERS.names()


def _corpora() -> Iterable[str]:
    from ..corpora import LOADERS  # importing the package registers every loader

    return LOADERS.names()


#: config path → (what it names, how to read the value, the registered names)
CHECKS: dict[str, tuple[str, Callable[["ExperimentConfig"], str], Callable[[], Iterable[str]]]] = {
    "data.corpus": ("corpus", lambda c: c.data.corpus, _corpora),
    "data.split.name": ("splitter", lambda c: c.data.split.name, _splitters),
    "features.layers": ("layer combination", lambda c: c.features.layers, _layers),
    "features.pooling": ("pooling", lambda c: c.features.pooling, _poolings),
    "model.name": ("model", lambda c: c.model.name, _models),
    "model.aggregator": ("aggregator", lambda c: c.model.aggregator, _aggregators),
    "loss.name": ("loss", lambda c: c.loss.name, _losses),
    "training.monitor": ("metric", lambda c: c.training.monitor, _metrics),
}


def name_problems(config: "ExperimentConfig") -> list[str]:
    """One line per registry name in ``config`` that nothing is registered under."""
    problems = []
    for path, (kind, read, known) in CHECKS.items():
        value = read(config)
        names = list(known())
        if value not in names:
            problems.append(f"{path}: unknown {kind} {value!r}; known: {', '.join(sorted(names))}")
    return problems


def validate_names(config: "ExperimentConfig", source: str = "") -> None:
    """Raise one ConfigError listing every unknown registry name in ``config``."""
    problems = name_problems(config)
    if problems:
        where = f" {source}" if source else ""
        raise ConfigError(f"invalid config{where}: " + "; ".join(problems))
