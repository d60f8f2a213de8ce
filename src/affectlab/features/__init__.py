"""Feature extractors (cached on disk, keyed by corpus fingerprint and extractor settings)."""
from .base import DEFAULT_ENCODER, FeatureSet, Variant, resolve_encoder_path
from .encoder import TextEncoder
from .layers import LAYER_COMBINATIONS, STACK_LAST4, list_layer_combinations
from .pooling import POOLERS, list_poolers
from .text import encode_texts, extract_text_features


def __getattr__(name: str):
    # Audio pieces load lazily: importing text features should not pull in audio libraries.
    if name in {"extract_audio_features", "featurize_files", "FRONTENDS"}:
        from . import audio

        return getattr(audio, name)
    if name == "AudioEncoder":
        from .audio_encoder import AudioEncoder

        return AudioEncoder
    raise AttributeError(name)


__all__ = [
    "DEFAULT_ENCODER", "TextEncoder", "resolve_encoder_path", "LAYER_COMBINATIONS", "STACK_LAST4",
    "list_layer_combinations", "POOLERS", "list_poolers", "FeatureSet", "Variant", "encode_texts", "extract_text_features",
    "extract_audio_features", "featurize_files", "FRONTENDS", "AudioEncoder",
]
