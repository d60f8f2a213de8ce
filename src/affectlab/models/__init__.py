"""Model registry: ``create_model(name, **kwargs)``, ``list_models()``."""
from torch import nn

from .aggregators import AGGREGATORS
from .classifiers import MODELS, SequenceClassifier
from .scalar_mix import ScalarMix


def create_model(name: str, **kwargs) -> nn.Module:
    return MODELS.create(name, **kwargs)


def list_models() -> list[str]:
    return MODELS.names()


def list_aggregators() -> list[str]:
    return AGGREGATORS.names()


__all__ = ["create_model", "list_models", "list_aggregators", "MODELS", "AGGREGATORS",
           "SequenceClassifier", "ScalarMix"]
