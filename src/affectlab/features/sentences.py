"""Sentence splitting for hierarchical (sentence-level) utterance models."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4)
def _segmenter(language: str):
    import pysbd

    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of ``text`` (pysbd rules); never empty, so every utterance has ≥ 1 unit."""
    pieces = [s.strip() for s in _segmenter(language).segment(str(text))]
    pieces = [s for s in pieces if s]
    return pieces or [str(text).strip() or str(text)]
