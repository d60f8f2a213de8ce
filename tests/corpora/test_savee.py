"""SAVEE loader on a synthetic AudioData/ tree (and the flat ALL/ copy)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from affectlab.corpora import apply_split, corpus_status, load_corpus
from affectlab.errors import DataNotFoundError
from affectlab.labels import get_mapping, get_scheme

from ._wavs import write_wav

CODES = ("a", "d", "f", "h", "n", "sa", "su")


def write_savee(root: Path, speakers=("DC", "JE", "JK", "KL")) -> Path:
    folder = root / "savee"
    for speaker in speakers:
        for code in CODES:
            for number in (1, 2):
                write_wav(folder / "AudioData" / speaker / f"{code}{number:02d}.wav")
    write_wav(folder / "AudioData" / "DC" / "x01.wav")        # no emotion x
    write_wav(folder / "AudioData" / "DC" / "sa1.wav")        # one digit
    (folder / "AudioData" / "Info.txt").write_text("readme", encoding="utf-8")
    return folder


def test_savee_rows(tmp_path):
    folder = write_savee(tmp_path)
    corpus = load_corpus("savee", tmp_path)
    assert corpus.name == "savee" and corpus.root == folder and len(corpus) == 4 * 14
    table = corpus.table.set_index("uid")
    row = table.loc["savee/JK_sa02"]
    assert row.label == "sadness" and row.speaker == "JK" and row.group == "JK"
    assert row.sentence == 2 and row.emotion_code == "sa" and row.gender == "male"
    assert row.audio == "AudioData/JK/sa02.wav" and (corpus.root / row.audio).is_file()
    assert row.text is None
    assert table.loc["savee/DC_su01", "label"] == "surprise"
    assert table.loc["savee/DC_a01", "label"] == "anger"
    assert corpus.meta["skipped_rows"] == 2
    assert Counter(corpus.table["label"]) == {c: 8 for c in get_scheme("savee7").classes}
    assert get_mapping("savee7->sentiment3").apply(["h", "su", "sa"]) == ["positive", None, "negative"]


def test_savee_flat_copy(tmp_path):
    for name in ("DC_a01.wav", "KL_su15.wav", "JE_n30.wav", "XX_a01.wav"):
        write_wav(tmp_path / "savee" / "ALL" / name)
    corpus = load_corpus("savee", tmp_path)
    assert sorted(corpus.table["uid"]) == ["savee/DC_a01", "savee/JE_n30", "savee/KL_su15"]
    assert corpus.meta["skipped_rows"] == 1


def test_savee_status_missing_and_default_split(tmp_path):
    assert corpus_status(tmp_path)["savee"] is False
    with pytest.raises(DataNotFoundError, match="savee/AudioData/DC"):
        load_corpus("savee", tmp_path)
    write_savee(tmp_path)
    assert corpus_status(tmp_path)["savee"] is True
    corpus = load_corpus("savee", tmp_path)
    split = apply_split(corpus, "predefined")
    speakers = split.table.groupby("split")["speaker"].unique().map(set).to_dict()
    assert set(speakers) == {"train", "dev", "test"}
    assert len(speakers["test"]) == 1 and len(speakers["dev"]) == 1 and len(speakers["train"]) == 2
    assert split.table.groupby("speaker")["split"].nunique().eq(1).all()
