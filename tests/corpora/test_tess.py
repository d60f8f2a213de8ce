"""TESS loader on a synthetic tree with the folder-name variants of the distributed copies."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from affectlab.corpora import apply_split, corpus_status, load_corpus
from affectlab.errors import DataNotFoundError
from affectlab.labels import get_mapping, get_scheme

from ._wavs import write_wav

#: Folder names as in the widely shared copy: the case and spelling vary.
FOLDERS = {
    "OAF": {"angry": "OAF_angry", "disgust": "OAF_disgust", "fear": "OAF_Fear", "happy": "OAF_happy",
            "neutral": "OAF_neutral", "ps": "OAF_Pleasant_surprise", "sad": "OAF_Sad"},
    "YAF": {"angry": "YAF_angry", "disgust": "YAF_disgust", "fear": "YAF_fear", "happy": "YAF_happy",
            "neutral": "YAF_neutral", "ps": "YAF_pleasant_surprised", "sad": "YAF_sad"},
}
WORDS = ("back", "bite")


def write_tess(base: Path) -> Path:
    for speaker, folders in FOLDERS.items():
        for code, folder in folders.items():
            for word in WORDS:
                stem = f"{speaker}_{word}_{code}"
                if stem == "OAF_bite_neutral":
                    stem = "OA_bite_neutral"          # the one misnamed file of the release
                write_wav(base / folder / f"{stem}.wav")
    write_wav(base / "YAF_sad" / "YAF_back.wav")          # no emotion in the name
    write_wav(base / "YAF_sad" / "YAF_date_happy.wav")    # name and folder disagree
    return base


def test_tess_rows_and_variants(tmp_path):
    base = write_tess(tmp_path / "tess")
    corpus = load_corpus("tess", tmp_path)
    assert corpus.name == "tess" and corpus.root == base and len(corpus) == 28
    table = corpus.table.set_index("uid")
    row = table.loc["tess/YAF_back_ps"]
    assert row.label == "pleasant_surprise" and row.speaker == "YAF" and row.group == "YAF"
    assert row.text == "Say the word back" and row.word == "back" and row.emotion_code == "ps"
    assert row.age_group == "younger" and row.gender == "female"
    assert row.audio == "YAF_pleasant_surprised/YAF_back_ps.wav"
    assert (corpus.root / row.audio).is_file()
    assert table.loc["tess/OAF_back_fear", "audio"] == "OAF_Fear/OAF_back_fear.wav"
    repaired = table.loc["tess/OAF_bite_neutral"]
    assert repaired.speaker == "OAF" and repaired.audio == "OAF_neutral/OA_bite_neutral.wav"
    assert corpus.meta["repaired_names"] == ["OAF_neutral/OA_bite_neutral.wav"]
    assert corpus.meta["skipped_rows"] == 2
    assert Counter(corpus.table["label"]) == {c: 4 for c in get_scheme("tess7").classes}
    assert get_mapping("tess7->sentiment3").apply(["ps", "angry", "neutral"]) == \
        ["positive", "negative", "neutral"]


def test_tess_nested_kaggle_copy_is_read_once(tmp_path):
    outer = tmp_path / "tess" / "TESS Toronto emotional speech set data"
    write_tess(outer)
    write_tess(outer / "TESS Toronto emotional speech set data")   # the duplicated inner copy
    corpus = load_corpus("tess", tmp_path)
    assert corpus.root == outer and len(corpus) == 28
    assert corpus.meta["duplicate_files"] == 28


def test_tess_status_missing_and_default_split(tmp_path):
    assert corpus_status(tmp_path)["tess"] is False
    with pytest.raises(DataNotFoundError, match="tess/OAF_angry"):
        load_corpus("tess", tmp_path)
    write_tess(tmp_path / "TESS")
    assert corpus_status(tmp_path)["tess"] is True
    corpus = load_corpus("tess", tmp_path)
    assert corpus.meta["default_split"] == {"name": "group_kfold",
                                            "options": {"n_folds": 2, "fold": 0, "dev_fraction": 0.1}}
    with pytest.warns(UserWarning, match="only one training group"):
        split = apply_split(corpus, "predefined", require=("train", "dev", "test"))
    speakers = split.table.groupby("split")["speaker"].unique().map(set).to_dict()
    assert set(speakers) == {"train", "dev", "test"} and speakers["train"] | speakers["test"] == {"OAF", "YAF"}
    assert not speakers["train"] & speakers["test"] and speakers["dev"] == speakers["train"]
    assert (split.table["split"] == "dev").sum() == round(0.1 * 14)
