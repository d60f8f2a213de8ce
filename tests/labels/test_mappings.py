"""Raw-label mappings: protocol decisions, multi-label handling, errors."""
import pandas as pd
import pytest

from affectlab.errors import ConfigError, LabelError
from affectlab.labels import (
    MAPPINGS, plutchik, LabelMapping, get_mapping, get_scheme, list_mappings, list_schemes, map_labels,
)

ALL = [
    "iemocap_raw->iemocap4", "iemocap_raw->iemocap6", "goemotions28->ekman7",
    "goemotions28->sentiment3", "meld7->sentiment3", "ekman7->sentiment3",
    "ravdess8->sentiment3", "plutchik32->plutchik8", "xed_ids->plutchik8",
    "xed_ids->plutchik8_neutral", "mustard->sarcasm2", "cremad6->sentiment3",
    "tess7->sentiment3", "savee7->sentiment3", "emodb7->sentiment3",
    "goemotions28->plutchik8", "meld7->plutchik8", "goemotions28->plutchik8_neutral",
]


def test_registry_lists_every_documented_mapping():
    assert sorted(ALL) == list_mappings()


@pytest.mark.parametrize("name", ALL)
def test_targets_are_real_classes_and_scheme_sources_are_covered(name):
    mapping = get_mapping(name)
    assert mapping.name == name and mapping.description
    assert f"{mapping.source}->{mapping.target}" == name
    target = set(get_scheme(mapping.target).classes)
    for value in mapping.table.values():
        values = () if value is None else (value,) if isinstance(value, str) else value
        assert set(values) <= target, (name, value)
    if mapping.source in list_schemes():  # every source class has an explicit decision
        assert set(mapping.table) == set(get_scheme(mapping.source).classes)


def test_iemocap4_standard_protocol():
    out = map_labels(["neu", "hap", "exc", "ang", "sad", "fru", "sur", "fea", "dis", "oth", "xxx"],
                     "iemocap_raw->iemocap4")
    assert out == ["neutral", "happy", "happy", "angry", "sad"] + [None] * 6


def test_excited_becomes_happy_case_insensitively():
    assert map_labels([" EXC", "Exc"], "iemocap_raw->iemocap4") == ["happy", "happy"]


def test_iemocap6_keeps_excited_and_frustrated():
    out = map_labels(["exc", "fru", "hap", "sur", "xxx"], "iemocap_raw->iemocap6")
    assert out == ["excited", "frustrated", "happy", None, None]


def test_unknown_labels_error_lists_all_offenders_and_names_mapping():
    with pytest.raises(LabelError) as err:
        map_labels(["neu", "foo", "bar", "foo", "Happy", 7], "iemocap_raw->iemocap4")
    message = str(err.value)
    assert "iemocap_raw->iemocap4" in message
    for offender in ("foo", "bar", "Happy", "7"):
        assert offender in message
    assert "4 label(s)" in message  # deduplicated: foo counted once


def test_unknown_elements_inside_multi_label_rows_are_all_reported():
    with pytest.raises(LabelError) as err:
        map_labels([("joy", "glee"), ("rage",), ("neutral",)], "goemotions28->ekman7")
    assert "glee" in str(err.value) and "rage" in str(err.value)


def test_goemotions_ekman_is_multi_label_deduplicated_in_target_order():
    out = map_labels([("amusement", "joy", "anger"), ("annoyance", "disapproval"), "neutral"],
                     "goemotions28->ekman7")
    assert out == [("anger", "joy"), ("anger",), ("neutral",)]


@pytest.mark.parametrize(
    ("source", "ekman"),
    [("nervousness", "fear"), ("embarrassment", "sadness"), ("realization", "surprise"),
     ("curiosity", "surprise"), ("caring", "joy"), ("desire", "joy"), ("approval", "joy"),
     ("disapproval", "anger"), ("grief", "sadness"), ("disgust", "disgust")],
)
def test_goemotions_official_ekman_groups(source, ekman):
    assert get_mapping("goemotions28->ekman7").apply([(source,)]) == [(ekman,)]


def test_goemotions_sentiment_drops_only_ambiguous_elements():
    out = map_labels([("surprise",), ("surprise", "joy"), ("joy", "anger"), ("neutral",),
                      ("realization", "confusion", "curiosity")], "goemotions28->sentiment3")
    assert out == [None, ("positive",), ("negative", "positive"), ("neutral",), None]
    assert "ambiguous" in get_mapping("goemotions28->sentiment3").description


