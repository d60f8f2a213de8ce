"""Readouts: what a pipeline derives from its task outputs after the forward pass.

A pipeline spec may list ``readouts`` (``{"wheel": {...settings}}``); each is a registered
function of one prediction's task outputs that returns a small dict, added to
``Prediction.extras`` under its name. ``wheel`` places a Plutchik prediction on the wheel: the
named state (one of the 32: a primary at its intensity band, or a primary dyad), the primaries
present, and conflicts (opposite primaries both present).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .registry import Registry

READOUTS: Registry[Callable[..., dict[str, Any]]] = Registry("readout")

#: The state reported when no primary is above its threshold (not one of the 32).
NO_EMOTION = "neutral"


@READOUTS.register("wheel")
def wheel(tasks: Mapping[str, Mapping[str, Any]], *, task: str = "label", threshold: Any = 0.5,
          intensity: str | None = None, bands: Sequence[float] = (0.33, 0.66)) -> dict[str, Any]:
    """The wheel reading of task ``task``'s primary probabilities. ``threshold`` is the task's
    (chosen on dev); the band comes from the ``intensity`` task's value when the pipeline has
    one (cut at ``bands``, chosen on dev), else from the top primary's own probability."""
    from .labels.plutchik import PRIMARIES, read_wheel

    probabilities = tasks[task]["probabilities"]
    scores = {p: float(probabilities[p]) for p in PRIMARIES}
    level = None
    if intensity is not None and intensity in tasks:
        level = float(np.clip(next(iter(tasks[intensity]["values"].values())), 0.0, 1.0))
    reading = read_wheel(scores, threshold=threshold, intensity=level, bands=tuple(bands)).to_dict()
    if not reading["primaries"]:  # nothing present: no state of the wheel applies
        reading.update(state=NO_EMOTION, dyad=None, band=None)
    if level is not None:
        reading["intensity"] = round(level, 6)
    return reading


def apply_readouts(readouts: Mapping[str, Mapping[str, Any]], tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every readout of a spec over one prediction's task outputs."""
    return {name: READOUTS.get(name)(tasks, **settings) for name, settings in readouts.items()}


def has_plutchik_primaries(classes: Sequence[str]) -> bool:
    from .labels.plutchik import PRIMARIES

    return set(PRIMARIES) <= set(classes)
