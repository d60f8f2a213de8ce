"""EmoBank, iSarcasmEval and the sarcasm headlines: tiny synthetic copies of each official layout
(with one quirk each), error messages, and the real data's counts when ../shared/data has it."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from affectlab.corpora import apply_split, check_leakage, corpus_status, load_corpus
from affectlab.errors import ConfigError, DataFormatError, DataNotFoundError
from affectlab.labels import get_scheme

CATEGORIES = ["sarcasm", "irony", "satire", "understatement", "overstatement", "rhetorical_question"]


# --- writers: the official layouts -------------------------------------------------------------

EMOBANK_CSV = (
    'id,split,V,A,D,text\n'
    'doc1_0_43,train,3.0,3.0,3.2,"Remember what she said in my last letter? """\n'
    'doc1_44_48,test,2.8,3.1,2.8,None\r\n'               # the word None; a CRLF line
    'doc1_50_53,train,3.0,,3.0,".."""\n'                  # missing A; a quoted fragment
    'doc2_0_20,dev,3.44,3.0,3.22,"  You must\x92ve seen it.  "\n'
    'doc2_21_22,dev,3.0,3.0,3.0,\n'                        # empty text: skipped
    'SemEval_7,train,1.2,4.4,1.78,NA\n'                    # not in meta.tsv
)
EMOBANK_META = (
    "id\tdocument\tcategory\tsubcategory\n"
    "doc1_0_43\tdoc1\tletters\tphilanthropic-fundraising\n"
    "doc1_44_48\tdoc1\tletters\tphilanthropic-fundraising\n"
    "doc1_50_53\tdoc1\tletters\tphilanthropic-fundraising\n"
    "doc2_0_20\tdoc2\tfiction\t \n"
    "doc2_21_22\tdoc2\tfiction\t \n"
    "only_in_meta_1_2\tdoc3\tblog\t \n"
)


def write_emobank(root: Path, csv_text: str = EMOBANK_CSV, with_meta: bool = True) -> Path:
    folder = root / "emobank"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "emobank.csv").write_bytes(csv_text.encode("utf-8"))
    if with_meta:
        (folder / "meta.tsv").write_text(EMOBANK_META, encoding="utf-8")
    return folder


ISARCASM_TRAIN = (
    ",tweet,sarcastic,rephrase,sarcasm,irony,satire,understatement,overstatement,rhetorical_question\n"
    '0,The only thing I got from college is a caffeine addiction,1,"College is hard, expensive. ",0,1,0,0,0,0\n'
    '1,"Held the door &amp; fell\r\ndown the stairs ",0,,,,,,,\n'   # multi-line, CRLF, HTML escape
    "2,,0,,,,,,,\n"                                                 # empty tweet: skipped
    "3,NA,0,,,,,,,\n"
    "4,The only thing I got from college is a caffeine addiction,0,,,,,,,\n"  # duplicate, other label
)
ISARCASM_TEST_A = ("text,sarcastic\n"
                   '"Size on the team.\n\nMoney talks .",0\n'
                   "So the website doesn\u2019t even work,1\n"
                   '"Size on the team.\n\nMoney talks .",0\n')
ISARCASM_TEST_B = ("text,sarcasm,irony,satire,understatement,overstatement,rhetorical_question\n"
                   "So the website doesn\u2019t even work,1,0,0,0,1,0\n"
                   '"Size on the team.\n\nMoney talks .",0,0,0,0,0,0\n'
                   '"Size on the team.\n\nMoney talks .",0,0,0,0,0,0\n')


def write_isarcasmeval(root: Path, task_b: bool = True) -> Path:
    folder = root / "isarcasmeval"
    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    (folder / "train" / "train.En.csv").write_bytes(ISARCASM_TRAIN.encode("utf-8"))
    (folder / "test" / "task_A_En_test.csv").write_text(ISARCASM_TEST_A, encoding="utf-8")
    if task_b:
        (folder / "test" / "task_B_En_test.csv").write_text(ISARCASM_TEST_B, encoding="utf-8")
    return folder


