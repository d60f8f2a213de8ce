"""Loaders on tiny synthetic files written in each dataset's official format and quirks."""
from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from affectlab.corpora import Corpus, corpus_status, list_corpora, load_corpus
from affectlab.corpora._common import repair_text
from affectlab.errors import ConfigError, DataFormatError, DataNotFoundError

from ._wavs import write_wav

MELD_HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
               "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]


# --- writers: the official layouts -------------------------------------------------------------

def write_meld(root: Path) -> Path:
    folder = root / "meld"
    folder.mkdir(parents=True)
    rows = {
        "train": [
            ["You must\x92ve had your hands full.", "Chandler", "Neutral", "neutral", 0, 0],
            ["That I did. That I did.", "The Interviewer", "neutral", "neutral", 0, 1],
            ["So let\u00e2\u0080\u0099s talk a little bit\x85", "Chandler", "joy", "positive", 1, 0],
            ["Oh my God!", "Monica", "surprise", "positive", 2, 0],
        ],
        "dev": [["Hey\x97wait!", "Ross", "anger", "negative", 0, 0],
                ["Okay.", "Rachel", "neutral", "neutral", 0, 1]],
        "test": [["Why?", "Joey", "sadness", "negative", 0, 0]],
    }
    for split, items in rows.items():
        with open(folder / f"{split}_sent_emo.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(MELD_HEADER)
            for number, (text, speaker, emo, sent, dia, utt) in enumerate(items, 1):
                writer.writerow([number, text, speaker, emo, sent, dia, utt, 8, 21,
                                 "00:16:16,059", "00:16:21,731"])
    return folder


def write_xed(root: Path) -> Path:
    folder = root / "xed"
    folder.mkdir(parents=True)
    annotated = ["!\t1, 4, 7", "I love you .\t5", "What a \"strange\" day\t7, 2",
                 "broken row without labels", "Bad id\t12"]
    (folder / "en-annotated.tsv").write_bytes(("\r\n".join(annotated) + "\r\n").encode("utf-8"))
    neutral = ["9\tThe car is red .", "9\tChu Kot is Ning\t\t\t", "\t\t\t\t", "9\tOpen the door .",
               "3\tWrong label here"]
    (folder / "neu_en.txt").write_bytes("\n".join(neutral).encode("utf-8"))  # no final newline
    return folder


def write_goemotions(root: Path) -> Path:
    folder = root / "goemotions"
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("admiration\namusement\nanger\nneutral\n", encoding="utf-8")
    splits = {
        "train": ['"Quoted start and no end\t0,1\teeaa001', "WHY THE [NAME] IS THIS\t2\teeaa002"],
        "dev": ["Fine.\t3\teeaa003"],
        "test": ["lol ok\t1,3\teeaa004"],
    }
    for split, lines in splits.items():
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


MUSTARD_CLIPS = {
    "1_60": ("It's just a privilege.", "SHELDON", "BBT", True),
    "1_70": ("I don't think so.", "PENNY", "BBT", False),
    "2_10": ("Oh, great.", "CHANDLER", "FRIENDS", True),
    "2_20": ("Sure.", "PERSON", "FRIENDS", False),
    "3_5": ("Lovely.", "PERSON", "BBT", True),
}


def write_mustard(root: Path, with_folds: bool = True) -> Path:
    folder = root / "mustard"
    folder.mkdir(parents=True)
    data = {
        key: {"utterance": text, "speaker": speaker, "context": ["Before.", "Just before."],
              "context_speakers": ["A", "B"], "show": show, "sarcasm": sarcasm}
        for key, (text, speaker, show, sarcasm) in MUSTARD_CLIPS.items()
    }
    (folder / "sarcasm_data.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    if with_folds:
        folds = [(np.array([0, 1, 2]), np.array([3, 4])), (np.array([2, 3, 4]), np.array([0, 1]))]
        (folder / "split_indices.p").write_bytes(pickle.dumps(folds, protocol=2))
    return folder


EMO_EVAL = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
A-E3:\tval 3; act 2; dom  2;\t()

[10.0100 - 11.3925]\tSes01F_impro01_M001\tfru\t[2.0000, 3.5000, 3.5000]
C-E1:\tFrustration;\t()

[8.5000 - 9.9000]\tSes01F_impro01_M000\txxx\t[2.5000, 3.0000, 3.0000]
"""
TRANSCRIPT = """Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
Ses01F_impro01_M000 [008.5000-009.9000]: Do you have your forms?
Ses01F_impro01_M001 [010.0100-011.3925]: Yeah.
Ses01F_impro01_MXX0 [012.0000-013.0000]: [LAUGHTER]
"""


def write_iemocap(root: Path, nested: bool = True,
                  wavs: tuple[str, ...] = ("Ses01F_impro01_F000",)) -> Path:
    """The official release layout; ``wavs`` get a real file in sentences/wav/<dialog>/."""
    base = root / "iemocap" / "IEMOCAP_full_release" if nested else root / "iemocap"
    for uid in wavs:
        dialog = uid.rsplit("_", 1)[0]
        write_wav(base / f"Session{int(uid[3:5])}" / "sentences" / "wav" / dialog / f"{uid}.wav")
    for number, eval_text, transcript in (
        (1, EMO_EVAL, TRANSCRIPT),
        (2, "[1.0 - 2.0]\tSes02M_script01_1_F000\tang\t[1.5000, 4.0000, 4.0000]\n",
         "Ses02M_script01_1_F000 [001.0000-002.0000]: Get out!\n"),
    ):
        dialog = base / f"Session{number}" / "dialog"
        name = "Ses01F_impro01" if number == 1 else "Ses02M_script01_1"
        (dialog / "EmoEvaluation" / "Categorical").mkdir(parents=True)
        (dialog / "transcriptions").mkdir(parents=True)
        (dialog / "EmoEvaluation" / f"{name}.txt").write_text(eval_text, encoding="utf-8")
        (dialog / "EmoEvaluation" / "Categorical" / f"{name}_e1_cat.txt").write_text(
            "Ses01F_impro01_F000 :Neutral state; ()\n", encoding="utf-8")
        (dialog / "EmoEvaluation" / f"._{name}.txt").write_bytes(b"\x00\x05\x16\x07 mac junk")
        (dialog / "transcriptions" / f"{name}.txt").write_text(transcript, encoding="utf-8")
    return base


# --- registry / API ----------------------------------------------------------------------------

def test_registry_lists_every_loader():
    assert list_corpora() == ["cremad", "emobank", "emodb", "goemotions", "iemocap", "isarcasmeval",
                              "meld", "mustard", "ravdess", "sarcasm_headlines", "savee", "tabular",
                              "tess", "xed"]


def test_corpus_status_reports_found_missing_and_unlocated(tmp_path):
    write_meld(tmp_path)
    write_xed(tmp_path)
    status = corpus_status(tmp_path)
    assert status["meld"] is True and status["xed"] is True
    assert status["goemotions"] is False and status["iemocap"] is False
    assert status["tabular"] is None


def test_unknown_option_is_a_config_error_listing_options(tmp_path):
    write_meld(tmp_path)
    with pytest.raises(ConfigError, match="splits"):
        load_corpus("meld", tmp_path, split=["train"])


def test_unknown_corpus_lists_known_names():
    with pytest.raises(ConfigError, match="meld"):
        load_corpus("nope", "/tmp")


def test_data_root_from_environment(tmp_path, monkeypatch):
    write_meld(tmp_path)
    monkeypatch.setenv("AFFECTLAB_DATA_ROOT", str(tmp_path))
    assert len(load_corpus("meld")) == 7
    monkeypatch.delenv("AFFECTLAB_DATA_ROOT")
    with pytest.raises(DataNotFoundError, match="AFFECTLAB_DATA_ROOT"):
        load_corpus("meld")


@pytest.mark.parametrize("name, expected", [
    ("meld", "meld/train_sent_emo.csv"), ("xed", "xed/en-annotated.tsv"),
    ("goemotions", "goemotions/train.tsv"), ("mustard", "mustard/sarcasm_data.json"),
    ("iemocap", "IEMOCAP_full_release/Session1/dialog/EmoEvaluation"),
])
def test_missing_dataset_names_the_expected_path(tmp_path, name, expected):
    with pytest.raises(DataNotFoundError) as info:
        load_corpus(name, tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and expected in message and "expected layout" in message and "\n" not in message


# --- text repair -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, fixed", [
    ("must\x92ve", "must\u2019ve"), ("wait\x97no", "wait\u2014no"), ("so\x85", "so\u2026"),
    ("\x93hi\x94 \x91x\x92", "\u201chi\u201d \u2018x\u2019"),
    ("let\u00e2\u0080\u0099s", "let\u2019s"), ("let\u00e2\u20ac\u2122s", "let\u2019s"),
    ("caf\u00c3\u00a9", "caf\u00e9"), ("odd\x81", "odd"),
    ("clean caf\u00e9 it\u2019s", "clean caf\u00e9 it\u2019s"), ("", ""),
])
def test_repair_text(raw, fixed):
    assert repair_text(raw) == fixed


# --- MELD --------------------------------------------------------------------------------------

def test_meld_rows_and_repairs(tmp_path):
    folder = write_meld(tmp_path)
    corpus = load_corpus("meld", tmp_path)
    assert isinstance(corpus, Corpus) and corpus.name == "meld" and corpus.root == folder
    assert corpus.splits == ["dev", "test", "train"]
    table = corpus.table.set_index("uid")
    first = table.loc["meld/train/d0/u0"]
    assert first.text == "You must\u2019ve had your hands full."
    assert first.label == "neutral"  # lower-cased
    assert first.sentiment == "neutral" and first.speaker == "Chandler"
    assert first.dialogue == "train/0" and first.turn == 0 and first.season == 8
    assert first.start_time == "00:16:16,059"
    assert table.loc["meld/train/d1/u0"].text == "So let\u2019s talk a little bit\u2026"
    assert table.loc["meld/dev/d0/u0"].text == "Hey\u2014wait!"
    assert corpus.meta["repaired_texts"] == 3
    # dialogue ids restart per split but stay distinct
    assert table.loc["meld/dev/d0/u0"].dialogue == "dev/0"
    assert not corpus.table["text"].str.contains("[\x80-\x9f]").any()


def test_meld_subset_of_splits_and_root_is_meld_folder(tmp_path):
    folder = write_meld(tmp_path)
    (folder / "dev_sent_emo.csv").unlink()
    corpus = load_corpus("meld", folder, splits=["train", "test"])
    assert corpus.splits == ["test", "train"] and len(corpus) == 5
    with pytest.raises(DataNotFoundError, match="dev_sent_emo.csv"):
        load_corpus("meld", tmp_path)
    with pytest.raises(ConfigError, match="subset"):
        load_corpus("meld", tmp_path, splits=["validation"])


# --- XED ---------------------------------------------------------------------------------------

def test_xed_labels_neutral_and_skipped_rows(tmp_path):
    folder = write_xed(tmp_path)
    corpus = load_corpus("xed", tmp_path)
    assert corpus.multi_label and corpus.root == folder and corpus.splits == []
    table = corpus.table.set_index("uid")
    assert table.loc["xed/en/1", "label"] == ("anger", "fear", "surprise")
    assert table.loc["xed/en/1", "text"] == "!"  # no trailing CR
    assert table.loc["xed/en/3", "text"] == 'What a "strange" day'
    assert table.loc["xed/en/neutral/4", "label"] == ("neutral",)
    assert table.loc["xed/en/neutral/4", "text"] == "Open the door ."
    assert len(corpus) == 3 + 2
    assert corpus.meta["skipped_rows"] == 5
    reasons = " ".join(corpus.meta["skip_reasons"])
    assert "en-annotated.tsv:4" in reasons and "neu_en.txt:3" in reasons and "not 9" in reasons
    assert corpus.table["split"].isna().all()


def test_xed_without_neutral(tmp_path):
    folder = write_xed(tmp_path)
    assert len(load_corpus("xed", tmp_path, include_neutral=False)) == 3
    (folder / "neu_en.txt").unlink()
    with pytest.warns(UserWarning, match="neutral"):
        assert len(load_corpus("xed", tmp_path)) == 3


def test_xed_other_language(tmp_path):
    write_xed(tmp_path)
    with pytest.raises(DataNotFoundError, match="fi-annotated.tsv"):
        load_corpus("xed", tmp_path, language="fi")
    (tmp_path / "xed" / "fi-annotated.tsv").write_bytes("Hei!\t5\r\n".encode())
    with pytest.warns(UserWarning, match="neu_fi.txt"):
        corpus = load_corpus("xed", tmp_path, language="fi")
    assert corpus.name == "xed_fi" and list(corpus.table["label"]) == [("joy",)]


# --- GoEmotions ---------------------------------------------------------------------------------

def test_goemotions_multilabel_and_quotes(tmp_path):
    write_goemotions(tmp_path)
    corpus = load_corpus("goemotions", tmp_path)
    assert corpus.multi_label and corpus.name == "goemotions"
    table = corpus.table.set_index("uid")
    assert table.loc["goemotions/eeaa001", "label"] == ("admiration", "amusement")
    assert table.loc["goemotions/eeaa001", "text"] == '"Quoted start and no end'
    assert table.loc["goemotions/eeaa004", "split"] == "test"
    assert corpus.label_counts()["neutral"] == 2
    assert len(load_corpus("goemotions", tmp_path, splits=["dev"])) == 1


def test_goemotions_label_id_out_of_range(tmp_path):
    folder = write_goemotions(tmp_path)
    (folder / "labels.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="label id out of range"):
        load_corpus("goemotions", tmp_path)


def test_goemotions_missing_labels_file(tmp_path):
    folder = write_goemotions(tmp_path)
    (folder / "labels.txt").unlink()
    with pytest.raises(DataNotFoundError, match="labels.txt"):
        load_corpus("goemotions", tmp_path)


# --- MUStARD ------------------------------------------------------------------------------------

def test_mustard_rows(tmp_path):
    write_mustard(tmp_path)
    corpus = load_corpus("mustard", tmp_path)
    table = corpus.table.set_index("uid")
    row = table.loc["mustard/1_60"]
    assert row.label == "sarcastic" and row.group == "BBT" and row.show == "BBT"
    assert row.speaker == "BBT/SHELDON" and row.speaker_name == "SHELDON"
    assert row.context == ["Before.", "Just before."] and row.context_speakers == ["A", "B"]
    assert table.loc["mustard/1_70", "label"] == "not_sarcastic"
    # the same placeholder name in two shows is two speakers
    assert table.loc["mustard/2_20", "speaker"] != table.loc["mustard/3_5", "speaker"]
    assert corpus.table["split"].isna().all()


def test_mustard_folds_follow_json_key_order(tmp_path):
    write_mustard(tmp_path)
    corpus = load_corpus("mustard", tmp_path, fold=1)
    assert list(corpus.table["split"]) == ["test", "test", "train", "train", "train"]
    assert corpus.meta["protocol"] == "speaker_dependent_fold1"
    with pytest.raises(ConfigError, match="0..1"):
        load_corpus("mustard", tmp_path, fold=5)


def test_mustard_speaker_independent(tmp_path):
    write_mustard(tmp_path, with_folds=False)
    corpus = load_corpus("mustard", tmp_path, speaker_independent=True)
    assert set(corpus.table.loc[corpus.table["split"] == "test", "show"]) == {"FRIENDS"}
    assert corpus.label_counts("train") == {"not_sarcastic": 1, "sarcastic": 2}
    with pytest.raises(DataNotFoundError, match="split_indices.p"):
        load_corpus("mustard", tmp_path, fold=0)
    with pytest.raises(ConfigError, match="either"):
        load_corpus("mustard", tmp_path, fold=0, speaker_independent=True)


def test_mustard_refuses_pickles_with_code(tmp_path):
    folder = write_mustard(tmp_path)
    (folder / "split_indices.p").write_bytes(pickle.dumps([(print, ())]))
    with pytest.raises(DataFormatError, match="split_indices.p"):
        load_corpus("mustard", tmp_path, fold=0)


# --- IEMOCAP ------------------------------------------------------------------------------------

@pytest.mark.parametrize("nested", [True, False])
def test_iemocap_tree(tmp_path, nested):
    base = write_iemocap(tmp_path, nested=nested)
    corpus = load_corpus("iemocap", tmp_path)
    assert corpus.root == base and len(corpus) == 4
    table = corpus.table.set_index("uid")
    row = table.loc["Ses01F_impro01_F000"]
    assert row.text == "Excuse me." and row.label == "neu"
    assert row.speaker == "Ses01_F" and row.group == "Session1" and row.dialogue == "Ses01F_impro01"
    assert (row.valence, row.arousal, row.dominance) == (2.5, 2.5, 2.5)
    assert (row.start, row.end) == (6.2901, 8.2357)
    assert row.audio == "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"
    # turn follows start time, not file order
    assert table.loc["Ses01F_impro01_M000", "turn"] == 1 and table.loc["Ses01F_impro01_M001", "turn"] == 2
    assert table.loc["Ses01F_impro01_M001", "speaker"] == "Ses01_M"
    s2 = table.loc["Ses02M_script01_1_F000"]
    assert s2.dialogue == "Ses02M_script01_1" and s2.speaker == "Ses02_F" and s2.text == "Get out!"
    assert corpus.meta["skipped_rows"] == 0 and corpus.meta["missing_text"] == 0
    assert (corpus.root / row.audio).is_file()


def test_iemocap_audio_only_where_the_wav_exists(tmp_path):
    base = write_iemocap(tmp_path, wavs=("Ses01F_impro01_F000", "Ses02M_script01_1_F000"))
    junk = base / "Session1" / "sentences" / "wav" / "Ses01F_impro01"
    write_wav(junk / "._Ses01F_impro01_M000.wav")   # macOS resource fork: not the audio
    corpus = load_corpus("iemocap", tmp_path)
    audio = corpus.table.set_index("uid")["audio"]
    assert audio["Ses02M_script01_1_F000"] == \
        "Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F000.wav"
    assert audio[["Ses01F_impro01_M000", "Ses01F_impro01_M001"]].isna().all()
    assert corpus.meta["missing_audio"] == 2
    assert all((corpus.root / a).is_file() for a in audio.dropna())
    write_iemocap(tmp_path / "bare", wavs=())
    none = load_corpus("iemocap", tmp_path / "bare")
    assert none.table["audio"].isna().all() and none.meta["missing_audio"] == 4
    # speaker = session + gender of the speaker, group = session (leave-one-session-out)
    assert set(corpus.table["speaker"]) == {"Ses01_F", "Ses01_M", "Ses02_F"}
    assert set(corpus.table["group"]) == {"Session1", "Session2"}


def test_iemocap_options(tmp_path):
    write_iemocap(tmp_path)
    labelled = load_corpus("iemocap", tmp_path, drop_unlabelled=True)
    assert "xxx" not in set(labelled.table["label"]) and labelled.meta["dropped_unlabelled"] == 1
    assert set(load_corpus("iemocap", tmp_path, sessions=[2]).table["group"]) == {"Session2"}
    with pytest.raises(DataNotFoundError, match="Session3"):
        load_corpus("iemocap", tmp_path, sessions=[3])


# --- tabular ------------------------------------------------------------------------------------

def test_tabular_csv_with_mapping_and_multilabel(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "id,sentence,emotions,who,conv,pos,extra\n"
        "a,Hello there,\"joy, surprise\",ann,c1,0,x\n"
        "b,   ,anger,bob,c1,1,y\n"
        "c,Bye,,ann,c1,2,z\n", encoding="utf-8")
    corpus = load_corpus("tabular", path=path, multi_label_sep=",", columns={
        "uid": "id", "text": "sentence", "label": "emotions", "speaker": "who",
        "dialogue": "conv", "turn": "pos"})
    assert corpus.name == "mine" and corpus.multi_label and corpus.root == tmp_path
    assert list(corpus.table["uid"]) == ["a", "c"] and corpus.meta["dropped_empty"] == 1
    assert corpus.table["label"].tolist() == [("joy", "surprise"), None]
    assert corpus.table["turn"].tolist() == [0, 2] and corpus.table["extra"].tolist() == ["x", "z"]


def test_tabular_identity_columns_generated_uids_and_relative_path(tmp_path):
    (tmp_path / "d.tsv").write_text("text\tlabel\tlabel2\nok \"fine\"\t1\tq\ngood\t0\tr\n", encoding="utf-8")
    corpus = load_corpus("tabular", tmp_path, path="d.tsv", name="mine", quote=False)
    assert corpus.table["uid"].tolist() == ["mine/0", "mine/1"]
    assert corpus.table["label"].tolist() == ["1", "0"] and not corpus.multi_label
    assert corpus.table["text"].tolist() == ['ok "fine"', "good"]


def test_tabular_bad_rows_error_or_skip(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nfine,joy\nbroken,joy,extra,more\nalso fine,anger\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 3.*data\.options\.on_bad_lines: skip"):
        load_corpus("tabular", path=path)
    corpus = load_corpus("tabular", path=path, on_bad_lines="skip")
    assert corpus.table["text"].tolist() == ["fine", "also fine"]
    assert corpus.meta["skipped_rows"] == 1 and "broken" in corpus.meta["skip_reasons"][0]


def test_tabular_encoding(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("text,label\nI don\u2019t know,neutral\n".encode("cp1252"))
    with pytest.raises(DataFormatError, match=r"win\.csv.*data\.options\.encoding.*cp1252"):
        load_corpus("tabular", path=path)
    corpus = load_corpus("tabular", path=path, encoding="cp1252")
    assert corpus.table["text"].tolist() == ["I don\u2019t know"]


def test_tabular_fix_text(tmp_path):
    path = tmp_path / "c1.csv"
    path.write_text("text,label\nit\x92s,joy\n", encoding="utf-8")
    corpus = load_corpus("tabular", path=path, fix_text=True)
    assert corpus.table["text"].tolist() == ["it\u2019s"] and corpus.meta["repaired_texts"] == 1


def test_tabular_mapping_errors(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("sentence,emotion\nhi,joy\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no column 'txt'.*available: sentence, emotion"):
        load_corpus("tabular", path=path, columns={"text": "txt"})
    with pytest.raises(ConfigError, match="not a corpus column"):
        load_corpus("tabular", path=path, columns={"words": "sentence"})
    with pytest.raises(ConfigError, match=r"data\.options\.columns: \{text: <column>\}"):
        load_corpus("tabular", path=path)
    with pytest.raises(ConfigError, match=r"data\.options\.path.*data\.options\.paths"):
        load_corpus("tabular")
    with pytest.raises(DataNotFoundError, match="nothere.csv"):
        load_corpus("tabular", path=tmp_path / "nothere.csv")


def test_tabular_jsonl(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "a", "label": ["joy", "trust"], "turn": 1}\n'
                    "not json\n"
                    '{"text": "b", "label": ["fear"]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"x\.jsonl:2"):
        load_corpus("tabular", path=path)
    corpus = load_corpus("tabular", path=path, on_bad_lines="skip")
    assert corpus.multi_label and corpus.table["label"].tolist() == [("joy", "trust"), ("fear",)]
    assert corpus.table["turn"].tolist()[0] == 1 and corpus.meta["skipped_rows"] == 1


def test_tabular_duplicate_uids(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("uid,text\n1,a\n1,b\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="duplicate uids"):
        load_corpus("tabular", path=path)


def test_tabular_audio_column_relative_to_the_file(tmp_path):
    folder = tmp_path / "mydata"
    write_wav(folder / "clips" / "a.wav")
    write_wav(folder / "clips" / "b.wav")
    elsewhere = write_wav(tmp_path / "elsewhere" / "c.wav")
    (folder / "meta.csv").write_text(
        "path,emotion,actor,transcript\n"
        "clips/a.wav,angry,A1,Leave me alone\n"
        f"{elsewhere},happy,A2,\n"
        "clips/b.wav,sad,A1,\n"
        ",neutral,A3,\n", encoding="utf-8")
    corpus = load_corpus("tabular", tmp_path, path="mydata/meta.csv",
                         columns={"audio": "path", "label": "emotion", "speaker": "actor"})
    assert corpus.root == folder and corpus.root.is_absolute()
    table = corpus.table
    assert table["audio"].tolist() == ["clips/a.wav", str(elsewhere), "clips/b.wav", None]
    assert table["label"].tolist() == ["angry", "happy", "sad", "neutral"]
    assert table["speaker"].tolist() == ["A1", "A2", "A1", "A3"]
    assert table["text"].isna().all() and table["transcript"].tolist()[0] == "Leave me alone"
    assert all((corpus.root / a).is_file() for a in table["audio"].dropna())
    assert corpus.meta["missing_audio"] == 1 and corpus.meta["missing_audio_examples"] == []
    # with a text column too: rows with audio but no transcript stay, with text None
    both = load_corpus("tabular", path=folder / "meta.csv", columns={
        "audio": "path", "text": "transcript", "label": "emotion", "speaker": "actor"})
    assert both.table["text"].tolist() == ["Leave me alone", None, None]
    assert both.meta["dropped_empty"] == 1   # neither text nor audio


def test_tabular_missing_audio_warns_and_counts(tmp_path):
    path = tmp_path / "m.jsonl"
    write_wav(tmp_path / "ok.wav")
    path.write_text('{"audio": "ok.wav", "label": "joy"}\n{"audio": "gone.wav", "label": "joy"}\n',
                    encoding="utf-8")
    with pytest.warns(UserWarning, match="1 of 2 audio files not found"):
        corpus = load_corpus("tabular", path=path)
    assert corpus.table["audio"].tolist() == ["ok.wav", "gone.wav"]
    assert corpus.meta["missing_audio"] == 1 and corpus.meta["missing_audio_examples"] == ["gone.wav"]
