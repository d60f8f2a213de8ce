"""Shared fixtures: a tiny random-init BERT with a tokenizer trained in the test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CORPUS = [
    "I can't believe you did this!", "This is wonderful news.", "I am so angry right now.",
    "Why would you say that?", "Oh no, that's terrible.", "We won the game! Amazing.",
    "Leave me alone. I mean it.", "Thanks for the help, really.", "That smells disgusting.",
    "I'm scared of the dark.", "Wow, I did not expect that!", "Okay. Fine. Whatever.",
]


def data_root() -> Path:
    return Path(os.environ.get("AFFECTLAB_DATA_ROOT", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 4-layer, 32-dim BERT saved with save_pretrained(): loads offline in milliseconds."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny_encoder")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(CORPUS * 5, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(out)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=4,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(out)
    return out
