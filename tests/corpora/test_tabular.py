"""The tabular loader on data as a new user brings it: several files, per-split files, globs,
split spellings, multi-column keys, several speakers per row, UTF-16/32 files."""
import json
import warnings

import pytest

from affectlab.corpora import apply_split, load_corpus
from affectlab.corpora._common import looks_like_utf16, read_lines, sniff_encoding
from affectlab.errors import ConfigError, DataFormatError, DataNotFoundError
from affectlab.experiments.config import config_from_dict
from affectlab.experiments.runner import prepare_data
from tests.corpora._wavs import write_wav


def _csv(path, rows, header="text,label", encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding=encoding)
    return path


def _split_files(folder):
    _csv(folder / "train.csv", ["good day,joy", "awful,anger", "fine,joy"])
    _csv(folder / "dev.csv", ["nice,joy", "bad,anger"])
    _csv(folder / "test.csv", ["great,joy", "terrible,anger"])


# --- files: path list, globs, per-split paths --------------------------------------------------

def test_path_as_a_list_reads_every_file_into_one_table(tmp_path):
    a = _csv(tmp_path / "a.csv", ["one,joy", "two,anger"], header="text,label")
    b = _csv(tmp_path / "b.csv", ["three,joy"], header="text,label")
    corpus = load_corpus("tabular", path=[str(a), b])
    assert corpus.table["text"].tolist() == ["one", "two", "three"]
    assert corpus.table["uid"].tolist() == [f"{tmp_path.name}/a/0", f"{tmp_path.name}/a/1", f"{tmp_path.name}/b/0"]
    assert corpus.meta["files"][1] == {"path": str(b), "split": None} and corpus.root == tmp_path


def test_single_file_keeps_its_uids_and_name(tmp_path):
    path = _csv(tmp_path / "mine.csv", ["one,joy"])
    corpus = load_corpus("tabular", path=str(path))
    assert corpus.name == "mine" and corpus.table["uid"].tolist() == ["mine/0"]
    assert corpus.meta["source"] == str(path) and "files" not in corpus.meta


def test_path_glob_relative_to_the_data_root(tmp_path):
    _split_files(tmp_path / "data")
    corpus = load_corpus("tabular", tmp_path, path="data/*.csv", name="mine")
    assert len(corpus) == 7 and corpus.name == "mine"
    assert [f["path"].rsplit("/", 1)[1] for f in corpus.meta["files"]] == ["dev.csv", "test.csv", "train.csv"]
    with pytest.raises(DataNotFoundError, match=r"data\.options\.path: no file matches 'data/\*\.tsv'"):
        load_corpus("tabular", tmp_path, path="data/*.tsv")


def test_per_split_files_set_the_split_and_val_means_dev(tmp_path):
    _split_files(tmp_path)
    corpus = load_corpus("tabular", tmp_path, paths={"train": "train.csv", "VAL": "dev.csv", "test": "test.csv"})
    assert corpus.table["split"].tolist() == ["train"] * 3 + ["dev"] * 2 + ["test"] * 2
    assert apply_split(corpus, "predefined").splits == ["dev", "test", "train"]


def test_per_split_values_may_be_globs_and_lists(tmp_path):
    for part in ("a", "b"):
        _csv(tmp_path / "train" / f"{part}.csv", [f"{part} text,joy"])
    _csv(tmp_path / "held" / "x.csv", ["x,joy"])
    _csv(tmp_path / "held" / "y.csv", ["y,anger"])
    corpus = load_corpus("tabular", paths={"train": str(tmp_path / "train" / "*.csv"),
                                           "validation": [str(tmp_path / "held" / "x.csv")],
                                           "test": [str(tmp_path / "held" / "y.csv")]})
    assert corpus.table["split"].tolist() == ["train", "train", "dev", "test"]
    assert corpus.table["uid"].is_unique and corpus.root == tmp_path


@pytest.mark.parametrize("options, error, message", [
    ({"paths": {"holdout": "train.csv"}}, ConfigError, r"'holdout' is not a split name"),
    ({"paths": {"train": "train.csv", "test": "train.csv"}}, ConfigError, r"given twice \(as train and test\)"),
    ({"path": "train.csv", "paths": {"train": "train.csv"}}, ConfigError, "not both"),
    ({"path": []}, ConfigError, r"data\.options\.path must be a path, a glob or a list"),
    ({"path": [1]}, ConfigError, "is not a path or glob"),
    ({"paths": {"train": "nope.csv"}}, DataNotFoundError, "nope.csv"),
])
def test_bad_file_options_are_one_clear_error(tmp_path, options, error, message):
    _split_files(tmp_path)
    with pytest.raises(error, match=message):
        load_corpus("tabular", tmp_path, **options)


