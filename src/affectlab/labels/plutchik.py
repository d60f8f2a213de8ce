"""Plutchik's wheel of emotions as data: primaries, intensity bands, primary dyads.

The wheel is the one of Plutchik (1980, 2001): eight primaries arranged so that
neighbours blend into a *primary dyad* and opposite petals are opposite emotions.
Everything the ``plutchik8`` / ``plutchik32`` schemes and their mapping need is
derived from the three tables below, so they cannot drift apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ..errors import ConfigError, InputError, LabelError

#: The eight primaries in wheel order (clockwise); neighbours are adjacent petals.
PRIMARIES: tuple[str, ...] = (
    "joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation",
)

#: primary -> (mild, basic, intense): the outer, middle and inner ring of a petal.
INTENSITIES: dict[str, tuple[str, str, str]] = {
    "joy": ("serenity", "joy", "ecstasy"),
    "trust": ("acceptance", "trust", "admiration"),
    "fear": ("apprehension", "fear", "terror"),
    "surprise": ("distraction", "surprise", "amazement"),
    "sadness": ("pensiveness", "sadness", "grief"),
    "disgust": ("boredom", "disgust", "loathing"),
    "anger": ("annoyance", "anger", "rage"),
    "anticipation": ("interest", "anticipation", "vigilance"),
}

#: Primary dyads: the blend of two *adjacent* primaries, in wheel order.
DYADS: dict[str, tuple[str, str]] = {
    "love": ("joy", "trust"),
    "submission": ("trust", "fear"),
    "awe": ("fear", "surprise"),
    "disapproval": ("surprise", "sadness"),
    "remorse": ("sadness", "disgust"),
    "contempt": ("disgust", "anger"),
    "aggressiveness": ("anger", "anticipation"),
    "optimism": ("anticipation", "joy"),
}

#: Opposite petals (symmetric): joy-sadness, trust-disgust, fear-anger, surprise-anticipation.
OPPOSITES: dict[str, str] = {p: PRIMARIES[(i + 4) % 8] for i, p in enumerate(PRIMARIES)}

#: Every named state of a state -> its primaries; intensities map to one, dyads to two.
_STATE_PRIMARIES: dict[str, tuple[str, ...]] = {
    **{state: (primary,) for primary, band in INTENSITIES.items() for state in band},
    **DYADS,
}
_DYAD_OF_PAIR: dict[frozenset[str], str] = {frozenset(pair): name for name, pair in DYADS.items()}


def are_adjacent(a: str, b: str) -> bool:
    """True when two primaries are neighbouring petals (and so form a primary dyad)."""
    return frozenset((a, b)) in _DYAD_OF_PAIR


def state_to_primaries(name: str) -> tuple[str, ...]:
    """The primaries behind a named state: ``"rage"`` -> ``("anger",)``, ``"love"`` -> ``("joy", "trust")``."""
    key = str(name).strip().lower()
    try:
        return _STATE_PRIMARIES[key]
    except KeyError:
        raise LabelError(
            f"{name!r} is not a Plutchik state; known: {', '.join(_STATE_PRIMARIES)}"
        ) from None


def primaries_to_state(
    scores: Mapping[str, float],
    *,
    dyad_threshold: float = 0.5,
    bands: tuple[float, float] = (0.33, 0.66),
) -> str:
    """Collapse primary-emotion scores in [0, 1] into one of the 32 named states.

    Rule, in order:

    1. Rank primaries by score (ties keep wheel order); missing primaries score 0.
    2. If the top two are adjacent on the wheel and *both* score strictly above
       ``dyad_threshold``, the answer is their dyad (joy 0.8 + trust 0.7 -> ``love``).
       The default 0.5 asks both feelings to be at least half-strength, so a faint
       second emotion does not turn joy into love.
    3. Otherwise the top primary's intensity band: score ``< bands[0]`` -> mild,
       ``< bands[1]`` -> basic, else intense (so exactly 0.33 is basic and exactly
       0.66 is intense with the defaults).
    """
    if not 0.0 <= dyad_threshold <= 1.0 or math.isnan(dyad_threshold):
        raise ConfigError(f"dyad_threshold must be in [0, 1], got {dyad_threshold!r}")
    if len(bands) != 2 or not 0.0 < bands[0] < bands[1] <= 1.0:
        raise ConfigError(f"bands must be two increasing cut points in (0, 1], got {bands!r}")
    unknown = sorted(str(k) for k in scores if k not in INTENSITIES)
    if unknown:
        raise LabelError(f"not Plutchik primaries: {', '.join(unknown)}; known: {', '.join(PRIMARIES)}")
    bad = {k: v for k, v in scores.items() if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0)}
    if bad:
        raise InputError(f"primary scores must be numbers in [0, 1], got {bad}")
    ranked = sorted(PRIMARIES, key=lambda p: -float(scores.get(p, 0.0)))  # stable: wheel order on ties
    first, second = ranked[0], ranked[1]
    top = float(scores.get(first, 0.0))
    if top <= 0.0:
        raise InputError("no primary has a positive score; cannot name a state")
    if are_adjacent(first, second) and min(top, float(scores.get(second, 0.0))) > dyad_threshold:
        return _DYAD_OF_PAIR[frozenset((first, second))]
    band = 0 if top < bands[0] else 1 if top < bands[1] else 2
    return INTENSITIES[first][band]


@dataclass(frozen=True)
class WheelReading:
    """Where a prediction sits on the wheel: the named ``state`` (one of the 32), the primaries
    above threshold, the dyad when two adjacent ones fire together, the intensity band of the
    top primary, and ``conflicts``: opposite primaries firing together (joy with sadness, ...),
    reported rather than averaged into a state that neither is."""

    state: str
    primaries: tuple[str, ...]
    dyad: str | None
    band: str  # mild | basic | intense
    conflicts: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {"state": self.state, "primaries": list(self.primaries), "dyad": self.dyad, "band": self.band,
                "conflicts": [list(pair) for pair in self.conflicts]}


BANDS = ("mild", "basic", "intense")


def read_wheel(scores: Mapping[str, float], *, threshold: float | Mapping[str, float] = 0.5,
               intensity: float | None = None, bands: tuple[float, float] = (0.33, 0.66)) -> WheelReading:
    """The wheel reading of 8 primary probabilities (multi-label: each in [0, 1]).

    ``threshold`` (one value, or one per primary: choose them on dev) says which primaries are
    present. Two *adjacent* present primaries, the strongest adjacent pair, give their dyad;
    otherwise the state is the top primary at the band of ``intensity`` (an intensity head's
    output in [0, 1]) or, without one, of its own probability — the same bands as
    ``primaries_to_state``. Opposite primaries both present are listed in ``conflicts``.
    """
    if len(bands) != 2 or not 0.0 < bands[0] < bands[1] <= 1.0:
        raise ConfigError(f"bands must be two increasing cut points in (0, 1], got {bands!r}")
    unknown = sorted(str(k) for k in scores if k not in INTENSITIES)
    if unknown:
        raise LabelError(f"not Plutchik primaries: {', '.join(unknown)}; known: {', '.join(PRIMARIES)}")
    values = {p: float(scores.get(p, 0.0)) for p in PRIMARIES}
    if any(not 0.0 <= v <= 1.0 or math.isnan(v) for v in values.values()):
        raise InputError(f"primary scores must be numbers in [0, 1], got {dict(scores)}")
    if intensity is not None and not 0.0 <= float(intensity) <= 1.0:
        raise InputError(f"intensity must be in [0, 1], got {intensity!r}")
    cut = {p: float(threshold[p]) if isinstance(threshold, Mapping) else float(threshold) for p in PRIMARIES}
    present = tuple(sorted((p for p in PRIMARIES if values[p] >= cut[p]), key=lambda p: -values[p]))
    conflicts = tuple((a, OPPOSITES[a]) for a in PRIMARIES[:4] if a in present and OPPOSITES[a] in present)
    pairs = [(min(values[a], values[b]), name) for name, (a, b) in DYADS.items() if a in present and b in present]
    top = max(PRIMARIES, key=lambda p: values[p])  # wheel order on ties
    level = values[top] if intensity is None else float(intensity)
    band = 0 if level < bands[0] else 1 if level < bands[1] else 2
    dyad = max(pairs)[1] if pairs else None
    return WheelReading(dyad or INTENSITIES[top][band], present, dyad, BANDS[band], conflicts)
