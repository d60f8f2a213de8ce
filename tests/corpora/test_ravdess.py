"""RAVDESS loader on a synthetic tree in the official layout, and on the staged real data."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from affectlab.corpora import apply_split, check_leakage, corpus_status, load_corpus
from affectlab.errors import ConfigError, DataFormatError, DataNotFoundError
from affectlab.labels import get_mapping, get_scheme

from ..conftest import data_root
from ._wavs import write_lfs_pointer, write_wav

EMOBOX = [[1, 11, 20, 21], [2, 12, 19, 22], [3, 13, 18, 23], [4, 14, 17, 24], [5, 9, 15, 16],
          [6, 7, 8, 10]]


def name(channel=1, emotion=1, intensity=1, statement=1, repetition=1, actor=1) -> str:
    return f"03-{channel:02d}-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}.wav"


def write_ravdess(root: Path, actors=(1, 2, 3), song: bool = True) -> Path:
    folder = root / "ravdess"
    for actor in actors:
        actor_dir = folder / f"Actor_{actor:02d}"
        for emotion in (1, 3, 8):
            for statement in (1, 2):
                write_wav(actor_dir / name(emotion=emotion, statement=statement, actor=actor,
                                           intensity=1 if emotion == 1 else 2))
        if song:
            write_wav(actor_dir / name(channel=2, emotion=2, actor=actor))
    junk = folder / "Actor_01"
    write_wav(junk / "03-01-01-01-01-01.wav")               # six fields
    write_wav(junk / name(emotion=9))                        # no emotion 09
    write_wav(junk / "._03-01-01-01-01-01-01.wav")           # macOS resource fork: ignored
    (junk / "notes.txt").write_text("not audio", encoding="utf-8")
    return folder


def test_ravdess_rows_labels_and_audio(tmp_path):
    folder = write_ravdess(tmp_path)
    corpus = load_corpus("ravdess", tmp_path)
    assert corpus.name == "ravdess" and corpus.root == folder and len(corpus) == 3 * 6
    table = corpus.table.set_index("uid")
    row = table.loc["ravdess/03-01-08-02-02-01-02"]
    assert row.label == "surprised" and row.text == "Dogs are sitting by the door"
    assert row.speaker == "Actor_02" and row.group == "Actor_02" and row.actor == 2
    assert row.gender == "female" and row.intensity == "strong" and row.vocal_channel == "speech"
    assert row.statement == 2 and row.repetition == 1 and row.emotion_code == "08"
    assert row.audio == "Actor_02/03-01-08-02-02-01-02.wav"
    assert table.loc["ravdess/03-01-01-01-01-01-01", "text"] == "Kids are talking by the door"
    assert table.loc["ravdess/03-01-01-01-01-01-01", "gender"] == "male"
    for audio in corpus.table["audio"]:
        info = sf.info(corpus.root / audio)
        assert info.samplerate == 16000 and info.frames == 1600
    assert corpus.table["split"].isna().all()
    assert set(corpus.table["label"]) <= set(get_scheme("ravdess8").classes)
    assert get_scheme("ravdess8").encode(corpus.table["label"]).max() == 7
    assert set(get_mapping("ravdess8->sentiment3").apply(corpus.table["label"])) == {"neutral", "positive"}
    # malformed names are skipped and counted; the song files are only left out
    assert corpus.meta["skipped_rows"] == 2
    reasons = " ".join(corpus.meta["skip_reasons"])
    assert "03-01-01-01-01-01.wav" in reasons and "emotion code 09" in reasons
    assert corpus.meta["other_channel_files"] == 3 and corpus.meta["channels"] == ["speech"]


def test_ravdess_channels(tmp_path):
    write_ravdess(tmp_path)
    both = load_corpus("ravdess", tmp_path, channels=("speech", "song"))
    assert len(both) == 3 * 7 and Counter(both.table["vocal_channel"]) == {"speech": 18, "song": 3}
    song = load_corpus("ravdess", tmp_path, channels="song")
    assert set(song.table["label"]) == {"calm"} and song.meta["other_channel_files"] == 18
    with pytest.raises(ConfigError, match="subset of"):
        load_corpus("ravdess", tmp_path, channels=("speach",))
    with pytest.raises(ConfigError, match="channels"):
        load_corpus("ravdess", tmp_path, channel="song")


def test_ravdess_official_zip_folders_speech_and_song(tmp_path):
    speech = tmp_path / "ravdess" / "Audio_Speech_Actors_01-24" / "Actor_01"
    song = tmp_path / "ravdess" / "Audio_Song_Actors_01-24" / "Actor_01"
    write_wav(speech / name(emotion=5))
    write_wav(song / name(channel=2, emotion=5))
    corpus = load_corpus("ravdess", tmp_path, channels=["speech", "song"])
    assert sorted(corpus.table["audio"]) == [
        "Audio_Song_Actors_01-24/Actor_01/03-02-05-01-01-01-01.wav",
        "Audio_Speech_Actors_01-24/Actor_01/03-01-05-01-01-01-01.wav"]
    assert set(corpus.table["label"]) == {"angry"}


def test_ravdess_song_only_tree_says_which_channel_to_ask_for(tmp_path):
    write_wav(tmp_path / "ravdess" / "Actor_01" / name(channel=2, emotion=3))
    with pytest.raises(DataFormatError, match="channels=.*song"):
        load_corpus("ravdess", tmp_path)


def test_ravdess_duplicates_and_lfs_pointers(tmp_path):
    folder = write_ravdess(tmp_path, actors=(1,), song=False)
    copy = folder / "Audio_Speech_Actors_01-24" / "Actor_01"
    write_wav(copy / name(emotion=3, intensity=2))           # the same recording again
    write_lfs_pointer(folder / "Actor_01" / name(emotion=4))
    corpus = load_corpus("ravdess", tmp_path)
    assert len(corpus) == 6 and corpus.meta["duplicate_files"] == 1
    assert corpus.meta["lfs_pointers"] == 1 and corpus.meta["skipped_rows"] == 3


def test_ravdess_locate_and_missing(tmp_path):
    assert corpus_status(tmp_path)["ravdess"] is False
    with pytest.raises(DataNotFoundError) as info:
        load_corpus("ravdess", tmp_path)
    message = str(info.value)
    assert "ravdess/Actor_01" in message and "expected layout" in message and "\n" not in message
    folder = write_ravdess(tmp_path)
    assert corpus_status(tmp_path)["ravdess"] is True
    assert load_corpus("ravdess", folder).root == folder   # the ravdess folder as the root


def test_ravdess_emobox_folds_and_default_split(tmp_path):
    write_ravdess(tmp_path, actors=(1, 2, 3, 11))
    corpus = load_corpus("ravdess", tmp_path)
    assert corpus.meta["folds"] == [[f"Actor_{a:02d}" for a in fold] for fold in EMOBOX]
    assert corpus.meta["default_split"] == {"name": "group_folds", "options": {"fold": 0}}
    with pytest.warns(UserWarning, match="not in the corpus"):
        split = apply_split(corpus, "predefined")
    assert split.meta["split_protocol"]["name"] == "group_folds"
    assert split.meta["split_protocol"]["default_for"] == "predefined"
    by_split = split.table.groupby("split")["speaker"].unique().map(set).to_dict()
    assert by_split == {"test": {"Actor_01", "Actor_11"}, "dev": {"Actor_02"}, "train": {"Actor_03"}}
    # EmoBox's integer actor lists work on the int ``actor`` column too
    with pytest.warns(UserWarning):
        by_number = apply_split(corpus, "group_folds", folds=EMOBOX, fold=0, by="actor")
    assert by_number.table["split"].tolist() == split.table["split"].tolist()


# --- the real staged data ------------------------------------------------------------------------

@pytest.mark.data
def test_real_ravdess_counts_and_emobox_folds():
    root = data_root()
    if not corpus_status(root).get("ravdess"):
        pytest.skip(f"RAVDESS not staged under {root} (see ../shared/data/README.md, "
                    "'Speech: RAVDESS'); set AFFECTLAB_DATA_ROOT to where it is")
    corpus = load_corpus("ravdess", root)
    assert len(corpus) == 1440 and corpus.meta["skipped_rows"] == 0
    counts = corpus.label_counts()
    assert counts == {c: (96 if c == "neutral" else 192) for c in get_scheme("ravdess8").classes}
    assert corpus.table["speaker"].nunique() == 24
    assert corpus.table.groupby("speaker").size().eq(60).all()
    assert Counter(corpus.table["gender"]) == {"male": 720, "female": 720}
    for audio in corpus.table["audio"].iloc[::300]:
        assert sf.info(corpus.root / audio).samplerate == 48000
    tested: Counter = Counter()
    for fold in range(6):
        split = apply_split(corpus, "group_folds", fold=fold)
        actors = split.table.groupby("split")["speaker"].unique().map(set).to_dict()
        assert set(actors) == {"train", "dev", "test"}
        assert len(actors["test"]) == 4 and len(actors["dev"]) == 4 and len(actors["train"]) == 16
        assert not (actors["test"] & actors["dev"] or actors["test"] & actors["train"]
                    or actors["dev"] & actors["train"])
        assert actors["test"] == {f"Actor_{a:02d}" for a in EMOBOX[fold]}
        assert not any("speakers" in w for w in check_leakage(split))
        tested.update(actors["test"])
    assert len(tested) == 24 and set(tested.values()) == {1}
    default = apply_split(corpus, "predefined")
    fold0 = apply_split(corpus, "group_folds", fold=0)
    assert default.table["split"].tolist() == fold0.table["split"].tolist()
