"""Splitters: partitions, determinism, stratification, group disjointness, leakage checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affectlab.corpora import SPLITTERS, Corpus, apply_split, check_leakage
from affectlab.errors import ConfigError


def make_corpus(n: int = 120, multi_label: bool = False, speakers: int = 12, **columns) -> Corpus:
    rng = np.random.default_rng(7)
    labels = rng.choice(["joy", "anger", "neutral", "fear"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    table = pd.DataFrame({
        "uid": [f"u{i}" for i in range(n)],
        "text": [f"text {i}" for i in range(n)],
        "label": [(lab, "trust") for lab in labels] if multi_label else labels,
        "speaker": [f"spk{i % speakers}" for i in range(n)],
        "dialogue": [f"d{i // 4}" for i in range(n)],
        **columns,
    })
    return Corpus("toy", table, multi_label=multi_label)


def splits_of(corpus: Corpus) -> pd.Series:
    return corpus.table.set_index("uid")["split"]


def test_registered_splitters():
    assert SPLITTERS.names() == ["group_folds", "group_kfold", "leave_one_group_out", "predefined",
                                 "random", "stratified_kfold"]


# --- predefined --------------------------------------------------------------------------------

def test_predefined_keeps_split_and_refuses_gaps():
    corpus = make_corpus(8, split=["train"] * 6 + ["test"] * 2)
    assert apply_split(corpus, "predefined").table["split"].tolist() == corpus.table["split"].tolist()
    with pytest.raises(ConfigError, match="no predefined split for 8 of 8"):
        apply_split(make_corpus(8), "predefined")
    with pytest.raises(ConfigError, match="'dev'"):
        apply_split(corpus, "predefined", require=["train", "dev"])


def test_predefined_reads_val_spellings_as_dev_and_refuses_other_values():
    corpus = make_corpus(8, split=["Train", "train", "val", "VALID", "Validation", "dev", "test", "TEST"])
    assert apply_split(corpus, "predefined").table["split"].tolist() == \
        ["train", "train", "dev", "dev", "dev", "dev", "test", "test"]
    odd = make_corpus(4, split=["train", "holdout", "test", "extra"])
    with pytest.raises(ConfigError, match=r"split values 'extra', 'holdout' are not train, dev or test"):
        apply_split(odd, "predefined")


def test_predefined_dev_fraction_carves_whole_dialogues_from_train_only():
    split = ["train"] * 100 + ["test"] * 20
    corpus = make_corpus(120, split=split)
    out = apply_split(corpus, "predefined", dev_fraction=0.2, seed=3).table
    assert (out["split"].iloc[100:] == "test").all()  # test untouched
    assert 12 <= (out["split"] == "dev").sum() <= 28
    sides = out[out["split"] != "test"].groupby("dialogue")["split"].nunique()
    assert (sides == 1).all()  # no conversation on both sides
    again = apply_split(corpus, "predefined", dev_fraction=0.2, seed=3).table
    assert out["split"].tolist() == again["split"].tolist()


def test_predefined_dev_fraction_without_dialogues_is_stratified_and_refuses_a_dev_split():
    corpus = make_corpus(120, split=["train"] * 100 + ["test"] * 20, dialogue=[None] * 120)
    out = apply_split(corpus, "predefined", dev_fraction=0.2).table
    dev = out[out["split"] == "dev"]
    assert len(dev) == 20 and set(dev["label"]) == set(out["label"].iloc[:100])
    with pytest.raises(ConfigError, match="has its own dev split"):
        apply_split(make_corpus(8, split=["train"] * 4 + ["dev", "dev", "test", "test"]), "predefined",
                    dev_fraction=0.1)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        apply_split(corpus, "predefined", dev_fraction=1.5)


def test_no_predefined_split_says_what_to_do():
    with pytest.raises(ConfigError) as info:
        apply_split(make_corpus(8), "predefined")
    for advice in ("add a split column", "data.options.paths: {train: ..., dev: ..., test: ...}",
                   "data.split.name: stratified_kfold"):
        assert advice in str(info.value)


def test_canonical_split():
    from affectlab.corpora.splits import canonical_split

    assert [canonical_split(v) for v in ("val", " Validation ", "valid", "TRAIN", "testing", "x", None)] == \
        ["dev", "dev", "dev", "train", "test", None, None]


# --- stratified k-fold ---------------------------------------------------------------------------

def test_stratified_kfold_partitions_every_row_once():
    corpus = make_corpus()
    test_counts = pd.Series(0, index=corpus.table["uid"])
    for fold in range(5):
        split = splits_of(apply_split(corpus, "stratified_kfold", n_folds=5, fold=fold, seed=1))
        assert set(split) == {"train", "test"}
        test_counts += split == "test"
    assert (test_counts == 1).all()


def test_stratified_kfold_is_stratified_deterministic_and_carves_dev():
    corpus = make_corpus(200)
    a = apply_split(corpus, "stratified_kfold", n_folds=4, fold=2, seed=3, dev_fraction=0.2)
    b = apply_split(corpus, "stratified_kfold", n_folds=4, fold=2, seed=3, dev_fraction=0.2)
    c = apply_split(corpus, "stratified_kfold", n_folds=4, fold=2, seed=4, dev_fraction=0.2)
    assert a.table["split"].tolist() == b.table["split"].tolist()
    assert a.table["split"].tolist() != c.table["split"].tolist()
    assert set(a.splits) == {"train", "dev", "test"}
    overall = corpus.table["label"].value_counts(normalize=True)
    for split in ("train", "dev", "test"):
        share = a.table.loc[a.table["split"] == split, "label"].value_counts(normalize=True)
        assert (share.reindex(overall.index) - overall).abs().max() < 0.05
    assert abs((a.table["split"] == "test").mean() - 0.25) < 0.02
    assert abs((a.table["split"] == "dev").mean() - 0.75 * 0.2) < 0.02


def test_stratified_kfold_multilabel_uses_first_label_and_tolerates_rare_classes():
    corpus = make_corpus(60, multi_label=True)
    table = corpus.table.copy()
    table.loc[0, "label"] = ("grief",)  # a class with one member
    table.loc[1, "label"] = ()
    result = apply_split(corpus.with_table(table), "stratified_kfold", n_folds=3, fold=0,
                         dev_fraction=0.1)
    assert result.table["split"].notna().all()
    first = result.table["label"].map(lambda t: t[0] if t else None)
    test = result.table["split"] == "test"
    assert set(first[test].dropna()) >= {"joy", "anger", "neutral"}


def test_stratified_kfold_bad_fold():
    with pytest.raises(ConfigError, match="fold"):
        apply_split(make_corpus(), "stratified_kfold", n_folds=5, fold=5)
    with pytest.raises(ConfigError, match="more than the 3 rows"):
        apply_split(make_corpus(3), "stratified_kfold", n_folds=5)


# --- group k-fold / leave one group out -----------------------------------------------------------

def _disjoint(corpus: Corpus, column: str) -> bool:
    groups = corpus.table.groupby(column)["split"].nunique()
    return bool((groups == 1).all())


def test_group_kfold_falls_back_to_speaker_and_keeps_speakers_apart():
    corpus = make_corpus()
    seen: set[str] = set()
    for fold in range(4):
        result = apply_split(corpus, "group_kfold", n_folds=4, fold=fold, seed=0, dev_fraction=0.2)
        assert _disjoint(result, "speaker") and set(result.splits) == {"train", "dev", "test"}
        assert not any("speakers" in w for w in check_leakage(result))
        test_speakers = set(result.table.loc[result.table["split"] == "test", "speaker"])
        assert not test_speakers & seen
        seen |= test_speakers
    assert len(seen) == 12


def test_group_kfold_prefers_group_column_and_accepts_by():
    corpus = make_corpus(group=[f"g{i % 5}" for i in range(120)])
    result = apply_split(corpus, "group_kfold", n_folds=5, fold=0)
    assert _disjoint(result, "group")
    by_dialogue = apply_split(corpus, "group_kfold", n_folds=5, fold=1, by="dialogue")
    assert _disjoint(by_dialogue, "dialogue")
    assert apply_split(corpus, "group_kfold", n_folds=5, fold=3, seed=9).table["split"].tolist() == \
        apply_split(corpus, "group_kfold", n_folds=5, fold=3, seed=9).table["split"].tolist()


def test_group_kfold_errors():
    no_groups = make_corpus(10).table.assign(speaker=None)
    with pytest.raises(ConfigError, match="group or speaker"):
        apply_split(Corpus("x", no_groups), "group_kfold")
    with pytest.raises(ConfigError, match="more than the 3 groups"):
        apply_split(make_corpus(30, speakers=3), "group_kfold", n_folds=5)


def test_leave_one_group_out():
    corpus = make_corpus(group=[f"Session{1 + i % 5}" for i in range(120)])
    result = apply_split(corpus, "leave_one_group_out", test_group="Session5", dev_fraction=0.25)
    test = result.table["split"] == "test"
    assert set(result.table.loc[test, "group"]) == {"Session5"}
    assert "Session5" not in set(result.table.loc[~test, "group"])
    assert _disjoint(result, "group") and "dev" in result.splits
    with pytest.raises(ConfigError, match="Session1, Session2"):
        apply_split(corpus, "leave_one_group_out", test_group="Session9")


# --- random ------------------------------------------------------------------------------------

def test_random_fractions_stratified_and_deterministic():
    corpus = make_corpus(400)
    a = apply_split(corpus, "random", train=0.7, dev=0.1, test=0.2, seed=5)
    b = apply_split(corpus, "random", train=0.7, dev=0.1, test=0.2, seed=5)
    assert a.table["split"].tolist() == b.table["split"].tolist()
    shares = a.table["split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.7) < 0.01 and abs(shares["test"] - 0.2) < 0.01
    fear = a.table.loc[a.table["label"] == "fear", "split"].value_counts(normalize=True)
    assert abs(fear["test"] - 0.2) < 0.05
    assert set(apply_split(corpus, "random", train=0.8, dev=0.0, test=0.2).splits) == {"train", "test"}
    with pytest.raises(ConfigError, match="sum to 1"):
        apply_split(corpus, "random", train=0.8, dev=0.3, test=0.2)


def test_random_with_singleton_classes_falls_back_to_unstratified():
    corpus = make_corpus(10)
    table = corpus.table.assign(label=[f"c{i}" for i in range(10)])
    result = apply_split(corpus.with_table(table), "random", train=0.6, dev=0.2, test=0.2)
    assert result.table["split"].value_counts().to_dict() == {"train": 6, "dev": 2, "test": 2}


# --- apply_split / leakage -----------------------------------------------------------------------

def test_apply_split_returns_new_corpus_with_recipe():
    corpus = make_corpus()
    result = apply_split(corpus, "random", seed=2)
    assert corpus.table["split"].isna().all() and result is not corpus
    assert result.meta["split"] == {"splitter": "random", "seed": 2}
    assert result.name == corpus.name and result.fingerprint() == corpus.fingerprint()  # features ignore splits
    with pytest.raises(ConfigError, match="n_folds"):
        apply_split(corpus, "stratified_kfold", folds=3)
    with pytest.raises(ConfigError, match="unknown splitter"):
        apply_split(corpus, "bogus")


def test_check_leakage_reports_speakers_dialogues_and_texts():
    corpus = make_corpus(16, speakers=3)
    table = corpus.table.copy()
    table["split"] = ["train", "test"] * 8  # every dialogue of 4 rows is spread over both
    table.loc[1, "text"] = table.loc[0, "text"]
    found = check_leakage(corpus.with_table(table))
    assert len(found) == 3
    assert "3 speakers" in found[0] and "group_kfold" in found[0]
    assert "4 dialogues" in found[1] and "1 test texts" in found[2]
    clean = apply_split(make_corpus(), "group_kfold", n_folds=3, by="speaker")
    assert not any("speakers" in w for w in check_leakage(clean))


# --- group folds (predefined test groups per fold) --------------------------------------------------

FOLDS = [["spk0", "spk1"], ["spk2", "spk3"], ["spk4", "spk5"], ["spk6", "spk7"]]


def _speakers(corpus: Corpus) -> dict[str, set]:
    return corpus.table.groupby("split")["speaker"].unique().map(set).to_dict()


def test_group_folds_test_dev_train_from_the_fold_list():
    corpus = make_corpus(120, speakers=10)   # spk8, spk9 are in no fold: always train
    seen: list[str] = []
    for fold in range(4):
        result = apply_split(corpus, "group_folds", folds=FOLDS, fold=fold)
        speakers = _speakers(result)
        assert speakers["test"] == set(FOLDS[fold]) and speakers["dev"] == set(FOLDS[(fold + 1) % 4])
        assert speakers["train"] == {f"spk{i}" for i in range(10)} - speakers["test"] - speakers["dev"]
        assert {"spk8", "spk9"} <= speakers["train"]
        assert not any("speakers" in w for w in check_leakage(result))
        assert _disjoint(result, "speaker")
        seen += sorted(speakers["test"])
        assert result.meta["split_protocol"] == {"name": "group_folds",
                                                 "options": {"folds": FOLDS, "fold": fold}}
    assert sorted(seen) == [f"spk{i}" for i in range(8)]
    no_dev = apply_split(corpus, "group_folds", folds=FOLDS, fold=3, dev=None)
    assert set(no_dev.splits) == {"train", "test"} and _speakers(no_dev)["test"] == {"spk6", "spk7"}


def test_group_folds_defaults_to_meta_folds_and_by():
    corpus = make_corpus(120, speakers=8, group=[f"g{i % 8 // 2}" for i in range(120)])
    corpus.meta["folds"] = [["g0"], ["g1"], ["g2"], ["g3"]]
    result = apply_split(corpus, "group_folds", fold=2)
    assert set(result.table.loc[result.table["split"] == "test", "group"]) == {"g2"}
    assert set(result.table.loc[result.table["split"] == "dev", "group"]) == {"g3"}
    by_speaker = apply_split(corpus, "group_folds", folds=FOLDS, fold=0, by="speaker")
    assert _speakers(by_speaker)["test"] == {"spk0", "spk1"}


@pytest.mark.parametrize("groups, folds", [
    (lambda i: i % 6 + 1, [[1, 2], [3, 4], [5, 6]]),                  # ints, int folds
    (lambda i: i % 6 + 1, [["1", "02"], ["3", "4"], ["5", "6"]]),     # ints, string folds
    (lambda i: f"{i % 6 + 1:02d}", [[1, 2], [3, 4], [5, 6]]),         # zero-padded strings
    (lambda i: float(i % 6 + 1), [[1, 2], [3, 4], [5, 6]]),           # ints that became floats
])
def test_group_folds_int_and_string_groups(groups, folds):
    corpus = make_corpus(60, group=[groups(i) for i in range(60)])
    result = apply_split(corpus, "group_folds", folds=folds, fold=0)
    test_groups = {int(float(g)) for g in result.table.loc[result.table["split"] == "test", "group"]}
    dev_groups = {int(float(g)) for g in result.table.loc[result.table["split"] == "dev", "group"]}
    assert test_groups == {1, 2} and dev_groups == {3, 4}
    assert result.table.groupby("group")["split"].nunique().eq(1).all()


def test_group_kfold_and_leave_one_out_accept_int_groups():
    corpus = make_corpus(60, group=[i % 5 + 1 for i in range(60)])
    result = apply_split(corpus, "leave_one_group_out", test_group=3)
    assert set(result.table.loc[result.table["split"] == "test", "group"]) == {3}
    assert _disjoint(apply_split(corpus, "group_kfold", n_folds=5, fold=1), "group")


def test_group_folds_errors():
    corpus = make_corpus(60, speakers=8)
    with pytest.raises(ConfigError, match="meta\\['folds'\\]"):
        apply_split(corpus, "group_folds")
    with pytest.raises(ConfigError, match="0 <= fold < 4"):
        apply_split(corpus, "group_folds", folds=FOLDS, fold=4)
    with pytest.raises(ConfigError, match="in folds 0 and 1"):
        apply_split(corpus, "group_folds", folds=[["spk0"], ["spk0", "spk1"]])
    with pytest.raises(ConfigError, match="none of the test groups"):
        apply_split(corpus, "group_folds", folds=[["nobody"], ["spk1"]])
    with pytest.raises(ConfigError, match="list of non-empty lists"):
        apply_split(corpus, "group_folds", folds=["spk0", "spk1"])
    with pytest.raises(ConfigError, match="dev must be"):
        apply_split(corpus, "group_folds", folds=FOLDS, dev="random")
    with pytest.raises(ConfigError, match="no training groups"):
        apply_split(make_corpus(60, speakers=4), "group_folds", folds=[["spk0", "spk1"], ["spk2", "spk3"]])
    with pytest.warns(UserWarning, match="not in the corpus"):
        apply_split(corpus, "group_folds", folds=FOLDS + [["spk8"]], fold=0)


# --- predefined -> the corpus's default protocol ---------------------------------------------------

def test_predefined_uses_the_default_split_of_a_corpus_without_one():
    corpus = make_corpus(120, speakers=12)
    corpus.meta["default_split"] = {"name": "group_kfold", "options": {"n_folds": 4, "fold": 1,
                                                                       "dev_fraction": 0.2}}
    result = apply_split(corpus, "predefined")
    expected = apply_split(corpus, "group_kfold", n_folds=4, fold=1, dev_fraction=0.2)
    assert result.table["split"].tolist() == expected.table["split"].tolist()
    assert result.meta["split_protocol"] == {"name": "group_kfold", "default_for": "predefined",
                                             "options": {"n_folds": 4, "fold": 1, "dev_fraction": 0.2}}
    assert result.meta["split"] == {"splitter": "group_kfold", "n_folds": 4, "fold": 1, "dev_fraction": 0.2}
    assert corpus.table["split"].isna().all() and "split_protocol" not in corpus.meta
    with pytest.raises(ConfigError, match="no \\['dev'\\] part"):
        corpus.meta["default_split"] = {"name": "group_kfold", "options": {"n_folds": 4}}
        apply_split(corpus, "predefined", require=["train", "dev", "test"])
    with pytest.raises(ConfigError, match="options"):
        apply_split(corpus, "predefined", requires=["train"])


def test_predefined_default_only_when_the_split_column_is_empty():
    corpus = make_corpus(8, split=["train"] * 6 + ["test"] * 2)
    corpus.meta["default_split"] = {"name": "group_kfold", "options": {"n_folds": 2}}
    result = apply_split(corpus, "predefined")
    assert result.table["split"].tolist() == corpus.table["split"].tolist()
    assert result.meta["split_protocol"] == {"name": "predefined", "options": {}}
    partial = make_corpus(8, split=["train"] * 6 + [None] * 2)
    partial.meta["default_split"] = {"name": "group_kfold", "options": {"n_folds": 2}}
    with pytest.raises(ConfigError, match="no predefined split for 2 of 8"):
        apply_split(partial, "predefined")
    with pytest.raises(ConfigError, match="no predefined split for 8 of 8"):
        apply_split(make_corpus(8), "predefined")   # neither a split nor a default: as before
