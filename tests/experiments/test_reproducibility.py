"""Pinned run ids and metrics: a silent change of run identity or of the numbers fails here.

Run ids name run directories (finished runs are skipped, shipped pipelines and docs/results.md
cite them), so a config field added without an ``ADDED_FIELDS`` entry, or any change to how the
identity is serialised or hashed, renames every existing run. The metrics of a small frozen-feature
run move when the trainer's random-number use (shuffling, dropout, mixup, augment order), the
head, the loss, the pooling or the feature code change. Either may be intended: then update the
pins in the same commit and say why (and re-record the figures it affects).

The head run uses a tiny BERT whose weights are written from numpy (not from transformers'
initialisers, which change between versions), so it does not depend on how transformers
initialises models. Metrics are counts over 36 dev/test rows (any flipped prediction moves them
by >= 0.02): they are compared to 1e-6. Probabilities are compared to 1e-5, above the rounding
differences between CPU instruction sets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affectlab.experiments import config_from_dict, load_config, run_experiment
from affectlab.experiments.cv import fold_config
from affectlab.experiments.runner import run_id
from tests.conftest import CORPUS

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

#: Emotion of each CORPUS sentence (meld7 names).
EMOTIONS = ["surprise", "joy", "anger", "surprise", "sadness", "joy", "anger", "joy", "disgust",
            "fear", "surprise", "neutral"]


# --- run identity (no data, no training) -------------------------------------------------------

@pytest.mark.parametrize(("config", "fold", "expected"), [
    # the shipped MELD text pipeline's config (its run dir, docs/results.md)
    ("meld_text_flat.yaml", None, "meld_text_flat-f8d9c0eba1"),
    # fold 0 of the shipped RAVDESS speech pipeline (speech-ravdess8 provenance)
    ("ravdess_whisper.yaml", 0, "ravdess_whisper-fold0-fcf20e4c33"),
])
def test_shipped_config_run_ids_are_pinned(config, fold, expected):
    loaded = load_config(CONFIGS / config)
    if fold is not None:
        loaded = fold_config(loaded, fold)
    assert run_id(loaded) == expected, (
        f"run id of configs/{config} changed: a new config field missing from ADDED_FIELDS, or a "
        "change to config_identity/stable_hash, renames every finished run")


def test_minimal_config_run_id_is_pinned():
    """Every field at its default: catches a new default-valued field left in the identity."""
    config = config_from_dict({"name": "pin", "data": {"corpus": "meld"}, "labels": {"scheme": "meld7"}})
    assert run_id(config) == "pin-def41b959f"


# --- a small frozen-feature run, end to end ------------------------------------------------------

FILLERS = ["", "Well, ", "So ", "Hey, ", "Look, ", "Honestly, ", "Um ", "Right, "]


def _texts_and_labels(n: int = 96) -> pd.DataFrame:
    """CORPUS sentences behind random fillers; a fifth of the labels are random (noise)."""
    rng = np.random.RandomState(7)
    sentence, filler = rng.randint(0, len(CORPUS), n), rng.randint(0, len(FILLERS), n)
    labels = [EMOTIONS[s] for s in sentence]
    for i in np.flatnonzero(rng.rand(n) < 0.2):
        labels[i] = EMOTIONS[rng.randint(0, len(EMOTIONS))]
    parts = np.array(["train"] * 60 + ["dev"] * 18 + ["test"] * 18)
    return pd.DataFrame({"id": [f"u{i}" for i in range(n)],
                         "utterance": [FILLERS[f] + CORPUS[s] for s, f in zip(sentence, filler)],
                         "emotion": labels, "part": parts})


def _tiny_bert(out: Path) -> Path:
    """A 4-layer, 32-dim BERT with a fixed word-level vocabulary and weights drawn from numpy.

    Not the session's ``tiny_encoder_dir``: its WordPiece vocabulary is trained anew in each
    process and differs between processes (tokenizers' trainer is not deterministic)."""
    import re

    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = sorted({w for text in CORPUS + FILLERS for w in re.findall(r"\w+|[^\w\s]", text.lower())})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(specials + letters + [f"##{c}" for c in letters] + words))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(out)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=4,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    model = BertModel(config)
    rng = np.random.RandomState(0)
    state = model.state_dict()
    with torch.no_grad():
        for name in sorted(state):
            tensor = state[name]
            if not tensor.is_floating_point():
                continue
            if "LayerNorm" in name:
                values = np.ones(tensor.shape) if name.endswith("weight") else np.zeros(tensor.shape)
            else:
                values = rng.normal(0.0, 0.1, tensor.shape)
            tensor.copy_(torch.from_numpy(values.astype(np.float32)))
    model.save_pretrained(out)
    return out