@pytest.mark.parametrize("name", ["meld7->sentiment3", "ekman7->sentiment3"])
def test_ekman_style_sentiment_drops_surprise(name):
    mapping = get_mapping(name)
    out = mapping.apply(["joy", "anger", "disgust", "fear", "sadness", "neutral", "surprise"])
    assert out == ["positive", "negative", "negative", "negative", "negative", "neutral", None]
    assert mapping.drops("surprise") and not mapping.drops("joy")


def test_drops_rejects_unknown_labels_instead_of_guessing():
    with pytest.raises(LabelError):
        get_mapping("meld7->sentiment3").drops("happiness")


def test_single_label_mapping_rejects_rows_with_conflicting_targets():
    with pytest.raises(LabelError) as err:
        map_labels([("joy", "anger")], "meld7->sentiment3")
    assert "single-label" in str(err.value)
    assert map_labels([("joy",)], "meld7->sentiment3") == ["positive"]


def test_ravdess_sentiment():
    out = map_labels(["neutral", "calm", "happy", "surprised", "sad", "angry", "fearful", "disgust"],
                     "ravdess8->sentiment3")
    assert out == ["neutral", "neutral", "positive", "positive"] + ["negative"] * 4


def test_ravdess_codes_work_through_source_scheme_aliases():
    assert map_labels(["02", "05"], "ravdess8->sentiment3") == ["neutral", "negative"]


@pytest.mark.parametrize("name, raw, expected", [
    ("cremad6->sentiment3", ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"],
     ["negative", "negative", "negative", "positive", "neutral", "negative"]),
    ("tess7->sentiment3", ["angry", "disgust", "fear", "happy", "neutral", "ps", "sad"],
     ["negative", "negative", "negative", "positive", "neutral", "positive", "negative"]),
    ("savee7->sentiment3", ["a", "d", "f", "h", "n", "sa", "su"],
     ["negative", "negative", "negative", "positive", "neutral", "negative", None]),
    ("emodb7->sentiment3", ["W", "L", "E", "A", "F", "T", "N"],
     ["negative", "negative", "negative", "negative", "positive", "negative", "neutral"]),
])
def test_speech_corpora_sentiment_from_file_name_codes(name, raw, expected):
    assert map_labels(raw, name) == expected


def test_plutchik32_to_primaries():
    out = map_labels(["rage", "serenity", "love", "optimism", ("love", "ecstasy")],
                     "plutchik32->plutchik8")
    assert out == [("anger",), ("joy",), ("joy", "trust"), ("joy", "anticipation"), ("joy", "trust")]


def test_plutchik32_covers_all_32_states():
    mapping = get_mapping("plutchik32->plutchik8")
    assert len(mapping.table) == 32
    assert sum(isinstance(v, tuple) and len(v) == 2 for v in mapping.table.values()) == 8


def test_xed_ids_alphabetical_numbering():
    out = map_labels([("1", "4", "7"), ("8", "1"), "5", 2, ("3", "6")], "xed_ids->plutchik8")
    assert out == [("fear", "surprise", "anger"), ("trust", "anger"), ("joy",),
                   ("anticipation",), ("sadness", "disgust")]


def test_xed_neutral_dropped_or_kept_by_variant():
    assert map_labels(["9", "0"], "xed_ids->plutchik8") == [None, None]
    assert map_labels(["9", "0", ("1", "9")], "xed_ids->plutchik8_neutral") == [
        ("neutral",), ("neutral",), ("anger", "neutral")]


def test_xed_rejects_out_of_range_ids():
    with pytest.raises(LabelError) as err:
        map_labels(["10", "-1", "1"], "xed_ids->plutchik8")
    assert "10" in str(err.value) and "-1" in str(err.value)


def test_goemotions_plutchik_covers_every_class_with_primaries():
    mapping = get_mapping("goemotions28->plutchik8")
    assert mapping.multi_label and mapping.target_scheme().multi_label
    assert set(mapping.table) == set(get_scheme("goemotions28").classes)
    for name, value in mapping.table.items():
        if name == "neutral":
            assert value is None
        else:
            assert value and set(value) <= set(plutchik.PRIMARIES), name


def test_goemotions_plutchik_wheel_names_follow_the_wheel():
    mapping = get_mapping("goemotions28->plutchik8")
    order = {p: i for i, p in enumerate(get_scheme("plutchik8").classes)}
    on_wheel = set(get_scheme("goemotions28").classes) & set(get_scheme("plutchik32").classes)
    assert on_wheel >= {"admiration", "annoyance", "grief", "love", "optimism", "remorse", "disapproval"}
    for name in on_wheel:
        expected = tuple(sorted(plutchik.state_to_primaries(name), key=order.get))
        assert mapping.apply([(name,)]) == [expected], name


