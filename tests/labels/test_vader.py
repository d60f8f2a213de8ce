"""VADER compound -> 7 ordinal levels, exact cut behaviour and validation."""
import math

import pandas as pd
import pytest

from affectlab.corpora.corpus import Corpus
from affectlab.errors import ConfigError, InputError
from affectlab.labels import (
    DEFAULT_THRESHOLDS, VaderLevels, auto_label, get_labeller, get_scheme, list_labellers,
)
from affectlab.labels.vader import compound

LEVELS = get_scheme("vader7").classes
NEUTRAL = LEVELS.index("neutral")


def test_documented_default_thresholds():
    assert DEFAULT_THRESHOLDS == (-0.75, -0.5, -0.05, 0.05, 0.5, 0.75)
    assert VaderLevels().thresholds == DEFAULT_THRESHOLDS
    assert VaderLevels().levels == LEVELS


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (-1.0, "extremely_negative"),
        (-0.75, "extremely_negative"),  # on a negative cut: the more negative bin
        (-0.7499, "very_negative"),
        (-0.5, "very_negative"),
        (-0.4999, "negative"),
        (-0.05, "negative"),  # VADER: compound <= -0.05 is negative
        (-0.0499, "neutral"),
        (0.0, "neutral"),
        (0.0499, "neutral"),
        (0.05, "positive"),  # VADER: compound >= 0.05 is positive
        (0.4999, "positive"),
        (0.5, "very_positive"),
        (0.7499, "very_positive"),
        (0.75, "extremely_positive"),  # on a positive cut: the more positive bin
        (1.0, "extremely_positive"),
        (1, "extremely_positive"),
    ],
)
def test_exact_boundaries(value, level):
    assert VaderLevels().level(value) == level


def test_levels_are_monotonic_in_compound():
    grid = [i / 1000 for i in range(-1000, 1001)]
    ids = [LEVELS.index(VaderLevels().level(v)) for v in grid]
    assert ids == sorted(ids) and set(ids) == set(range(7))


def test_real_sentences_land_on_the_right_side():
    positive, negative, neutral, empty = VaderLevels().label_texts(
        ["I love this so much!", "This is terrible, I hate it", "The meeting is at 3pm.", ""]
    )
    assert LEVELS.index(positive) > NEUTRAL
    assert LEVELS.index(negative) < NEUTRAL
    assert neutral == "neutral" and empty == "neutral"
    assert compound("I love this so much!") > 0.05 > -0.05 > compound("This is terrible, I hate it")


def test_custom_thresholds_change_the_bins():
    wide = VaderLevels([-0.9, -0.8, -0.7, 0.7, 0.8, 0.9])  # lists are accepted
    assert wide.thresholds == (-0.9, -0.8, -0.7, 0.7, 0.8, 0.9)
    assert wide.level(0.5) == "neutral" and VaderLevels().level(0.5) == "very_positive"
    assert wide.level(0.7) == "positive" and wide.level(-0.7) == "negative"


def test_a_cut_at_zero_puts_zero_in_the_upper_bin():
    assert VaderLevels((-0.5, -0.25, -0.1, 0.0, 0.25, 0.5)).level(0.0) == "positive"


@pytest.mark.parametrize(
    "bad",
    [
        (-0.75, -0.5, 0.05, -0.05, 0.5, 0.75),  # unsorted
        (-0.75, -0.5, 0.05, 0.05, 0.5, 0.75),  # not strictly increasing
        (-1.5, -0.5, -0.05, 0.05, 0.5, 0.75),  # below -1
        (-0.75, -0.5, -0.05, 0.05, 0.5, 1.01),  # above 1
        (-0.5, -0.05, 0.05, 0.5),  # wrong count
        (-0.75, -0.5, -0.05, 0.05, 0.5, math.nan),
        (-0.75, -0.5, "-0.05", 0.05, 0.5, 0.75),
        "-0.75,-0.5",
        None,
    ],
)
def test_invalid_thresholds_are_config_errors(bad):
    with pytest.raises(ConfigError):
        VaderLevels(bad)


@pytest.mark.parametrize("bad", [1.5, -1.01, math.nan, "0.3", None, True])
def test_invalid_compound_is_input_error(bad):
    with pytest.raises(InputError):
        VaderLevels().level(bad)


def test_label_texts_rejects_a_bare_string_and_non_text():
    with pytest.raises(InputError):
        VaderLevels().label_texts("I love it")
    with pytest.raises(InputError) as err:
        VaderLevels().label_texts(["fine", None, 3])
    assert "[1, 2]" in str(err.value)


def test_registered_labeller_auto_labels_into_vader7():
    assert "vader->vader7" in list_labellers()
    labeller = get_labeller("vader->vader7")
    assert labeller.target == "vader7"
    labels = auto_label(["I love this so much!", "This is terrible, I hate it"], "vader->vader7")
    assert get_scheme(labeller.target).encode(labels).tolist() == [LEVELS.index(x) for x in labels]
    strict = auto_label(["I love this so much!"], "vader->vader7",
                        thresholds=(-0.99, -0.98, -0.97, 0.97, 0.98, 0.99))
    assert strict == ["neutral"]


def test_other_ordinal_target_with_matching_cut_count():
    three = VaderLevels((-0.05, 0.05), target="sentiment3")
    assert [three.level(v) for v in (-0.05, 0.0, 0.05)] == ["negative", "neutral", "positive"]
    with pytest.raises(ConfigError):
        VaderLevels(target="sentiment3")  # 6 cuts for 3 classes


def test_label_corpus_relabels_and_keeps_source_labels():
    table = pd.DataFrame({
        "uid": ["a", "b"], "text": ["I love this so much!", "This is terrible, I hate it"],
        "label": [("joy",), ("anger",)], "split": ["train", "train"],
    })
    corpus = Corpus("toy", table, multi_label=True, meta={"source": "test"})
    out = VaderLevels().label_corpus(corpus)
    assert not out.multi_label
    assert out.meta == {"source": "test", "label_scheme": "vader7", "labelled_by": "vader"}
    assert out.table["source_label"].tolist() == [("joy",), ("anger",)]
    assert all(label in LEVELS for label in out.table["label"])
    assert corpus.table["label"].tolist() == [("joy",), ("anger",)]  # input untouched


def test_label_corpus_lists_rows_without_text():
    table = pd.DataFrame({"uid": ["a", "b"], "text": ["ok", None], "label": ["x", "y"]})
    with pytest.raises(InputError) as err:
        VaderLevels().label_corpus(Corpus("audio", table))
    assert "'b'" in str(err.value)