def _run(tmp_path: Path, monkeypatch, encoder: str, **training):
    """Paths in the config are relative (run ids must not hold a temporary folder's name)."""
    monkeypatch.chdir(tmp_path)
    _texts_and_labels().to_csv(tmp_path / "pin.csv", index=False)
    config = config_from_dict({
        "name": "pin",
        "data": {"corpus": "tabular", "options": {"path": "pin.csv", "columns": {
            "uid": "id", "text": "utterance", "label": "emotion", "split": "part"}}},
        "labels": {"scheme": "meld7"},
        "features": {"encoder": encoder, "layers": "avg_last4", "pooling": "wmean_pos",
                     "cache_dir": "cache", "device": "cpu"},
        "model": {"name": "mlp", "hidden": 32, "dropout": 0.3},
        "loss": {"name": "focal", "gamma": 1.2},
        "training": {"epochs": 40, "patience": 15, "batch_size": 16, "lr": 0.01, "progress": False,
                     "device": "cpu", **training},
        "seed": 42,
    })
    result = run_experiment(config, data_root=tmp_path, out_dir=tmp_path / "runs")
    return result, np.load(result.run_dir / "test_probs.npy")


def _check(result, probs, expected: dict) -> None:
    got = {"run_id": result.run_dir.name, "best_epoch": result.results["best_epoch"]}
    for split in ("dev", "test"):
        for metric in ("weighted_f1", "macro_f1", "accuracy"):
            got[f"{split}_{metric}"] = result.results[split][metric]
    got["probs_sum_sq"] = float(np.square(probs.astype(np.float64)).sum())
    got["probs_first"] = [round(float(p), 6) for p in probs[0]]
    print(got)  # the new pins, when a change is intended
    assert got["run_id"] == expected["run_id"]
    assert got["best_epoch"] == expected["best_epoch"]
    for key in [k for k in expected if k.startswith(("dev_", "test_"))]:
        assert got[key] == pytest.approx(expected[key], abs=1e-6), key
    assert got["probs_sum_sq"] == pytest.approx(expected["probs_sum_sq"], abs=1e-5)
    np.testing.assert_allclose(got["probs_first"], expected["probs_first"], atol=1e-5)


def test_frozen_feature_head_run_is_pinned(tmp_path, monkeypatch):
    _tiny_bert(tmp_path / "bert")
    result, probs = _run(tmp_path, monkeypatch, "bert")
    _check(result, probs, PINNED_HEAD)


def test_frozen_feature_head_run_with_balanced_sampler_and_mixup_is_pinned(tmp_path, monkeypatch):
    """The trainer's other random draws (sampler, mixup) in their order."""
    _tiny_bert(tmp_path / "bert")
    result, probs = _run(tmp_path, monkeypatch, "bert", balanced_sampler=True, mixup_alpha=0.4)
    _check(result, probs, PINNED_SAMPLER_MIXUP)


@pytest.mark.integration
def test_default_encoder_run_is_pinned(tmp_path, monkeypatch):
    """The embedded MiniLM: catches encoder, tokenizer, layer-mix and pooling drift."""
    result, probs = _run(tmp_path, monkeypatch, "default")
    _check(result, probs, PINNED_MINILM)


PINNED_HEAD = {
    'run_id': 'pin-6f86feb644', 'best_epoch': 14, 'dev_weighted_f1': 0.21666666666666667,
    'dev_macro_f1': 0.1392857142857143, 'dev_accuracy': 0.3333333333333333,
    'test_weighted_f1': 0.3692307692307693, 'test_macro_f1': 0.18021978021978022,
    'test_accuracy': 0.5, 'probs_sum_sq': 4.108335428399579,
    'probs_first': [0.085113, 0.050401, 0.058631, 0.305674, 0.052606, 0.05139, 0.396185]
}
PINNED_SAMPLER_MIXUP = {
    'run_id': 'pin-0b5a752507', 'best_epoch': 23, 'dev_weighted_f1': 0.6058201058201058,
    'dev_macro_f1': 0.5534013605442177, 'dev_accuracy': 0.6111111111111112,
    'test_weighted_f1': 0.5241702741702742, 'test_macro_f1': 0.45253555967841674,
    'test_accuracy': 0.5555555555555556, 'probs_sum_sq': 2.7863464640873277,
    'probs_first': [0.107611, 0.093359, 0.095727, 0.120557, 0.166407, 0.18891, 0.227429]
}
PINNED_MINILM = {
    'run_id': 'pin-e578146459', 'best_epoch': 13, 'dev_weighted_f1': 0.7761904761904762,
    'dev_macro_f1': 0.6772108843537415, 'dev_accuracy': 0.7777777777777778,
    'test_weighted_f1': 0.887057387057387, 'test_macro_f1': 0.7305075876504449,
    'test_accuracy': 0.8888888888888888, 'probs_sum_sq': 9.163966629926259,
    'probs_first': [0.004547, 0.014189, 0.003664, 0.027206, 0.174034, 0.00936, 0.767]
}
