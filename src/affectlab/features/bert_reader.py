"""A frozen BERT-family encoder in plain torch, for fast cold starts at inference.

Importing transformers and building an ``AutoModel`` costs seconds before the first prediction
(transformers 5 imports most of its machinery for one BERT), while the forward pass of the
embedded MiniLM takes milliseconds. This module reads a local BERT directory's ``config.json``,
``model.safetensors`` and ``tokenizer.json`` (the Rust ``tokenizers`` library, which is what a
transformers fast tokenizer wraps) and computes the same hidden states as ``BertModel`` in
eval mode (``tests/features/test_bert_reader.py`` pins them to transformers').

Only what the frozen path needs: absolute positions, token type 0, exact GELU, post-LayerNorm
layers; ``readable(path)`` says whether a directory qualifies, else callers use transformers.
Fine-tuned pipelines are read the same way (``TrainableTextEncoder.for_inference``): a fully
fine-tuned encoder's own safetensors, or the base weights with LoRA adapters folded in
(``W + alpha/r * B @ A``, ``adapter_readable``), so predicting needs neither transformers nor peft.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

_ACTIVATIONS = {"gelu": F.gelu}


def readable(path: str | Path) -> bool:
    """A BERT directory with safetensors weights and a ``tokenizer.json`` this reader handles."""
    path = Path(path)
    files = [path / n for n in ("config.json", "model.safetensors", "tokenizer.json")]
    if not all(f.is_file() for f in files):
        return False
    config = json.loads(files[0].read_text(encoding="utf-8"))
    return (config.get("model_type") == "bert" and config.get("hidden_act") in _ACTIVATIONS
            and config.get("position_embedding_type", "absolute") == "absolute"
            and not config.get("is_decoder", False))


def weights_readable(path: str | Path) -> bool:
    """A BERT weights directory (``config.json`` + ``model.safetensors``) this reader computes."""
    path = Path(path)
    if not ((path / "config.json").is_file() and (path / "model.safetensors").is_file()):
        return False
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return (config.get("model_type") == "bert" and config.get("hidden_act") in _ACTIVATIONS
            and config.get("position_embedding_type", "absolute") == "absolute"
            and not config.get("is_decoder", False))


def tokenizer_readable(path: str | Path) -> bool:
    return (Path(path) / "tokenizer.json").is_file()


def adapter_readable(path: str | Path) -> bool:
    """A plain LoRA adapter directory (peft): linear layers only, one rank and alpha, no DoRA,
    rsLoRA, biases, trainable tokens or saved modules — what ``merge_lora`` folds in exactly."""
    path = Path(path)
    config_file, weights = path / "adapter_config.json", path / "adapter_model.safetensors"
    if not (config_file.is_file() and weights.is_file()):
        return False
    config = json.loads(config_file.read_text(encoding="utf-8"))
    plain = {"peft_type": "LORA", "use_dora": False, "use_rslora": False, "fan_in_fan_out": False,
             "lora_bias": False, "bias": "none"}
    empty = ("modules_to_save", "trainable_token_indices", "rank_pattern", "alpha_pattern", "layer_replication")
    return all(config.get(k, v) == v for k, v in plain.items()) and not any(config.get(k) for k in empty)


def merge_lora(weights: dict[str, torch.Tensor], adapter: str | Path) -> dict[str, torch.Tensor]:
    """``weights`` (BertModel names) with a LoRA adapter folded into its linear layers."""
    from safetensors.torch import load_file

    adapter = Path(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    scaling = float(config["lora_alpha"]) / float(config["r"])
    tensors = load_file(str(adapter / "adapter_model.safetensors"))
    merged = dict(weights)
    for key, a in tensors.items():
        if not key.endswith(".lora_A.weight"):
            continue
        module = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight")
        b = tensors[key.replace(".lora_A.", ".lora_B.")]
        target = f"{module}.weight"
        if target not in merged:
            if module.startswith("pooler."):  # the pooler is not read
                continue
            raise KeyError(f"adapter {adapter} targets {module}, which the encoder does not have")
        merged[target] = merged[target] + scaling * (b.float() @ a.float())
    return merged


class _NoInit:
    """Layers whose weights ``load`` assigns at once: no random init (on meta tensors, torch runs
    it through a Python decomposition that imports torch._dynamo, seconds on a cold start)."""

    def reset_parameters(self) -> None:
        pass


class _Linear(_NoInit, nn.Linear):
    pass


class _Embedding(_NoInit, nn.Embedding):
    pass


class _LayerNorm(_NoInit, nn.LayerNorm):
    pass


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float, act, device=None) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (_Linear(hidden, hidden, device=device) for _ in range(3))
        self.attention_out = _Linear(hidden, hidden, device=device)
        self.attention_norm = _LayerNorm(hidden, eps=eps, device=device)
        self.intermediate = _Linear(hidden, intermediate, device=device)
        self.output = _Linear(intermediate, hidden, device=device)
        self.output_norm = _LayerNorm(hidden, eps=eps, device=device)
        self.act = act

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape

        def split(h: torch.Tensor) -> torch.Tensor:
            return h.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                                 attn_mask=bias)
        x = self.attention_norm(x + self.attention_out(context.transpose(1, 2).reshape(b, t, d)))
        return self.output_norm(x + self.output(self.act(self.intermediate(x))))


class BertReader(nn.Module):
    """``forward(input_ids, attention_mask) -> hidden states`` (embeddings, then every layer)."""

    def __init__(self, config: dict, device=None) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config.get("layer_norm_eps", 1e-12)
        self.word = _Embedding(config["vocab_size"], hidden, device=device)
        self.position = _Embedding(config["max_position_embeddings"], hidden, device=device)
        self.token_type = _Embedding(config.get("type_vocab_size", 2), hidden, device=device)
        self.norm = _LayerNorm(hidden, eps=eps, device=device)
        self.layers = nn.ModuleList(
            _Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps,
                   _ACTIVATIONS[config["hidden_act"]], device) for _ in range(config["num_hidden_layers"]))
        self.hidden_size = hidden

    @classmethod
    def load(cls, path: str | Path, adapter: str | Path | None = None) -> "BertReader":
        """The encoder in ``path``, with the LoRA ``adapter`` directory folded in when given."""
        from safetensors.torch import load_file

        path = Path(path)
        model = cls(json.loads((path / "config.json").read_text(encoding="utf-8")), device="meta")
        weights = {k.removeprefix("bert."): v.float() for k, v in load_file(path / "model.safetensors").items()}
        if adapter is not None:
            weights = merge_lora(weights, adapter)
        model.load_state_dict(_rename(weights, len(model.layers)), strict=True, assign=True)
        return model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``attention_mask``: [B, T] (1 = token), or a prepared additive [B, 1, T, T] mask."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.norm(self.word(input_ids) + self.position(positions)[None] + self.token_type.weight[0])
        if attention_mask.dim() == 4:
            bias = attention_mask.to(x.dtype)
        else:  # additive mask, as BertModel: padded keys get the dtype's minimum
            bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        states = [x]
        for layer in self.layers:
            x = layer(x, bias)
            states.append(x)
        return tuple(states)


def _rename(weights: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """transformers' BertModel names → this module's."""
    out = {"word.weight": weights["embeddings.word_embeddings.weight"],
           "position.weight": weights["embeddings.position_embeddings.weight"],
           "token_type.weight": weights["embeddings.token_type_embeddings.weight"],
           "norm.weight": weights["embeddings.LayerNorm.weight"], "norm.bias": weights["embeddings.LayerNorm.bias"]}
    parts = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
             "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
             "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm"}
    for i in range(n_layers):
        for ours, theirs in parts.items():
            for kind in ("weight", "bias"):
                out[f"layers.{i}.{ours}.{kind}"] = weights[f"encoder.layer.{i}.{theirs}.{kind}"]
    return out


class FastTokenizer:
    """``tokenizer.json`` through the ``tokenizers`` library: the subset of a transformers
    tokenizer call the frozen encoder uses (ids with special tokens, truncation, padding)."""

    def __init__(self, path: str | Path) -> None:
        from tokenizers import Tokenizer

        path = Path(path)
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        settings = {}
        config_file = path / "tokenizer_config.json"
        if config_file.is_file():
            settings = json.loads(config_file.read_text(encoding="utf-8"))
        def token(name: str, default: str) -> str:
            value = settings.get(name, default)
            return value.get("content") if isinstance(value, dict) else value

        self.pad_token_id = self._tokenizer.token_to_id(token("pad_token", "[PAD]")) or 0
        self.cls_token_id = self._tokenizer.token_to_id(token("cls_token", "[CLS]"))
        self.sep_token_id = self._tokenizer.token_to_id(token("sep_token", "[SEP]"))
        self.bos_token_id = self.eos_token_id = None
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=False)

    def add_tokens(self, tokens: Sequence[str], special_tokens: bool = True) -> int:
        """New whole tokens (dialogue tags), ids after the vocabulary in the order given — as a
        transformers tokenizer's ``add_tokens(..., special_tokens=True)`` assigns them."""
        from tokenizers import AddedToken

        return self._tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in tokens])

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    def __call__(self, texts: Sequence[str], truncation: bool = True, max_length: int = 512,
                 padding: bool = False, return_tensors: str | None = None, add_special_tokens: bool = True,
                 **_) -> dict:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        ids = [e.ids for e in encodings]
        if truncation:  # keep the final special token ([SEP]) as transformers does
            ids = [x if len(x) <= max_length else x[:max_length - 1] + x[-1:] for x in ids]
        if not padding:
            return {"input_ids": ids}
        longest = max(len(x) for x in ids)
        mask = [[1] * len(x) + [0] * (longest - len(x)) for x in ids]
        ids = [x + [self.pad_token_id] * (longest - len(x)) for x in ids]
        if return_tensors == "pt":
            return _Batch(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask))
        return {"input_ids": ids, "attention_mask": mask}


class _Batch(dict):
    def to(self, device) -> "_Batch":
        return _Batch({k: v.to(device) for k, v in self.items()})