HEADLINES = [
    {"headline": "thirtysomething scientists unveil doomsday clock of hair loss", "is_sarcastic": 1,
     "source": "samples"},
    {"headline": "  eat your veggies: 9 deliciously different recipes ", "is_sarcastic": 0, "source": "samples"},
    {"headline": "local child amuses caf\u00e9\x97but for how long?", "is_sarcastic": 1, "source": "samples"},
    {"headline": "", "is_sarcastic": 0, "source": "samples"},                       # skipped
    {"headline": "thirtysomething scientists unveil doomsday clock of hair loss", "is_sarcastic": 1,
     "source": "few_shot"},                                                           # duplicate
]


def write_headlines(root: Path, rows: list[dict] = HEADLINES, name: str = "sarcasm_headlines.jsonl") -> Path:
    folder = root / "sarcasm_headlines"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    if len(lines) > 2:
        lines[1] += "\r"  # the second line ends in CRLF
    (folder / name).write_bytes("\n".join(lines).encode("utf-8"))  # no final newline
    return folder


@pytest.mark.parametrize("name, expected", [
    ("emobank", "emobank/emobank.csv"), ("isarcasmeval", "isarcasmeval/train/train.En.csv"),
    ("sarcasm_headlines", "sarcasm_headlines/sarcasm_headlines.jsonl"),
])
def test_missing_dataset_names_the_expected_path(tmp_path, name, expected):
    with pytest.raises(DataNotFoundError) as info:
        load_corpus(name, tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and expected in message and "expected layout" in message and "\n" not in message
    assert corpus_status(tmp_path)[name] is False


# --- EmoBank ------------------------------------------------------------------------------------

def test_emobank_rows_scores_and_genres(tmp_path):
    folder = write_emobank(tmp_path)
    corpus = load_corpus("emobank", tmp_path)
    assert corpus.name == "emobank" and corpus.root == folder and not corpus.multi_label
    assert corpus_status(tmp_path)["emobank"] is True
    assert corpus.table["split"].value_counts().to_dict() == {"train": 3, "test": 1, "dev": 1}
    assert {"valence", "arousal", "dominance", "domain", "subdomain", "document"} <= set(corpus.table.columns)
    assert corpus.table["label"].isna().all() and corpus.label_counts() == {}
    table = corpus.table.set_index("uid")
    first = table.loc["emobank/doc1_0_43"]
    assert first.text == 'Remember what she said in my last letter? "'
    assert (first.valence, first.arousal, first.dominance) == (3.0, 3.0, 3.2)
    assert first.domain == "letters" and first.subdomain == "philanthropic-fundraising" and first.document == "doc1"
    assert table.loc["emobank/doc1_44_48", "text"] == "None"     # a sentence, not a missing value
    assert table.loc["emobank/SemEval_7", "text"] == "NA"
    assert table.loc["emobank/doc1_50_53", "text"] == '.."'
    assert math.isnan(table.loc["emobank/doc1_50_53", "arousal"])  # empty cell: NaN, row kept
    assert table.loc["emobank/doc2_0_20", "text"] == "You must\u2019ve seen it."
    assert table.loc["emobank/doc2_0_20", "subdomain"] is None
    assert table.loc["emobank/SemEval_7", "domain"] is None
    assert corpus.table[["valence", "arousal", "dominance"]].dtypes.eq(float).all()
    assert corpus.meta["skipped_rows"] == 1 and "doc2_21_22" in corpus.meta["skip_reasons"][0]
    assert corpus.meta["missing_meta"] == 1 and corpus.meta["repaired_texts"] == 1
    assert not corpus.table["text"].str.contains("\r").any()
    predefined = apply_split(corpus, "predefined", require=("train", "dev", "test"))
    assert predefined.splits == ["dev", "test", "train"]


def test_emobank_options_and_missing_meta(tmp_path):
    write_emobank(tmp_path, with_meta=False)
    with pytest.warns(UserWarning, match="meta.tsv"):
        corpus = load_corpus("emobank", tmp_path, splits=["train", "test"])
    assert corpus.splits == ["test", "train"] and len(corpus) == 4
    assert corpus.table["domain"].isna().all() and corpus.meta["missing_meta"] == 4
    with pytest.raises(ConfigError, match="subset"):
        load_corpus("emobank", tmp_path, splits=["validation"])


@pytest.mark.parametrize("csv_text, match", [
    ("id,split,V,A,text\nx,train,3,3,hi\n", r"missing columns \['D'\]"),
    ("id,split,V,A,D,text\nx,train,3,high,3,hi\n", r"A of id 'x' is 'high', not a number"),
    ("id,split,V,A,D,text\nx,train,0.5,0.5,0.5,hi\n", "outside the 1-5 SAM scale"),
    ("id,split,V,A,D,text\nx,holdout,3,3,3,hi\n", r"split values \['holdout'\]"),
])
def test_emobank_malformed_file(tmp_path, csv_text, match):
    write_emobank(tmp_path, csv_text=csv_text)
    with pytest.raises(DataFormatError, match=match):
        load_corpus("emobank", tmp_path)


def test_emobank_duplicate_ids(tmp_path):
    write_emobank(tmp_path, csv_text="id,split,V,A,D,text\nx,train,3,3,3,a\nx,dev,3,3,3,b\n")
    with pytest.raises(DataFormatError, match="duplicate uids"):
        load_corpus("emobank", tmp_path)


# --- iSarcasmEval --------------------------------------------------------------------------------

def test_isarcasmeval_rows_labels_and_categories(tmp_path):
    folder = write_isarcasmeval(tmp_path)
    corpus = load_corpus("isarcasmeval", tmp_path)
    assert corpus.name == "isarcasmeval" and corpus.root == folder and not corpus.multi_label
    assert corpus.splits == ["test", "train"]          # no official dev
    assert corpus.label_counts("train") == {"not_sarcastic": 3, "sarcastic": 1}
    assert corpus.label_counts("test") == {"not_sarcastic": 2, "sarcastic": 1}
    get_scheme("sarcasm2").encode(corpus.table["label"].tolist())  # every label is a sarcasm2 class
    table = corpus.table.set_index("uid")
    first = table.loc["isarcasmeval/train/0"]
    assert first.label == "sarcastic" and first.rephrase == "College is hard, expensive."
    assert [first[c] for c in CATEGORIES] == [0, 1, 0, 0, 0, 0]
    assert all(type(first[c]) is int for c in CATEGORIES)
    second = table.loc["isarcasmeval/train/1"]
    assert second.text == "Held the door & fell\ndown the stairs"
    assert second.rephrase is None and all(second[c] is None for c in CATEGORIES)  # not labelled
    assert table.loc["isarcasmeval/train/3", "text"] == "NA"
    assert "isarcasmeval/train/2" not in table.index
    assert corpus.meta["skipped_rows"] == 1 and "row 2: empty text" in corpus.meta["skip_reasons"][0]
    assert corpus.meta["unescaped_texts"] == 1
    assert corpus.meta["duplicate_texts"] == {"train": 1, "test": 1}
    assert corpus.meta["conflicting_duplicates"] == {"train": 1, "test": 0}
    # test rows: uid is the 0-based row, categories come from task B (matched by text)
    assert corpus.meta["test_categories"] == "test/task_B_En_test.csv"
    test = table.loc["isarcasmeval/test/1"]
    assert test.label == "sarcastic" and test.text == "So the website doesn\u2019t even work"
    assert [test[c] for c in CATEGORIES] == [1, 0, 0, 0, 1, 0] and test.rephrase is None
    assert table.loc["isarcasmeval/test/0", "text"] == "Size on the team.\n\nMoney talks ."
    assert [table.loc["isarcasmeval/test/2", c] for c in CATEGORIES] == [0] * 6
    assert apply_split(corpus, "predefined").splits == ["test", "train"]


def test_isarcasmeval_without_task_b_and_one_split(tmp_path):
    folder = write_isarcasmeval(tmp_path, task_b=False)
    corpus = load_corpus("isarcasmeval", tmp_path)
    test = corpus.table[corpus.table["split"] == "test"]
    assert corpus.meta["test_categories"] is None and test[CATEGORIES].isna().all().all()
    (folder / "train" / "train.En.csv").unlink()
    assert len(load_corpus("isarcasmeval", tmp_path, splits=["test"])) == 3
    with pytest.raises(DataNotFoundError, match="train.En.csv"):
        load_corpus("isarcasmeval", tmp_path)
    with pytest.raises(ConfigError, match="subset"):
        load_corpus("isarcasmeval", tmp_path, splits=["dev"])


def test_isarcasmeval_malformed_files(tmp_path):
    folder = write_isarcasmeval(tmp_path)
    test_a = folder / "test" / "task_A_En_test.csv"
    test_a.write_text("text,sarcastic\nhello,yes\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="task_A_En_test.csv: row 0: sarcastic is 'yes', expected 0 or 1"):
        load_corpus("isarcasmeval", tmp_path)
    test_a.write_text("tweet,label\nhello,1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"missing columns \['text', 'sarcastic'\]"):
        load_corpus("isarcasmeval", tmp_path)
    test_a.write_bytes("text,sarcastic\ncaf\xe9,1\n".encode("cp1252"))
    with pytest.raises(DataFormatError, match="not a readable iSarcasmEval CSV"):
        load_corpus("isarcasmeval", tmp_path)


# --- sarcasm headlines ----------------------------------------------------------------------------

def test_sarcasm_headlines_rows_and_no_split(tmp_path):
    folder = write_headlines(tmp_path)
    corpus = load_corpus("sarcasm_headlines", tmp_path)
    assert corpus.name == "sarcasm_headlines" and corpus.root == folder
    assert corpus.splits == [] and corpus.table["split"].isna().all()
    assert corpus.label_counts() == {"not_sarcastic": 1, "sarcastic": 3}
    get_scheme("sarcasm2").encode(corpus.table["label"].tolist())
    table = corpus.table.set_index("uid")
    assert table.loc["sarcasm_headlines/2", "text"] == "eat your veggies: 9 deliciously different recipes"
    assert table.loc["sarcasm_headlines/3", "text"] == "local child amuses caf\u00e9\u2014but for how long?"
    assert table.loc["sarcasm_headlines/5", "upstream_file"] == "few_shot"
    assert corpus.table["domain"].isna().all() and corpus.table["article_link"].isna().all()
    assert corpus.meta["skipped_rows"] == 1 and "sarcasm_headlines.jsonl:4" in corpus.meta["skip_reasons"][0]
    assert corpus.meta["repaired_texts"] == 1 and corpus.meta["duplicate_texts"] == 1
    with pytest.raises(ConfigError, match="no predefined split"):
        apply_split(corpus, "predefined")
    deduplicated = load_corpus("sarcasm_headlines", tmp_path, deduplicate=True)
    assert len(deduplicated) == 3 and deduplicated.meta["dropped_duplicates"] == 1
    assert "sarcasm_headlines/5" not in set(deduplicated.table["uid"])


def test_sarcasm_headlines_authors_file_with_links(tmp_path):
    rows = [{"article_link": "https://www.theonion.com/area-man-1819571234", "headline": "area man fine",
             "is_sarcastic": 1},
            {"article_link": "https://www.huffingtonpost.com/entry/x_us_5b", "headline": "a real headline",
             "is_sarcastic": 0},
            {"article_link": "https://www.theonion.com/b", "headline": "a real headline", "is_sarcastic": 1}]
    write_headlines(tmp_path, rows, name="Sarcasm_Headlines_Dataset_v2.json")
    corpus = load_corpus("sarcasm_headlines", tmp_path / "sarcasm_headlines")  # root = the folder itself
    assert corpus.meta["file"] == "Sarcasm_Headlines_Dataset_v2.json"
    assert corpus.table["domain"].tolist() == ["www.theonion.com", "www.huffingtonpost.com", "www.theonion.com"]
    assert corpus.table["article_link"][0] == rows[0]["article_link"]
    assert corpus.table["upstream_file"].isna().all()
    assert corpus.meta["conflicting_duplicates"] == 1
    deduplicated = load_corpus("sarcasm_headlines", tmp_path, deduplicate=True)
    assert deduplicated.table["text"].tolist() == ["area man fine"]  # both copies of the conflict go


@pytest.mark.parametrize("line, match", [
    ("not json", r"sarcasm_headlines.jsonl:2: not a JSON object"),
    ('{"headline": "x"}', r":2: expected an object with headline and is_sarcastic"),
    ('{"headline": "x", "is_sarcastic": 2}', r":2: is_sarcastic is 2, expected 0 or 1"),
])
def test_sarcasm_headlines_malformed_line(tmp_path, line, match):
    folder = write_headlines(tmp_path, HEADLINES[:1])
    path = folder / "sarcasm_headlines.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=match):
        load_corpus("sarcasm_headlines", tmp_path)


# --- the real datasets (../shared/data or $AFFECTLAB_DATA_ROOT) -----------------------------------

from tests.corpora.test_real_data import ROOT, need  # noqa: E402 - one skip rule for real data


@pytest.mark.data
def test_emobank_counts():
    need("emobank")
    corpus = load_corpus("emobank", ROOT)
    table = corpus.table
    assert table["split"].value_counts().to_dict() == {"train": 8062, "dev": 1000, "test": 1000}
    assert corpus.meta["skipped_rows"] == 0 and corpus.meta["missing_meta"] == 0
    scores = table[["valence", "arousal", "dominance"]]
    assert not scores.isna().any().any() and scores.min().min() >= 1 and scores.max().max() <= 5
    assert [round(m, 3) for m in scores.mean()] == [2.977, 3.042, 3.063]
    # genres of the 10,062 rated sentences (meta.tsv itself lists 10,548 ids)
    assert table["domain"].value_counts().to_dict() == {
        "fiction": 2753, "letters": 1413, "blog": 1336, "newspaper": 1314, "SemEval": 1192,
        "essays": 1135, "travel-guides": 919}
    assert table.set_index("uid").loc["emobank/easy_money_13624_13628", "text"] == "None"
    assert (table["text"].str.strip() != "").all() and table["label"].isna().all()


@pytest.mark.data
def test_isarcasmeval_counts():
    need("isarcasmeval")
    corpus = load_corpus("isarcasmeval", ROOT)
    # train.En.csv has 3468 rows; the one with an empty tweet (index 1062) is skipped
    assert corpus.table["split"].value_counts().to_dict() == {"train": 3467, "test": 1400}
    assert corpus.meta["skipped_rows"] == 1 and "row 1062" in corpus.meta["skip_reasons"][0]
    assert corpus.label_counts("train") == {"not_sarcastic": 2600, "sarcastic": 867}
    assert corpus.label_counts("test") == {"not_sarcastic": 1200, "sarcastic": 200}
    train = corpus.table[corpus.table["split"] == "train"]
    test = corpus.table[corpus.table["split"] == "test"]
    sarcastic = train["label"] == "sarcastic"
    assert train.loc[sarcastic, "rephrase"].notna().all() and train.loc[~sarcastic, "rephrase"].isna().all()
    assert {c: int(train[c].sum()) for c in CATEGORIES} == {
        "sarcasm": 713, "irony": 155, "satire": 25, "understatement": 10, "overstatement": 40,
        "rhetorical_question": 101}
    assert train.loc[~sarcastic, CATEGORIES].isna().all().all()
    assert corpus.meta["test_without_categories"] == 0
    assert {c: int(test[c].sum()) for c in CATEGORIES} == {
        "sarcasm": 180, "irony": 20, "satire": 49, "understatement": 1, "overstatement": 10,
        "rhetorical_question": 11}
    assert (test.loc[test["label"] == "not_sarcastic", CATEGORIES] == 0).all().all()
    assert corpus.meta["duplicate_texts"] == {"train": 11, "test": 6}
    assert corpus.meta["unescaped_texts"] == 109
    assert not any("verbatim" in w for w in check_leakage(corpus))  # no tweet in both train and test


@pytest.mark.data
def test_sarcasm_headlines_counts():
    need("sarcasm_headlines")
    corpus = load_corpus("sarcasm_headlines", ROOT)
    assert len(corpus) == 28619 and corpus.splits == []
    assert corpus.label_counts() == {"not_sarcastic": 14985, "sarcastic": 13634}
    assert corpus.table["upstream_file"].value_counts().to_dict() == {"samples": 28614, "few_shot": 5}
    assert corpus.meta["duplicate_texts"] == 116 and corpus.meta["conflicting_duplicates"] == 0
    assert corpus.meta["repaired_texts"] == 5 and corpus.meta["skipped_rows"] == 0
    assert not corpus.table["text"].str.contains("[\x80-\x9f]").any()
    deduplicated = load_corpus("sarcasm_headlines", ROOT, deduplicate=True)
    assert len(deduplicated) == 28503
    assert deduplicated.label_counts() == {"not_sarcastic": 14951, "sarcastic": 13552}
    split = apply_split(deduplicated, "stratified_kfold", n_folds=5, fold=0, seed=0, dev_fraction=0.1)
    assert set(split.splits) == {"train", "dev", "test"}
    assert not any("verbatim" in w for w in check_leakage(split))
