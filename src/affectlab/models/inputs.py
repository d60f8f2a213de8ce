"""What a model reads, declared on its registry entry, so runners and pipelines build inputs
from the declaration instead of branching on model names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputKind = Literal["vectors", "tokens", "frames", "spectrogram", "pose"]


@dataclass(frozen=True)
class ModelInput:
    """``name`` is the batch key (or key prefix: ``text`` → ``text_ids``, ``text_mask``…)."""

    name: str
    kind: InputKind
    shape: str  # for people: e.g. "[B, D] or [B, S, D] + mask [B, S]"


def declares(*inputs: ModelInput):
    """Decorator for a registry factory: ``@declares(ModelInput("x", "vectors", "[B, D]"))``."""
    def decorate(factory):
        factory.inputs = tuple(inputs)
        return factory
    return decorate


VECTORS = ModelInput("x", "vectors", "[B, D], or [B, S, D] with mask [B, S] (sentences, turns, layers)")
SPECTROGRAM = ModelInput("x", "spectrogram", "[B, F, T]")
TOKENS = ModelInput("text", "tokens", "text_ids [B, T] (int), text_mask [B, T], text_focus [B, T]")
