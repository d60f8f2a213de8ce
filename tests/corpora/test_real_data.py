"""The real datasets under ``$AFFECTLAB_DATA_ROOT`` (default ../shared/data): counts from SOURCE.md."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from affectlab.corpora import apply_split, check_leakage, corpus_status, load_corpus

pytestmark = pytest.mark.data

ROOT = Path(os.environ.get("AFFECTLAB_DATA_ROOT") or Path(__file__).parents[3] / "shared" / "data")


def need(name: str) -> None:
    if not ROOT.is_dir():
        pytest.skip(f"real data root {ROOT} not found (set AFFECTLAB_DATA_ROOT)")
    if not corpus_status(ROOT).get(name):
        pytest.skip(f"{name} not found under {ROOT}")


def per_split(corpus, column: str) -> dict[str, int]:
    return corpus.table.groupby("split")[column].nunique().to_dict()


def test_meld_counts():
    need("meld")
    corpus = load_corpus("meld", ROOT)
    assert corpus.table["split"].value_counts().to_dict() == {"train": 9989, "test": 2610, "dev": 1109}
    assert per_split(corpus, "dialogue") == {"train": 1038, "dev": 114, "test": 280}
    assert per_split(corpus, "speaker") == {"train": 260, "dev": 47, "test": 100}
    assert corpus.label_counts("train") == {
        "anger": 1109, "disgust": 271, "fear": 268, "joy": 1743,
        "neutral": 4710, "sadness": 683, "surprise": 1205}
    assert corpus.table.loc[corpus.table["split"] == "dev", "sentiment"].value_counts().to_dict() == {
        "neutral": 470, "negative": 406, "positive": 233}
    assert not corpus.table["text"].str.contains("[\x80-\x9f]").any()
    assert (corpus.table["text"].str.strip() != "").all()


def test_xed_counts():
    need("xed")
    corpus = load_corpus("xed", ROOT)
    assert corpus.table["source"].value_counts().to_dict() == {"annotated": 17528, "neutral": 9667}
    assert corpus.meta["skipped_rows"] == 8
    assert corpus.label_counts() == {
        "anger": 3828, "anticipation": 3400, "disgust": 2317, "fear": 2439, "joy": 2833,
        "neutral": 9667, "sadness": 2464, "surprise": 2442, "trust": 2699}
    annotated = corpus.table[corpus.table["source"] == "annotated"]
    assert Counter(annotated["label"].map(len)) == {1: 13655, 2: 3024, 3: 710, 4: 117, 5: 12, 6: 9, 7: 1}
    assert not corpus.table["text"].str.contains("\r").any()


def test_goemotions_counts():
    need("goemotions")
    corpus = load_corpus("goemotions", ROOT)
    assert corpus.table["split"].value_counts().to_dict() == {"train": 43410, "dev": 5426, "test": 5427}
    train = corpus.label_counts("train")
    assert len(corpus.meta["label_names"]) == 28
    assert (train["neutral"], train["admiration"], train["grief"]) == (14219, 4130, 77)
    labels_per_row = Counter(corpus.table.loc[corpus.table["split"] == "train", "label"].map(len))
    assert labels_per_row == {1: 36308, 2: 6541, 3: 532, 4: 28, 5: 1}


def test_mustard_counts_and_protocols():
    need("mustard")
    corpus = load_corpus("mustard", ROOT)
    assert len(corpus) == 690 and corpus.label_counts() == {"not_sarcastic": 345, "sarcastic": 345}
    assert corpus.table["show"].value_counts().to_dict() == {
        "FRIENDS": 356, "BBT": 280, "GOLDENGIRLS": 40, "SARCASMOHOLICS": 14}
    for fold in range(5):
        split = load_corpus("mustard", ROOT, fold=fold).table["split"].value_counts().to_dict()
        assert split == {"train": 552, "test": 138}
    independent = load_corpus("mustard", ROOT, speaker_independent=True)
    assert independent.table["split"].value_counts().to_dict() == {"test": 356, "train": 334}


def test_splitters_on_real_data():
    need("xed")
    need("meld")
    xed = load_corpus("xed", ROOT)
    a = apply_split(xed, "stratified_kfold", n_folds=5, fold=0, seed=0, dev_fraction=0.1)
    b = apply_split(xed, "stratified_kfold", n_folds=5, fold=0, seed=0, dev_fraction=0.1)
    assert a.fingerprint() == b.fingerprint() and set(a.splits) == {"train", "dev", "test"}
    meld = load_corpus("meld", ROOT)
    assert any("speakers" in w for w in check_leakage(meld))  # MELD is speaker-dependent
    grouped = apply_split(meld, "group_kfold", n_folds=5, fold=0, by="dialogue")
    assert not any("dialogues" in w for w in check_leakage(grouped))
