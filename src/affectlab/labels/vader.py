"""Auto-label text into the ordinal ``vader7`` scheme from VADER's compound score.

Used to give unlabelled text corpora a weak sentiment target. VADER (Hutto &
Gilbert, ICWSM 2014) is lexicon-based and offline (package ``nltk-vader-sentiment``).

Default cut points on the compound score in [-1, 1]::

    -0.75   -0.5   -0.05   0.05   0.5   0.75
      | ext.neg | very neg | neg | neutral | pos | very pos | ext.pos |

The +/-0.05 neutral band is Hutto & Gilbert's recommended one; the outer cuts
split each polarity symmetrically. A value exactly on a cut goes to the bin
*farther from zero*, matching VADER's ``compound >= 0.05`` is positive and
``compound <= -0.05`` is negative: -0.05 is ``negative``, 0.05 ``positive``,
-0.5 ``very_negative``, 0.75 ``extremely_positive``. A cut at exactly 0 puts 0
in the upper bin.
"""
from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from numbers import Real
from typing import Any, Iterable, Sequence

from ..errors import ConfigError, InputError
from .catalog import SCHEMES
from .mappings import LABELLERS

SCHEME = "vader7"
DEFAULT_THRESHOLDS: tuple[float, ...] = (-0.75, -0.5, -0.05, 0.05, 0.5, 0.75)


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vader import SentimentIntensityAnalyzer  # lazy: only labelling needs the lexicon

    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score of one text, in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class VaderLevels:
    """Bins a compound score into the 7 ``vader7`` levels; a ``TextLabeller``.

    ``thresholds`` are the 6 strictly increasing cut points in [-1, 1] (see the
    module docstring for which bin a value on a cut belongs to). ``target`` may
    name another ordinal scheme, e.g. ``sentiment3`` with ``(-0.05, 0.05)``: the
    number of cuts must be one less than its number of classes.
    """

    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    target: str = SCHEME

    def __post_init__(self) -> None:
        cuts = self.thresholds
        n_levels = len(SCHEMES.create(self.target))
        if isinstance(cuts, (str, bytes)) or not isinstance(cuts, Iterable):
            raise ConfigError(f"VADER thresholds must be a sequence of numbers, got {cuts!r}")
        cuts = tuple(cuts)
        if len(cuts) != n_levels - 1:
            raise ConfigError(
                f"VADER thresholds: need {n_levels - 1} cut points for {n_levels} levels, got {len(cuts)}"
            )
        if not all(isinstance(c, Real) and not isinstance(c, bool) for c in cuts):
            raise ConfigError(f"VADER thresholds must be numbers, got {cuts!r}")
        if not all(-1.0 <= c <= 1.0 for c in cuts):  # also rejects NaN
            raise ConfigError(f"VADER thresholds must lie in [-1, 1], got {cuts!r}")
        if any(a >= b for a, b in zip(cuts, cuts[1:])):
            raise ConfigError(f"VADER thresholds must be strictly increasing, got {cuts!r}")
        object.__setattr__(self, "thresholds", tuple(float(c) for c in cuts))

    @property
    def levels(self) -> tuple[str, ...]:
        return SCHEMES.create(self.target).classes

    def level(self, compound: float) -> str:
        """The level of one compound score; ties on a cut go away from zero."""
        if isinstance(compound, bool) or not isinstance(compound, Real) or not (
            -1.0 <= compound <= 1.0
        ):
            raise InputError(f"a VADER compound score is a number in [-1, 1], got {compound!r}")
        return self.levels[self._bin(float(compound))]

    def label_texts(self, texts: Sequence[str]) -> list[str]:
        """One level per text. Empty text scores 0 (neutral); non-strings are an error."""
        if isinstance(texts, str):
            raise InputError("label_texts takes a list of texts, not a single string")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise InputError(
                f"{len(bad)} item(s) are not text (positions {bad[:10]}{'...' if len(bad) > 10 else ''})"
            )
        levels = self.levels
        return [levels[self._bin(compound(t))] for t in texts]

    def _bin(self, value: float) -> int:
        find = bisect_left if value < 0 else bisect_right
        return find(self.thresholds, value)

    __call__ = label_texts

    def label_corpus(self, corpus: Any) -> Any:
        """A copy of a text ``Corpus`` labelled into ``vader7``.

        The old labels move to a ``source_label`` column; ``meta["label_scheme"]``
        records the new scheme. Rows without text are an error (listed by uid).
        """
        table = corpus.table.copy()
        missing = table.loc[~table["text"].map(lambda t: isinstance(t, str)), "uid"].tolist()
        if missing:
            raise InputError(
                f"corpus {corpus.name!r}: {len(missing)} row(s) have no text, e.g. {missing[:5]}"
            )
        table["source_label"] = table["label"]
        table["label"] = self.label_texts(table["text"].tolist())
        meta = {**corpus.meta, "label_scheme": self.target, "labelled_by": "vader"}
        return dataclasses.replace(corpus, table=table, multi_label=False, meta=meta)


LABELLERS.register("vader->vader7")(VaderLevels)


def label_texts(texts: Sequence[str], thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> list[str]:
    """Shortcut: ``VaderLevels(thresholds).label_texts(texts)``."""
    return VaderLevels(tuple(thresholds)).label_texts(texts)
