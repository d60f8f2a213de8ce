"""A config's labels section -> scheme + mapping (affectlab.labels.from_config)."""
import numpy as np
import pytest

from affectlab.errors import ConfigError, LabelError
from affectlab.experiments.config import config_from_dict, config_identity
from affectlab.labels import get_scheme, mapping_for, scheme_and_mapping, scheme_for


def _labels(**labels):
    return config_from_dict({"data": {"corpus": "tabular"}, "labels": labels}, "my.yaml").labels


def test_declared_classes_make_a_new_scheme_with_its_own_spelling():
    labels = _labels(scheme="support3", classes=["Positive", "Neutral", "Negative"])
    scheme, mapping = scheme_and_mapping(labels)
    assert scheme.name == "support3" and scheme.classes == ("Positive", "Neutral", "Negative")
    assert not scheme.multi_label and mapping is None
    assert scheme.encode([" positive", "NEGATIVE", "Neutral"]).tolist() == [0, 2, 1]


def test_scheme_name_is_not_looked_up_when_classes_are_given():
    scheme = scheme_for(_labels(scheme="meld7", classes=["a", "b"]))
    assert scheme.classes == ("a", "b") and get_scheme("meld7").classes != scheme.classes


def test_map_sends_raw_values_to_classes_lists_or_nothing():
    labels = _labels(scheme="mood", classes=["Happy", "Sad", "Angry"],
                     map={"pos": "happy", 1: "Happy", "mixed": ["Happy", "Sad"], "?": None})
    scheme, mapping = scheme_and_mapping(labels)
    assert scheme.multi_label  # a list value makes a declared scheme multi-label
    mapped = mapping.apply(["POS", "1", "mixed", "?", "sad", ("pos", "angry")])
    assert mapped == [("Happy",), ("Happy",), ("Happy", "Sad"), None, ("Sad",), ("Happy", "Angry")]
    kept = [m for m in mapped if m is not None]
    np.testing.assert_array_equal(mapping.target_scheme().encode(kept)[2], [1, 1, 0])


def test_map_into_a_registered_scheme_and_unknown_raw_labels():
    scheme, mapping = scheme_and_mapping(_labels(scheme="sentiment3", map={"pos": "positive", "neg": "negative"}))
    assert scheme.name == "sentiment3" and mapping.apply(["pos", "Neutral"]) == ["positive", "neutral"]
    with pytest.raises(LabelError, match=r"cannot map 2 label\(s\): huh, wat.*labels\.map"):
        mapping.apply(["huh", "wat", "pos"])


def test_aliases_are_kept_in_the_scheme():
    scheme = scheme_for(_labels(scheme="two", classes=["Yes", "No"], aliases={"Y": "yes", "n": "NO"}))
    assert scheme.aliases == {"y": "Yes", "n": "No"}
    assert scheme.encode(["y", "N", "yes"]).tolist() == [0, 1, 0]
    assert scheme.to_dict()["aliases"] == {"y": "Yes", "n": "No"}


def test_multi_label_declared_and_overridden():
    assert scheme_for(_labels(scheme="x", classes=["a", "b"], multi_label=True)).multi_label
    assert scheme_for(_labels(scheme="meld7", multi_label=True)).multi_label
    assert not scheme_for(_labels(scheme="x", classes=["a", "b"], map={"ab": ["a"]})).multi_label


@pytest.mark.parametrize("labels, message", [
    ({"scheme": "x", "classes": ["a", "A"]}, "differ in more than case"),
    ({"scheme": "x", "classes": []}, "non-empty list"),
    ({"scheme": "x", "classes": ["a", "b"], "map": {"q": "c"}}, r"labels\.map\['q'\]: 'c' is not a class"),
    ({"scheme": "x", "classes": ["a", "b"], "map": {"q": ["a", "b"]}, "multi_label": False},
     "set labels.multi_label: true"),
    ({"scheme": "x", "classes": ["a", "b"], "map": {"Q": "a", "q": "b"}}, "matched ignoring case"),
    ({"scheme": "x", "classes": ["a", "b"], "aliases": {"z": "c"}}, r"labels\.aliases\['z'\]"),
    ({"scheme": "x", "classes": ["a"], "mapping": "meld7->sentiment3"}, "write the raw -> class table as labels.map"),
    ({"scheme": "nope", "map": {"a": "b"}}, r"unknown label scheme 'nope'.*labels\.classes"),
    ({"scheme": "sentiment3", "mapping": "meld7->sentiment3", "map": {"a": "positive"}}, "give one"),
    ({"scheme": "ekman7", "mapping": "goemotions28->ekman7", "multi_label": False}, "contradicts mapping"),
])
def test_inconsistent_labels_sections_fail_when_the_config_loads(labels, message):
    with pytest.raises(ConfigError, match=message) as info:
        config_from_dict({"data": {"corpus": "tabular"}, "labels": labels}, "my.yaml")
    assert "invalid config my.yaml: labels:" in str(info.value)


def test_unknown_registered_scheme_says_how_to_declare_one():
    with pytest.raises(ConfigError, match=r"unknown label scheme 'mine'.*labels\.classes"):
        scheme_for(_labels(scheme="mine"))


def test_named_mapping_still_works():
    scheme, mapping = scheme_and_mapping(_labels(scheme="ekman7", mapping="goemotions28->ekman7"))
    assert mapping.name == "goemotions28->ekman7" and mapping.target_scheme().multi_label
    assert mapping_for(_labels(scheme="meld7"), scheme) is None


def test_new_fields_leave_existing_run_ids_alone():
    plain = config_from_dict({"data": {"corpus": "tabular"}, "labels": {"scheme": "meld7"}})
    assert set(config_identity(plain)["labels"]) == {"scheme", "column", "mapping", "labeller", "labeller_options"}
    declared = config_from_dict({"data": {"corpus": "tabular"},
                                 "labels": {"scheme": "x", "classes": ["a", "b"]}})
    assert config_identity(declared)["labels"]["classes"] == ["a", "b"]