@pytest.mark.parametrize("dyad", ["love", "optimism", "remorse", "disapproval"])
def test_goemotions_plutchik_dyads_give_both_primaries(dyad):
    (out,) = map_labels([dyad], "goemotions28->plutchik8")
    assert len(out) == 2 and set(out) == set(plutchik.DYADS[dyad])


@pytest.mark.parametrize(("name", "primary"), [("admiration", "trust"), ("annoyance", "anger"),
                                               ("grief", "sadness")])
def test_goemotions_plutchik_intensity_names_give_their_primary(name, primary):
    assert name in plutchik.INTENSITIES[primary]
    assert map_labels([name], "goemotions28->plutchik8") == [(primary,)]


def test_goemotions_plutchik_multi_label_rows_and_neutral():
    out = map_labels([("love", "neutral"), ("neutral",), "neutral", ("optimism", "joy", "remorse"),
                      ("disappointment",)], "goemotions28->plutchik8")
    assert out == [("joy", "trust"), None, None, ("joy", "sadness", "disgust", "anticipation"),
                   ("surprise", "sadness")]
    mapping = get_mapping("goemotions28->plutchik8")
    assert mapping.drops(("neutral",)) and not mapping.drops(("neutral", "relief"))


def test_meld_plutchik_same_names_and_neutral_dropped():
    mapping = get_mapping("meld7->plutchik8")
    out = mapping.apply(["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"])
    assert out == [("anger",), ("disgust",), ("fear",), ("joy",), ("sadness",), ("surprise",), None]
    assert mapping.drops("neutral") and not mapping.drops("Joy")
    kept = [label for label in out if label is not None]
    assert mapping.target_scheme().encode(kept).sum(axis=1).tolist() == [1] * 6


def test_mustard_accepts_booleans_and_strings():
    out = map_labels([True, False, "true", "FALSE", 1, 0], "mustard->sarcasm2")
    assert out == ["sarcastic", "not_sarcastic"] * 3


def test_target_scheme_encodes_mapping_output():
    mapping = get_mapping("goemotions28->ekman7")
    scheme = mapping.target_scheme()
    assert scheme.multi_label and scheme.classes == get_scheme("ekman7").classes
    matrix = scheme.encode(mapping.apply([("joy", "anger"), ("neutral",)]))
    assert matrix.tolist()[0] == [1, 0, 0, 1, 0, 0, 0]

    single = get_mapping("iemocap_raw->iemocap4")
    kept = [label for label in single.apply(["exc", "fru", "ang"]) if label is not None]
    assert single.target_scheme().encode(kept).tolist() == [1, 0]


def test_accepts_a_pandas_series():
    series = pd.Series(["hap", "exc", "xxx"])
    assert map_labels(series, "iemocap_raw->iemocap4") == ["happy", "happy", None]


def test_unknown_mapping_is_config_error():
    with pytest.raises(ConfigError) as err:
        get_mapping("iemocap_raw->iemocap5")
    assert "iemocap_raw->iemocap4" in str(err.value)


def test_get_mapping_returns_independent_copies():
    get_mapping("iemocap_raw->iemocap4").table["exc"] = None
    assert map_labels(["exc"], "iemocap_raw->iemocap4") == ["happy"]
    assert "iemocap_raw->iemocap4" in MAPPINGS


def test_custom_mapping_requires_normalised_keys():
    with pytest.raises(ValueError):
        LabelMapping("x", "a", "sentiment3", {"Joy": "positive"})
    custom = LabelMapping("x", "a", "sentiment3", {"yay": "positive", "meh": None})
    assert custom.apply(["YAY", "meh"]) == ["positive", None]


def test_goemotions_plutchik_with_neutral_keeps_neutral_and_the_same_emotions():
    rows = [("neutral",), ("gratitude",), ("joy", "neutral"), ("embarrassment",)]
    kept = map_labels(rows, "goemotions28->plutchik8_neutral")
    assert kept == [("neutral",), ("joy", "trust"), ("joy", "neutral"), ("fear", "disgust")]
    assert map_labels(rows, "goemotions28->plutchik8") == [None, ("joy", "trust"), ("joy",), ("fear", "disgust")]
