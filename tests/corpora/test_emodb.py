"""Berlin EmoDB loader on a synthetic wav/ tree."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from affectlab.corpora import apply_split, corpus_status, load_corpus
from affectlab.errors import DataNotFoundError
from affectlab.labels import get_mapping, get_scheme

from ._wavs import write_wav

SPEAKERS = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")


def write_emodb(root: Path) -> Path:
    folder = root / "emodb"
    for speaker in SPEAKERS:
        for text, letter in (("a01", "W"), ("a05", "L"), ("b03", "E"), ("b10", "A"),
                             ("a02", "F"), ("a04", "T"), ("a07", "N")):
            write_wav(folder / "wav" / f"{speaker}{text}{letter}a.wav")
    write_wav(folder / "wav" / "03a01Fb.wav")               # a second version
    write_wav(folder / "wav" / "03a01Xa.wav")               # no emotion X
    write_wav(folder / "wav" / "3a01Fa.wav")                # speaker with one digit
    (folder / "erkennung.txt").write_text("listener results", encoding="latin-1")
    return folder


def test_emodb_rows(tmp_path):
    folder = write_emodb(tmp_path)
    corpus = load_corpus("emodb", tmp_path)
    assert corpus.name == "emodb" and corpus.root == folder and len(corpus) == 71
    table = corpus.table.set_index("uid")
    row = table.loc["emodb/03a01Fb"]
    assert row.label == "happiness" and row.speaker == "03" and row.group == "03"
    assert row.text == "Der Lappen liegt auf dem Eisschrank." and row.text_code == "a01"
    assert row.emotion_code == "F" and row.version == "b" and row.gender == "male" and row.age == 31
    assert row.audio == "wav/03a01Fb.wav" and (corpus.root / row.audio).is_file()
    assert table.loc["emodb/08a05La", "label"] == "boredom"
    assert table.loc["emodb/08a05La", "gender"] == "female"
    assert corpus.meta["skipped_rows"] == 2
    counts = Counter(corpus.table["label"])
    assert set(counts) == set(get_scheme("emodb7").classes) and counts["happiness"] == 11
    assert get_scheme("emodb7").encode(["W", "l", "n"]).tolist() == [0, 1, 6]
    assert get_mapping("emodb7->sentiment3").apply(["boredom", "F", "N"]) == \
        ["negative", "positive", "neutral"]


def test_emodb_status_missing_and_default_split(tmp_path):
    assert corpus_status(tmp_path)["emodb"] is False
    with pytest.raises(DataNotFoundError, match="emodb/wav"):
        load_corpus("emodb", tmp_path)
    write_emodb(tmp_path)
    assert corpus_status(tmp_path)["emodb"] is True
    corpus = load_corpus("emodb", tmp_path)
    assert corpus.meta["default_split"]["options"]["n_folds"] == 5
    split = apply_split(corpus, "predefined")
    assert set(split.splits) == {"train", "dev", "test"}
    assert split.table.groupby("speaker")["split"].nunique().eq(1).all()
    assert split.meta["split"]["splitter"] == "group_kfold"


def test_emodb_root_itself_only_with_emodb_files(tmp_path):
    write_wav(tmp_path / "wav" / "unrelated.wav")      # a data root's own wav/ folder
    assert corpus_status(tmp_path)["emodb"] is False
    write_wav(tmp_path / "wav" / "03a01Fa.wav")
    assert corpus_status(tmp_path)["emodb"] is True
    corpus = load_corpus("emodb", tmp_path)
    assert corpus.root == tmp_path and len(corpus) == 1 and corpus.meta["skipped_rows"] == 1
