"""Reading a user's files for ``affectlab predict``: separators, kept columns, the "this looks
like a table" warning, audio folders and globs. Standard library only: no model is loaded."""
import pytest

from affectlab.errors import AffectLabError, DataFormatError, DataNotFoundError, InputError
from affectlab.io_inputs import (Inputs, audio_files, audio_inputs, audio_table_inputs, looks_delimited,
                                 parse_sep, read_inputs, read_texts)

from .corpora._wavs import write_wav


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_txt_with_label_column_warns_and_sep_splits_it(tmp_path):
    src = _write(tmp_path / "texts.txt", "I love you;joy\nGet out!;anger\n\nWhat?;surprise\n")
    warnings = []
    plain = read_inputs(src, warn=warnings.append)
    assert plain.items == ["I love you;joy", "Get out!;anger", "What?;surprise"]
    assert [c["line"] for c in plain.columns] == [1, 2, 4]  # blank lines skipped, lines still known
    assert len(warnings) == 1 and "--sep ';'" in warnings[0] and "\n" not in warnings[0]

    table = read_inputs(src, sep=";", header=False)  # no header line: columns are numbered
    assert table.items == ["I love you", "Get out!", "What?"]
    assert table.columns == [{"2": "joy"}, {"2": "anger"}, {"2": "surprise"}]
    with pytest.raises(InputError, match="--no-header"):
        read_inputs(src, sep=";")  # the first line taken as a header has no 'text' column


def test_header_sep_column_and_id_column(tmp_path):
    src = _write(tmp_path / "texts.txt", "id;text;label\n7;I love you;joy\n9;\"Well; no\";anger\n")
    inputs = read_inputs(src, sep=";", column="text", id_column="id")
    assert inputs.items == ["I love you", "Well; no"]
    assert inputs.columns == [{"id": "7"}, {"id": "9"}]
    everything = read_inputs(src, sep=";")
    assert everything.columns == [{"id": "7", "label": "joy"}, {"id": "9", "label": "anger"}]
    with pytest.raises(InputError, match="no id column 'uid'"):
        read_inputs(src, sep=";", id_column="uid")
    with pytest.raises(InputError, match="needs a table"):
        read_inputs(src, column="text")  # --column on plain lines says to pass --sep


def test_no_warning_for_prose_with_commas():
    prose = ["Well, I don't know.", "Hi there", "Okay, fine, whatever.", "Thanks", "No, never", "Why?"]
    assert looks_delimited(prose) is None
    assert looks_delimited(["a\tb", "c\td"]) == ("\t", 2)
    assert looks_delimited(["one;two"]) is None  # one line is not enough for ';'
    rows = [f"{i},some text {i},joy" for i in range(6)]
    assert looks_delimited(rows) == (",", 3)


def test_csv_tsv_jsonl_keep_their_other_columns(tmp_path):
    csv_file = _write(tmp_path / "in.csv", 'id,text,source\n1,"Hello, you",web\n2,Bye,app\n')
    inputs = read_inputs(csv_file)
    assert inputs.items == ["Hello, you", "Bye"] and inputs.many
    assert inputs.columns == [{"id": "1", "source": "web"}, {"id": "2", "source": "app"}]
    tsv = _write(tmp_path / "in.tsv", "uid\tutterance\na\tHi\n")
    assert read_inputs(tsv, column="utterance").columns == [{"uid": "a"}]
    jsonl = _write(tmp_path / "in.jsonl", '{"id": 5, "text": "Hi", "meta": {"x": 1}}\n\n{"id": 6, "text": "Yo"}\n')
    inputs = read_inputs(jsonl)
    assert inputs.items == ["Hi", "Yo"] and inputs.columns[0] == {"id": 5, "meta": {"x": 1}}
    with pytest.raises(InputError, match="--sep does not apply"):
        read_inputs(jsonl, sep=";")
    assert read_texts(csv_file) == ["Hello, you", "Bye"]  # the old API still works


def test_table_mistakes_are_one_line_errors(tmp_path):
    semi = _write(tmp_path / "semi.csv", "id;text\n1;hi\n")
    with pytest.raises(InputError, match="pass --sep ';'"):
        read_inputs(semi)
    ragged = _write(tmp_path / "ragged.csv", "id,text\n1,hi\n2,hello, you\n")
    with pytest.raises(DataFormatError, match=r"ragged.csv:3 has 3 fields but the header has 2"):
        read_inputs(ragged)
    empty = _write(tmp_path / "empty.csv", "id,text\n1,hi\n2,  \n")
    with pytest.raises(InputError, match=r"empty text in row\(s\) \[2\]"):
        read_inputs(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match="not UTF-8"):
        read_inputs(latin)
    with pytest.raises(DataNotFoundError):
        read_inputs(tmp_path / "missing.txt")
    for bad in (";;", ""):
        with pytest.raises(InputError):
            parse_sep(bad)
    assert parse_sep("\\t") == parse_sep("tab") == "\t" and parse_sep(None) is None
    assert issubclass(InputError, AffectLabError)


def test_bom_and_headerless_column_choice(tmp_path):
    src = _write(tmp_path / "x.csv", "\ufeffid,text\n1,hi\n")
    assert read_inputs(src).columns == [{"id": "1"}]
    nohead = _write(tmp_path / "y.txt", "joy|I am glad\nanger|Stop it\n")
    inputs = read_inputs(nohead, sep="|", header=False, column="2", id_column="1")
    assert inputs.items == ["I am glad", "Stop it"] and inputs.columns == [{"1": "joy"}, {"1": "anger"}]


def test_audio_folders_globs_and_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("clips/b.wav", "clips/a.flac", "clips/sub/c.wav", "clips/.hidden/h.wav"):
        write_wav(tmp_path / name, seconds=0.05)
    _write(tmp_path / "clips" / "notes.txt", "not audio")
    paths, expanded = audio_files(["clips"])
    assert expanded and paths == ["clips/a.flac", "clips/b.wav", "clips/sub/c.wav"]  # recursive, sorted
    assert audio_files(["clips/*.wav"])[0] == ["clips/b.wav"]
    assert audio_files(["clips/**/*.wav"])[0] == ["clips/b.wav", "clips/sub/c.wav"]
    # repeats dropped, order of arguments kept, a named file passes through (missing or not)
    assert audio_files(["clips/sub/c.wav", "clips", "gone.wav"])[0] == [
        "clips/sub/c.wav", "clips/a.flac", "clips/b.wav", "gone.wav"]
    single = audio_inputs(["clips/b.wav"])
    assert single.items == ["clips/b.wav"] and not single.many
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no audio files"):
        audio_files(["empty"])
    with pytest.raises(DataNotFoundError, match="no audio files match"):
        audio_files(["nothing/*.wav"])


def test_audio_paths_from_a_table_are_relative_to_it(tmp_path):
    write_wav(tmp_path / "data" / "clip.wav", seconds=0.05)
    table = _write(tmp_path / "data" / "list.csv", "id,audio\nk1,clip.wav\n")
    inputs = audio_table_inputs(table)
    assert inputs.items == [str(tmp_path / "data" / "clip.wav")] and inputs.columns == [{"id": "k1"}]
    assert isinstance(inputs, Inputs)
