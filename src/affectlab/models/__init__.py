"""Model registry: ``create_model(name, **kwargs)``, ``list_models()``."""
import inspect

from torch import nn

from .aggregators import AGGREGATORS
from .classifiers import MODELS, SequenceClassifier
from .scalar_mix import ScalarMix
from .spectrogram import SpectrogramClassifier


def create_model(name: str, **kwargs) -> nn.Module:
    return MODELS.create(name, **kwargs)


def model_inputs(name: str) -> str:
    """What a model reads: ``"vectors"`` (utterance/sentence/layer vectors, optional mask) or
    ``"spectrogram"`` ([B, F, T])."""
    return getattr(MODELS.get(name), "inputs", "vectors")


def model_arguments(name: str, **candidates) -> dict:
    """The subset of ``candidates`` that model ``name``'s factory accepts: one config can carry
    settings (aggregator, layer mix) that only some models use."""
    accepted = inspect.signature(MODELS.get(name)).parameters
    return {k: v for k, v in candidates.items() if k in accepted}


def list_models(inputs: str | None = None) -> list[str]:
    """Registered model names, optionally only those reading ``inputs``."""
    return [n for n in MODELS.names() if inputs is None or model_inputs(n) == inputs]


def list_aggregators() -> list[str]:
    return AGGREGATORS.names()


__all__ = ["create_model", "list_models", "list_aggregators", "model_inputs", "model_arguments",
           "MODELS", "AGGREGATORS", "SequenceClassifier", "SpectrogramClassifier", "ScalarMix"]
