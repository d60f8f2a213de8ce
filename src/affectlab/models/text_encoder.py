"""A trainable text encoder as a model part: any local Hugging Face encoder, fine-tuned in full,
through LoRA adapters (``peft``), or kept frozen.

It pools the same way as the frozen features (``features.variants.pool_variants``: one layer
combination x one pooling, now with gradients), over the tokens of the current utterance when the
input carries dialogue context (``focus``). It saves its own config (``spec``) and weights
(``save``): LoRA adapters on their own, a fully fine-tuned encoder as safetensors.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..errors import ConfigError
from ..features.base import encoder_fingerprint, resolve_encoder_path
from ..features.layers import LAYER_COMBINATIONS
from ..features.pooling import content_mask, get_pooler
from ..features.variants import pool_variants


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    targets: list[str] = Field(default_factory=lambda: ["query", "key", "value", "dense"],
                               description="names of the linear layers that get adapters")


class EncoderConfig(BaseModel):
    """``model.encoder``: which encoder, how it is trained and how its tokens are pooled."""

    model_config = ConfigDict(extra="forbid")

    path: str = "default"
    finetune: Literal["full", "lora", "frozen"] = "full"
    layers: str = "last"
    pooling: str = "mean"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    gradient_checkpointing: bool = False


def _load_hf(path: Path) -> nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf_logging.disable_progress_bar()
    # float32 whatever the checkpoint stores (transformers 5 keeps fp16 checkpoints in fp16)
    return AutoModel.from_pretrained(path, local_files_only=True).float()


class TrainableTextEncoder(nn.Module):
    """``forward(ids, mask, focus=None, past=None) -> [B, D]``; ``with_context`` also pools the
    previous turns."""

    def __init__(self, config: EncoderConfig, weights_dir: str | Path | None = None,
                 added_tokens: Sequence[str] = ()) -> None:
        """``added_tokens`` (dialogue tags such as ``[scenario=work]``) get new embedding rows,
        trained with the encoder (LoRA: those rows only, saved in the adapter)."""
        super().__init__()
        self.added_tokens = list(added_tokens)
        if config.layers not in LAYER_COMBINATIONS:
            raise ConfigError(f"model.encoder.layers must be one of {list(LAYER_COMBINATIONS)}, got {config.layers!r}")
        if get_pooler(config.pooling).needs_idf:
            raise ConfigError("model.encoder.pooling 'wmean_idf' needs a fitted IDF table; choose cls, mean, attn or wmean_*")
        self.config = config
        self.base_path = resolve_encoder_path(config.path)
        source = Path(weights_dir) / "model" if weights_dir and config.finetune == "full" else self.base_path
        model = _load_hf(source)
        new_rows = self._add_token_rows(model)
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        if config.finetune == "frozen":
            model.requires_grad_(False)
        elif config.finetune == "lora":
            from peft import LoraConfig, PeftModel, get_peft_model

            if weights_dir is not None:
                model = PeftModel.from_pretrained(model, str(Path(weights_dir) / "adapter"), is_trainable=True)
            else:
                names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
                missing = [t for t in config.lora.targets if t not in names]
                if missing:
                    raise ConfigError(f"model.encoder.lora.targets {missing} are not linear layers of "
                                      f"{config.path!r}; its linear layers: {sorted(names)}")
                model = get_peft_model(model, LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha,
                                                         lora_dropout=config.lora.dropout,
                                                         target_modules=config.lora.targets,
                                                         trainable_token_indices=new_rows or None))
        self.model = model
        self.out_dim = int(self._hf_config.hidden_size)

    def _add_token_rows(self, model: nn.Module) -> list[int]:
        """Embedding rows for ``added_tokens`` (ids after the base vocabulary, as the tokenizer
        assigns them), initialised to the mean embedding — deterministic, so an untrained row
        reads the same after a reload. Returns their ids."""
        if not self.added_tokens:
            return []
        tokenizer = load_tokenizer(str(self.base_path), self.added_tokens)
        ids = tokenizer.convert_tokens_to_ids(self.added_tokens)
        embeddings = model.get_input_embeddings()
        rows = embeddings.weight.shape[0]
        if max(ids) >= rows:
            mean = embeddings.weight.detach().mean(0)
            model.resize_token_embeddings(max(ids) + 1, mean_resizing=False)
            with torch.no_grad():
                model.get_input_embeddings().weight[rows:] = mean
        return list(ids)

    @classmethod
    def for_inference(cls, config: EncoderConfig, weights_dir: str | Path | None = None,
                      added_tokens: Sequence[str] = ()) -> "TrainableTextEncoder":
        """The same encoder for prediction only, read in plain torch (``features.bert_reader``:
        LoRA adapters folded into the base weights) when its files allow, else through
        transformers as in training. Saving it copies the files it was read from."""
        from ..features import bert_reader

        base = resolve_encoder_path(config.path)
        weights_dir = Path(weights_dir) if weights_dir is not None else None
        source, adapter = base, None
        if weights_dir is not None and config.finetune == "full":
            source = weights_dir / "model"
        elif weights_dir is not None and config.finetune == "lora":
            adapter = weights_dir / "adapter"
        plain = (bert_reader.weights_readable(source) and not added_tokens
                 and (adapter is None or bert_reader.adapter_readable(adapter)))
        if not plain:
            return cls(config, weights_dir, added_tokens).eval()
        if config.layers not in LAYER_COMBINATIONS:
            raise ConfigError(f"model.encoder.layers must be one of {list(LAYER_COMBINATIONS)}, got {config.layers!r}")
        encoder = cls.__new__(cls)
        nn.Module.__init__(encoder)
        encoder.added_tokens, encoder.config, encoder.base_path = [], config, base
        encoder.model = _ReaderModel(bert_reader.BertReader.load(source, adapter))
        encoder.out_dim = encoder.model.reader.hidden_size
        encoder._read_from = weights_dir
        return encoder.eval()

    @property
    def _hf_config(self):
        return self.model.config

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, focus: torch.Tensor | None = None,
                past: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled current utterance [B, D] (``past`` is read only by ``with_context``)."""
        return self._pool(self._layers(ids, mask), ids, focus if focus is not None else content_mask(mask))

    def with_context(self, ids: torch.Tensor, mask: torch.Tensor, focus: torch.Tensor | None = None,
                     past: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The current utterance [B, D], its previous turns pooled [B, D] and which rows have any
        [B] (bool). Tokens before the current utterance attend only to each other, so the
        context's vector has not seen the turn it is compared with."""
        focus = focus if focus is not None else content_mask(mask)
        if past is None:
            past = torch.zeros_like(focus)
        before = torch.cumsum(focus, dim=1) == 0  # [CLS], tags and the previous turns
        allowed = mask.bool()[:, None, :] & (~before[:, :, None] | before[:, None, :])
        blocked = torch.zeros(allowed.shape, dtype=torch.float32, device=ids.device)
        blocked = blocked.masked_fill(~allowed, torch.finfo(torch.float32).min)[:, None]  # [B, 1, T, T]
        layers = self._layers(ids, blocked)
        has_context = past.sum(dim=1) > 0
        safe_past = torch.where(has_context[:, None], past, focus)  # no context: any finite vector
        return self._pool(layers, ids, focus), self._pool(layers, ids, safe_past), has_context

    def _layers(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """The last four hidden layers [B, 4, T, D] (``attention``: a [B, T] padding mask or a
        prepared additive [B, 1, T, T] mask)."""
        needs_layers = self.config.layers != "last"
        out = self.model(input_ids=ids, attention_mask=attention, output_hidden_states=needs_layers)
        if needs_layers:
            hidden = list(out.hidden_states)
            while len(hidden) < 4:  # tiny test encoders: repeat the earliest layer
                hidden.insert(0, hidden[0])
            return torch.stack(hidden[-4:], dim=1)
        return out.last_hidden_state.unsqueeze(1).expand(-1, 4, -1, -1)

    def _pool(self, layers: torch.Tensor, ids: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        variant = (self.config.layers, self.config.pooling)
        return pool_variants(layers, content, [variant], ids=ids)[variant]

    def input_embeddings(self) -> nn.Embedding:
        """The token-embedding layer (attribution methods integrate along it)."""
        return self.model.get_input_embeddings()

    def tokenizer(self):
        if isinstance(self.model, _ReaderModel):
            return load_tokenizer(str(self.base_path), self.added_tokens, fast=True)
        return load_tokenizer(str(self.base_path), self.added_tokens)

    # --- persistence -----------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        return {"config": self.config.model_dump(mode="json"), "fingerprint": encoder_fingerprint(self.base_path),
                **({"added_tokens": self.added_tokens} if self.added_tokens else {})}

    def save(self, directory: str | Path) -> None:
        """LoRA: ``adapter/`` (adapter weights only); full: ``model/`` (config + safetensors);
        frozen: nothing (the weights are the encoder's own files)."""
        directory = Path(directory)
        read_from = getattr(self, "_read_from", None)
        if isinstance(self.model, _ReaderModel):  # read for inference: its files are unchanged
            if read_from is not None:
                import shutil

                for part in ("adapter", "model"):
                    if (read_from / part).is_dir() and read_from.resolve() != directory.resolve():
                        shutil.copytree(read_from / part, directory / part, dirs_exist_ok=True)
            return
        if self.config.finetune == "lora":  # tag rows: in the adapter's trainable tokens; the
            # resized base rows are rebuilt deterministically, so the whole embedding is not saved
            self.model.save_pretrained(str(directory / "adapter"), save_embedding_layers=False)
            _portable_adapter(directory / "adapter", self.config.path)
        elif self.config.finetune == "full":
            self.model.save_pretrained(str(directory / "model"), safe_serialization=True)

    def persisted_elsewhere(self) -> bool:
        """Its weights live in ``save``'s files, not in the pipeline's weight file."""
        return True



class _ReaderModel(nn.Module):
    """A ``BertReader`` answering the way a transformers encoder does (``last_hidden_state``,
    ``hidden_states``), so pooling and context code read either."""

    def __init__(self, reader: nn.Module) -> None:
        super().__init__()
        self.reader = reader

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                output_hidden_states: bool = False):
        from types import SimpleNamespace

        states = self.reader(input_ids, attention_mask)
        return SimpleNamespace(last_hidden_state=states[-1], hidden_states=states if output_hidden_states else None)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.reader.word


def load_tokenizer(name_or_path: str = "default", added_tokens: Sequence[str] = (), fast: bool = False):
    """The tokenizer of a local encoder directory (``default``: the embedded MiniLM), with
    ``added_tokens`` as special tokens (never split, ids in the order given). ``fast``: the
    ``tokenizers`` library alone (no transformers import) where the directory allows."""
    from ..features import bert_reader

    path = resolve_encoder_path(name_or_path)
    if fast and bert_reader.tokenizer_readable(path):
        tokenizer = bert_reader.FastTokenizer(path)
        if added_tokens:
            tokenizer.add_tokens(list(added_tokens), special_tokens=True)
        return tokenizer
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if added_tokens:
        tokenizer.add_tokens(list(added_tokens), special_tokens=True)
    return tokenizer


def _portable_adapter(folder: Path, encoder: str) -> None:
    """peft writes the base model's absolute path on this machine into ``adapter_config.json``,
    and a blank model card: a pipeline names its encoder in its own spec, so the path becomes
    that name (e.g. ``default``) and the card goes; nothing machine-specific is saved."""
    import json

    config = folder / "adapter_config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["base_model_name_or_path"] = str(encoder)
    config.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    (folder / "README.md").unlink(missing_ok=True)