def test_split_column_disagreeing_with_its_per_split_file_is_refused(tmp_path):
    _csv(tmp_path / "train.csv", ["a,joy,train", "b,joy,test"], header="text,label,split")
    with pytest.raises(ConfigError, match=r"given as the train file.*'test' for 1 rows"):
        load_corpus("tabular", tmp_path, paths={"train": "train.csv"})


def test_dialogue_ids_of_per_split_files_stay_apart(tmp_path):
    _csv(tmp_path / "train.csv", ["a,joy,1", "b,joy,1"], header="text,label,dialogue")
    _csv(tmp_path / "test.csv", ["c,joy,1"], header="text,label,dialogue")
    corpus = load_corpus("tabular", tmp_path, paths={"train": "train.csv", "test": "test.csv"})
    assert corpus.table["dialogue"].tolist() == ["train/1", "train/1", "test/1"]


def test_audio_paths_of_files_in_different_folders_stay_openable(tmp_path):
    write_wav(tmp_path / "a" / "clips" / "1.wav")
    write_wav(tmp_path / "b" / "2.wav")
    _csv(tmp_path / "a" / "meta.csv", ["clips/1.wav,joy"], header="audio,label")
    _csv(tmp_path / "b" / "meta.csv", ["2.wav,anger"], header="audio,label")
    corpus = load_corpus("tabular", tmp_path, path=["a/meta.csv", "b/meta.csv"])
    assert corpus.root == tmp_path and corpus.table["audio"].tolist() == ["a/clips/1.wav", "b/2.wav"]
    assert corpus.meta["missing_audio"] == 0 and corpus.table["uid"].is_unique


# --- split values ---------------------------------------------------------------------------

def test_split_column_spellings_become_train_dev_test(tmp_path):
    path = _csv(tmp_path / "s.csv", ["a,joy,Train", "b,joy,val", "c,joy,VALIDATION", "d,joy,valid",
                                     "e,joy,Test"], header="text,label,split")
    corpus = load_corpus("tabular", path=path)
    assert corpus.table["split"].tolist() == ["train", "dev", "dev", "dev", "test"]


def test_a_train_file_alone_says_what_to_do(tmp_path):
    path = _csv(tmp_path / "train.csv", ["a,joy", "b,anger"])
    corpus = load_corpus("tabular", path=path)
    with pytest.raises(ConfigError) as info:
        apply_split(corpus, "predefined")
    message = str(info.value)
    assert "no predefined split for 2 of 2 rows" in message
    for advice in ("split column", "data.options.paths: {train: ..., dev: ..., test: ...}",
                   "data.split.name: stratified_kfold"):
        assert advice in message
    only_train = load_corpus("tabular", paths={"train": str(path)})
    with pytest.raises(ConfigError, match=r"no \['test'\] split.*data\.options\.paths"):
        apply_split(only_train, "predefined")


def test_val_rows_reach_the_dev_split_of_a_run(tmp_path):
    _csv(tmp_path / "d.csv", [f"text {i},{'joy' if i % 2 else 'anger'},{s}"
                              for i, s in enumerate(["train"] * 4 + ["val"] * 2 + ["test"] * 2)],
         header="text,label,split")
    config = config_from_dict({"data": {"corpus": "tabular", "options": {"path": str(tmp_path / "d.csv")}},
                               "labels": {"scheme": "meld7"}, "training": {"progress": False}})
    data = prepare_data(config)
    assert {name: part["rows"] for name, part in data.notes["splits"].items()} == {"train": 4, "dev": 2, "test": 2}


# --- keys from several columns, several speakers ----------------------------------------------

def test_dialogue_key_from_several_columns(tmp_path):
    path = _csv(tmp_path / "f.csv", ["hi,joy,1,2,3", "yo,joy,1,2,3", "ok,joy,1,2,4", "eh,joy,1,,4"],
                header="text,label,season,episode,scene")
    with pytest.warns(UserWarning, match="some but not all"):
        corpus = load_corpus("tabular", path=path, columns={"dialogue": ["season", "episode", "scene"]})
    assert corpus.table["dialogue"].tolist() == ["1/2/3", "1/2/3", "1/2/4", None]
    assert corpus.meta["incomplete_keys"] == {"dialogue": 1}
    assert "season" not in corpus.table.columns  # used columns are not repeated as extras


