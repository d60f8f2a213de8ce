"""Feature extractors (cached on disk, keyed by corpus fingerprint and extractor settings)."""
from .encoder import DEFAULT_ENCODER, TextEncoder, resolve_encoder_path
from .layers import LAYER_COMBINATIONS, STACK_LAST4, list_layer_combinations
from .pooling import POOLERS, list_poolers
from .text import FeatureSet, encode_texts, extract_text_features

__all__ = [
    "DEFAULT_ENCODER", "TextEncoder", "resolve_encoder_path", "LAYER_COMBINATIONS", "STACK_LAST4",
    "list_layer_combinations", "POOLERS", "list_poolers", "FeatureSet", "encode_texts", "extract_text_features",
]
