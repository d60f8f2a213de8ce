"""The plain-torch BERT reader (the pipeline's fast cold start) computes what transformers does."""
import pytest
import torch

from affectlab.features import bert_reader
from affectlab.features.base import resolve_encoder_path
from affectlab.features.encoder import TextEncoder

TEXTS = ["I can't believe you did this!", "ok", "Ça va? Très bien — merci 😊",
         "word " * 300, "Rachel: Oh. My. God.  You're   kidding?!"]


@pytest.fixture(params=["tiny", "default"])
def encoder_dir(request, tiny_encoder_dir):
    return tiny_encoder_dir if request.param == "tiny" else resolve_encoder_path("default")


def test_hidden_states_and_tokens_match_transformers(encoder_dir):
    assert bert_reader.readable(encoder_dir)
    slow = TextEncoder(str(encoder_dir), device="cpu", max_length=64)
    fast = TextEncoder(str(encoder_dir), device="cpu", max_length=64, fast=True)
    assert isinstance(fast.model, bert_reader.BertReader) and fast.hidden_size == slow.hidden_size
    assert fast.token_ids(TEXTS) == slow.token_ids(TEXTS)
    assert fast.vocab_size == slow.vocab_size
    for (a, mask_a, ids_a), (b, mask_b, ids_b) in [(slow._last4(TEXTS), fast._last4(TEXTS))]:
        assert torch.equal(ids_a, ids_b) and torch.equal(mask_a, mask_b)
        real = mask_a.bool()[:, None, :, None].expand_as(a)  # padded positions are never pooled
        torch.testing.assert_close(a[real], b[real], atol=2e-5, rtol=1e-4)


def test_directories_it_cannot_read_fall_back_to_transformers(tmp_path, tiny_encoder_dir):
    import json
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(tiny_encoder_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))  # not in the reader
    assert not bert_reader.readable(copy)
    encoder = TextEncoder(str(copy), device="cpu", fast=True)
    assert not isinstance(encoder.model, bert_reader.BertReader)
