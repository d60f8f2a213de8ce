"""Model registry: ``create_model(name, **kwargs)``, ``list_models()``."""
import inspect

from torch import nn

from .aggregators import AGGREGATORS
from .classifiers import MODELS, SequenceClassifier
from .inputs import ModelInput
from .scalar_mix import ScalarMix
from .spectrogram import SpectrogramClassifier


def create_model(name: str, **kwargs) -> nn.Module:
    return MODELS.create(name, **kwargs)


def model_inputs(name: str) -> tuple[ModelInput, ...]:
    """What model ``name`` reads (its registry entry's declaration)."""
    return MODELS.get(name).inputs


def model_input_kind(name: str) -> str:
    """The kind of a single-input model's input: ``vectors``, ``spectrogram``, …"""
    return model_inputs(name)[0].kind


def model_arguments(name: str, **candidates) -> dict:
    """The subset of ``candidates`` that model ``name``'s factory accepts: one config can carry
    settings (aggregator, layer mix) that only some models use."""
    accepted = inspect.signature(MODELS.get(name)).parameters
    return {k: v for k, v in candidates.items() if k in accepted}


def list_models(inputs: str | None = None) -> list[str]:
    """Registered model names, optionally only those reading ``inputs``."""
    return [n for n in MODELS.names() if inputs is None or model_input_kind(n) == inputs]


def list_aggregators() -> list[str]:
    return AGGREGATORS.names()


__all__ = ["create_model", "list_models", "list_aggregators", "model_inputs", "model_input_kind", "model_arguments", "ModelInput",
           "MODELS", "AGGREGATORS", "SequenceClassifier", "SpectrogramClassifier", "ScalarMix"]
