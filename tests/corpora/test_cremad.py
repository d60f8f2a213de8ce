"""CREMA-D loader on a synthetic AudioWAV/ tree (official repository layout)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

from affectlab.corpora import apply_split, check_leakage, corpus_status, load_corpus
from affectlab.errors import DataFormatError, DataNotFoundError
from affectlab.labels import get_mapping, get_scheme

from ._wavs import write_lfs_pointer, write_wav

FILES = [
    "1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1001_IEO_NEU_XX", "1002_TIE_SAD_LO", "1002_WSI_FEA_MD",
    "1003_ITH_DIS_XX", "1004_MTI_ANG_HI", "1005_TSI_HAP_LO", "1006_IWL_SAD_XX", "1007_ITS_NEU_XX",
]


def write_cremad(root: Path, demographics: bool = True) -> Path:
    folder = root / "crema-d"
    for stem in FILES:
        write_wav(folder / "AudioWAV" / f"{stem}.wav")
    write_wav(folder / "AudioWAV" / "1040_ITH_SAD_X.wav")     # misnamed in old copies
    write_wav(folder / "AudioWAV" / "1008_XYZ_ANG_XX.wav")    # no such sentence
    write_wav(folder / "AudioWAV" / "1008_DFA_ANG.wav")       # a field short
    if demographics:
        (folder / "VideoDemographics.csv").write_text(
            'ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n'
            '1002,21,Female,Caucasian,Not Hispanic\n1040,25,"Female","Unknown","Hispanic"\n',
            encoding="utf-8")
    return folder


def test_cremad_rows(tmp_path):
    folder = write_cremad(tmp_path)
    corpus = load_corpus("cremad", tmp_path)
    assert corpus.name == "cremad" and corpus.root == folder and len(corpus) == 11
    table = corpus.table.set_index("uid")
    row = table.loc["cremad/1001_DFA_ANG_XX"]
    assert row.label == "anger" and row.text == "Don't forget a jacket"
    assert row.speaker == "1001" and row.group == "1001" and row.intensity == "unspecified"
    assert row.sentence_code == "DFA" and row.emotion_code == "ANG"
    assert row.gender == "male" and row.age == 51
    assert row.audio == "AudioWAV/1001_DFA_ANG_XX.wav"
    assert sf.info(corpus.root / row.audio).frames == 1600
    assert table.loc["cremad/1002_WSI_FEA_MD", "text"] == "We'll stop in a couple of minutes"
    assert table.loc["cremad/1002_WSI_FEA_MD", "intensity"] == "medium"
    assert pd.isna(table.loc["cremad/1004_MTI_ANG_HI", "gender"])   # not in the demographics file
    # the known misnaming is repaired, not dropped
    assert table.loc["cremad/1040_ITH_SAD_XX", "audio"] == "AudioWAV/1040_ITH_SAD_X.wav"
    assert corpus.meta["repaired_names"] == ["1040_ITH_SAD_X.wav"]
    assert corpus.meta["skipped_rows"] == 2
    assert "'XYZ'" in " ".join(corpus.meta["skip_reasons"])
    assert set(corpus.table["label"]) == set(get_scheme("cremad6").classes)
    assert get_mapping("cremad6->sentiment3").apply(["anger", "HAP", "neu"]) == \
        ["negative", "positive", "neutral"]


def test_cremad_without_demographics_and_status(tmp_path):
    assert corpus_status(tmp_path)["cremad"] is False
    with pytest.raises(DataNotFoundError, match="crema-d/AudioWAV"):
        load_corpus("cremad", tmp_path)
    write_cremad(tmp_path, demographics=False)
    assert corpus_status(tmp_path)["cremad"] is True
    corpus = load_corpus("cremad", tmp_path)
    assert "gender" not in corpus.table.columns and len(corpus) == 11


def test_cremad_default_split_is_speaker_independent(tmp_path):
    write_cremad(tmp_path)
    corpus = load_corpus("cremad", tmp_path)
    assert corpus.meta["default_split"]["name"] == "group_kfold"
    assert corpus.meta["default_split"]["options"]["n_folds"] == 5
    split = apply_split(corpus, "predefined")
    assert split.meta["split_protocol"]["name"] == "group_kfold"
    assert split.table.groupby("speaker")["split"].nunique().eq(1).all()
    assert {"train", "test"} <= set(split.splits)
    assert not any("speakers" in w for w in check_leakage(split))


def test_cremad_git_lfs_pointers_are_an_error_that_says_what_to_do(tmp_path):
    for stem in FILES[:3]:
        write_lfs_pointer(tmp_path / "crema-d" / "AudioWAV" / f"{stem}.wav")
    with pytest.raises(DataFormatError, match="git lfs pull"):
        load_corpus("cremad", tmp_path)
