import numpy as np
import torch

from affectlab.features.encoder import TextEncoder
from affectlab.features.tokens import DialogueWindow, TokenCollate, token_items
from affectlab.models.text_encoder import EncoderConfig, TrainableTextEncoder, load_tokenizer


def _batch(path, texts):
    import pandas as pd

    tokenizer = load_tokenizer(str(path))
    items = token_items(tokenizer, pd.DataFrame({"text": texts}), DialogueWindow(max_length=64))
    batch = TokenCollate(tokenizer.pad_token_id)(items)
    return batch["text_ids"], batch["text_mask"], batch["text_focus"]


def test_trainable_encoder_pools_like_the_frozen_features(tiny_encoder_dir):
    """Same layer combination and pooling code, now differentiable: not a copy."""
    texts = ["I can't believe you did this!", "Okay. Fine. Whatever."]
    for layers, pooling in [("avg_last4", "mean"), ("last", "cls"), ("last4_scalar_up", "wmean_pos")]:
        encoder = TrainableTextEncoder(EncoderConfig(path=str(tiny_encoder_dir), finetune="frozen",
                                                     layers=layers, pooling=pooling)).eval()
        ids, mask, _ = _batch(tiny_encoder_dir, texts)
        with torch.no_grad():
            trainable = encoder(ids, mask).numpy()
        frozen = TextEncoder(str(tiny_encoder_dir), device="cpu").encode(texts, [(layers, pooling)], progress=False)
        np.testing.assert_allclose(trainable, frozen[(layers, pooling)], atol=1e-5)


def test_lora_trains_only_adapters_and_full_trains_everything(tiny_encoder_dir):
    lora = TrainableTextEncoder(EncoderConfig(path=str(tiny_encoder_dir), finetune="lora",
                                              lora={"targets": ["query", "value"]}))
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    full = TrainableTextEncoder(EncoderConfig(path=str(tiny_encoder_dir), finetune="full"))
    assert all(p.requires_grad for p in full.parameters())
    ids, mask, focus = _batch(tiny_encoder_dir, ["Why would you say that?"])
    full(ids, mask, focus).sum().backward()
    assert full.input_embeddings().weight.grad is not None  # a differentiable path from embeddings


def test_lora_targets_that_do_not_exist_are_named(tiny_encoder_dir):
    import pytest

    from affectlab.errors import ConfigError

    with pytest.raises(ConfigError, match="not linear layers"):
        TrainableTextEncoder(EncoderConfig(path=str(tiny_encoder_dir), finetune="lora", lora={"targets": ["qkv"]}))