def test_jsonl_numbers_in_a_key_read_as_integers(tmp_path):
    path = tmp_path / "k.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"text": "a", "label": "joy", "ep": 1, "scene": 2.0}, {"text": "b", "label": "joy", "ep": 1, "scene": 3}]))
    corpus = load_corpus("tabular", path=path, columns={"dialogue": ["ep", "scene"]})
    assert corpus.table["dialogue"].tolist() == ["1/2", "1/3"]


def test_only_key_columns_may_join_several(tmp_path):
    path = _csv(tmp_path / "f.csv", ["hi,joy,a"], header="text,label,b")
    with pytest.raises(ConfigError, match="text takes one file column"):
        load_corpus("tabular", path=path, columns={"text": ["text", "b"]})
    with pytest.raises(ConfigError, match="has no column 'zz'"):
        load_corpus("tabular", path=path, columns={"dialogue": ["b", "zz"]})


def test_list_speakers_in_jsonl_become_one_sorted_joined_speaker(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"text": "a", "label": "joy", "speaker": ["Ross", "Joey"]},
        {"text": "b", "label": "joy", "speaker": "Ross"},
        {"text": "c", "label": "joy", "speaker": []},
        {"text": "d", "label": "joy", "speaker": ["Joey", "Ross", "Joey"]}]))
    corpus = load_corpus("tabular", path=path)
    table = corpus.table
    assert table["speaker"].tolist() == ["Joey + Ross", "Ross", None, "Joey + Ross"]
    assert table["speakers"].tolist() == [("Ross", "Joey"), ("Ross",), None, ("Joey", "Ross")]
    assert corpus.meta["multi_speaker_rows"] == 2
    split = apply_split(corpus, "group_kfold", n_folds=2)  # hashable speakers: group splits work
    assert set(split.table["split"]) == {"train", "test"}


def test_speaker_sep_splits_text_cells(tmp_path):
    path = _csv(tmp_path / "s.csv", ["a,joy,A;B", "b,joy,B", "c,joy, B ; A "], header="text,label,speaker")
    assert load_corpus("tabular", path=path).table["speaker"].tolist() == ["A;B", "B", "B ; A"]
    corpus = load_corpus("tabular", path=path, speaker_sep=";")
    assert corpus.table["speaker"].tolist() == ["A + B", "B", "A + B"]


def test_lists_in_other_id_columns_are_refused(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps({"text": "a", "label": "joy", "group": ["x", "y"]}) + "\n")
    with pytest.raises(DataFormatError, match="only label and speaker cells may hold several"):
        load_corpus("tabular", path=path)


# --- encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_byte_order_marks_decide_the_encoding(tmp_path, encoding):
    raw = "text,label\nIch wei\u00df es \u2764,joy\n"
    data = raw.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no mark; Windows tools do
    path = tmp_path / "u.csv"
    path.write_bytes(data)
    corpus = load_corpus("tabular", path=path)
    assert corpus.table["text"].tolist() == ["Ich wei\u00df es \u2764"]
    assert list(corpus.table.columns[:2]) == ["uid", "text"]


def test_utf16_jsonl(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps({"text": "caf\u00e9", "label": "joy"}, ensure_ascii=False) + "\n", encoding="utf-16")
    assert load_corpus("tabular", path=path).table["text"].tolist() == ["caf\u00e9"]
    assert sniff_encoding(path) == "utf-16" and [line for _, line in read_lines(path)][0].startswith("{")


def test_utf16_without_a_mark_names_the_yaml_key(tmp_path):
    path = tmp_path / "le.csv"
    path.write_bytes("text,label\nhello,joy\n".encode("utf-16-le"))
    assert looks_like_utf16(path.read_bytes()) == "utf-16-le"
    with pytest.raises(DataFormatError, match=r"UTF-16.*data\.options\.encoding: utf-16-le"):
        load_corpus("tabular", path=path)
    corpus = load_corpus("tabular", path=path, encoding="utf-16-le")
    assert corpus.table["text"].tolist() == ["hello"]


def test_cp1252_hint_names_the_yaml_key_not_python(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("text,label\nI don\u2019t know,neutral\n".encode("cp1252"))
    with pytest.raises(DataFormatError) as info:
        load_corpus("tabular", path=path)
    assert "data.options.encoding" in str(info.value) and "encoding='" not in str(info.value)


def test_plain_files_are_not_mistaken_for_utf16(tmp_path):
    path = _csv(tmp_path / "p.csv", ["plain ascii,joy"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_corpus("tabular", path=path).table["text"].tolist() == ["plain ascii"]
    assert looks_like_utf16(path.read_bytes()) is None
