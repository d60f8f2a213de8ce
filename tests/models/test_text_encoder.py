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


def _lora_with_weights(path, tmp_path):
    """A LoRA encoder whose adapters are not zero (B starts at 0), saved as a pipeline saves it."""
    encoder = TrainableTextEncoder(EncoderConfig(path=str(path), finetune="lora"))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in encoder.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    encoder.save(tmp_path / "saved")
    return encoder.eval()


def test_inference_reads_lora_in_plain_torch_with_the_outputs_of_peft(tiny_encoder_dir, tmp_path):
    """Adapters folded into the base weights: no transformers or peft at predict time, same numbers."""
    import pandas as pd

    from affectlab.models.text_encoder import _ReaderModel

    trained = _lora_with_weights(tiny_encoder_dir, tmp_path)
    config = EncoderConfig(path=str(tiny_encoder_dir), finetune="lora")
    reader = TrainableTextEncoder.for_inference(config, tmp_path / "saved")
    assert isinstance(reader.model, _ReaderModel)
    turns = pd.DataFrame({"text": ["Hello there.", "Why would you say that?", "Okay. Fine. Whatever."],
                          "speaker": ["A", "B", "A"], "dialogue": ["d"] * 3, "turn": [0, 1, 2]})
    tokenizer = load_tokenizer(str(tiny_encoder_dir))
    batch = TokenCollate(tokenizer.pad_token_id)(token_items(tokenizer, turns, DialogueWindow(past=2, max_length=64)))
    fields = {k[5:]: v for k, v in batch.items()}
    with torch.no_grad():
        torch.testing.assert_close(reader(**fields), trained(**fields), atol=1e-5, rtol=1e-4)
        for ours, theirs in zip(reader.with_context(**fields), trained.with_context(**fields)):
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    reader.save(tmp_path / "again")  # saving what was read copies the adapter
    assert (tmp_path / "again" / "adapter" / "adapter_model.safetensors").is_file()


def test_a_saved_adapter_names_no_path_of_this_machine(tiny_encoder_dir, tmp_path):
    """peft writes the base model's absolute path and a blank model card; a pipeline keeps neither."""
    import json

    _lora_with_weights(tiny_encoder_dir, tmp_path)
    saved = json.loads((tmp_path / "saved" / "adapter" / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == str(tiny_encoder_dir)  # as the config gives it
    assert not (tmp_path / "saved" / "adapter" / "README.md").exists()
    config = EncoderConfig(path="default", finetune="lora")
    encoder = TrainableTextEncoder(EncoderConfig(path=str(tiny_encoder_dir), finetune="lora"))
    encoder.config = config
    encoder.save(tmp_path / "named")
    assert json.loads((tmp_path / "named" / "adapter" / "adapter_config.json").read_text())[
        "base_model_name_or_path"] == "default"


def test_the_fast_tokenizer_gives_the_ids_of_transformers_with_added_tags(tiny_encoder_dir):
    import pandas as pd

    tags = ["[scenario=?]", "[scenario=work]"]
    slow, fast = load_tokenizer(str(tiny_encoder_dir), tags), load_tokenizer(str(tiny_encoder_dir), tags, fast=True)
    assert type(fast).__name__ == "FastTokenizer"
    table = pd.DataFrame({"text": ["Why would you say that?", "Okay."], "speaker": ["A", None],
                          "dialogue": ["d", "d"], "turn": [0, 1], "scenario": ["work", "zoo"]})
    window = DialogueWindow(past=1, max_length=32, tags=("scenario",))
    assert token_items(fast, table, window) == token_items(slow, table, window)
    assert fast.pad_token_id == slow.pad_token_id
