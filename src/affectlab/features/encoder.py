"""Local Hugging Face text encoders: load offline, run one forward pass, derive every variant."""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np
import torch

from ..devices import pick_device
from ..errors import ConfigError
from . import bert_reader
from .base import Variant, encoder_fingerprint, resolve_encoder_path
from .pooling import content_mask
from .variants import encode_in_length_order, pool_variants


class TextEncoder:
    """A frozen transformer encoder that yields many (layer, pooling) views per forward pass."""

    def __init__(self, name_or_path: str = "default", device: str = "auto", max_length: int = 128,
                 fast: bool = False):
        """``fast``: a BERT directory is read by ``bert_reader`` (plain torch, no transformers
        import: the pipeline's cold start); training extraction keeps transformers."""
        self.path = resolve_encoder_path(name_or_path)
        self.name = name_or_path
        self.max_length = max_length
        self.device = pick_device(device)
        if fast and bert_reader.readable(self.path):
            self.tokenizer = bert_reader.FastTokenizer(self.path)
            self.model = bert_reader.BertReader.load(self.path).to(self.device)
            self._hidden = self.model.hidden_size
        else:
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            hf_logging.disable_progress_bar()  # our own bars report progress; keep stderr clean
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            # float32 whatever the checkpoint stores (transformers 5 keeps fp16 checkpoints in fp16)
            self.model = AutoModel.from_pretrained(self.path, local_files_only=True).float().to(self.device).eval()
            self._hidden = int(self.model.config.hidden_size)
        self.fingerprint = encoder_fingerprint(self.path)

    @property
    def hidden_size(self) -> int:
        return int(self._hidden)

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.vocab_size if hasattr(self.tokenizer, "vocab_size") else len(self.tokenizer))

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]

    @torch.inference_mode()
    def _last4(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        if isinstance(self.model, bert_reader.BertReader):
            hidden = list(self.model(batch["input_ids"], batch["attention_mask"]))
        else:
            hidden = list(self.model(**batch, output_hidden_states=True).hidden_states)
        while len(hidden) < 4:  # tiny test encoders: repeat the earliest layer
            hidden.insert(0, hidden[0])
        return torch.stack(hidden[-4:], dim=1), batch["attention_mask"], batch["input_ids"]

    def encode(
        self,
        texts: Sequence[str],
        variants: Iterable[Variant],
        idf: np.ndarray | None = None,
        batch_size: int = 64,
        progress: bool = True,
        desc: str = "text features",
    ) -> dict[Variant, np.ndarray]:
        """Compute every requested variant with ONE forward pass per batch (see
        ``pool_variants``); ``stack_last4`` keeps the four pooled layers apart ([N, 4, D])."""
        variants = list(dict.fromkeys(variants))
        if not variants:
            raise ConfigError("no feature variants requested")
        texts = [str(t) for t in texts]

        def pooled(chunk: list[str]) -> dict[Variant, torch.Tensor]:
            last4, mask, ids = self._last4(chunk)
            return pool_variants(last4, content_mask(mask), variants, ids=ids, idf=idf)

        return encode_in_length_order(texts, [len(t) for t in texts], batch_size, pooled, variants,
                                      progress, desc, "utt")
