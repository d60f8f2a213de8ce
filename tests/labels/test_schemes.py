"""The scheme catalog: class orders are a contract with trained models."""
from pathlib import Path

import numpy as np
import pytest

from affectlab.errors import ConfigError, LabelError
from affectlab.labels import SCHEMES, LabelScheme, get_scheme, list_schemes, plutchik

# Pinned on purpose: changing any of these silently breaks every trained model.
EXPECTED = {
    "meld7": ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"),
    "sentiment3": ("negative", "neutral", "positive"),
    "iemocap4": ("angry", "happy", "neutral", "sad"),
    "iemocap6": ("angry", "excited", "frustrated", "happy", "neutral", "sad"),
    "ekman6": ("anger", "disgust", "fear", "joy", "sadness", "surprise"),
    "ekman7": ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"),
    "goemotions28": tuple(
        "admiration amusement anger annoyance approval caring confusion curiosity desire "
        "disappointment disapproval disgust embarrassment excitement fear gratitude grief joy "
        "love nervousness optimism pride realization relief remorse sadness surprise neutral".split()
    ),
    "plutchik8": ("joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation"),
    "plutchik8_neutral": (
        "joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation", "neutral",
    ),
    "plutchik32": tuple(
        "serenity joy ecstasy acceptance trust admiration apprehension fear terror "
        "distraction surprise amazement pensiveness sadness grief boredom disgust loathing "
        "annoyance anger rage interest anticipation vigilance "
        "love submission awe disapproval remorse contempt aggressiveness optimism".split()
    ),
    "sarcasm2": ("not_sarcastic", "sarcastic"),
    "vader7": (
        "extremely_negative", "very_negative", "negative", "neutral",
        "positive", "very_positive", "extremely_positive",
    ),
    "ravdess8": ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
    "cremad6": ("anger", "disgust", "fear", "happy", "neutral", "sad"),
    "tess7": ("angry", "disgust", "fear", "happy", "neutral", "pleasant_surprise", "sad"),
    "savee7": ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"),
    "emodb7": ("anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"),
}
MULTI_LABEL = {"goemotions28", "plutchik8", "plutchik8_neutral"}


def test_catalog_lists_exactly_the_documented_schemes():
    assert sorted(EXPECTED) == list_schemes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_class_order_is_pinned(name):
    scheme = get_scheme(name)
    assert isinstance(scheme, LabelScheme)
    assert scheme.name == name
    assert scheme.classes == EXPECTED[name]
    assert scheme.multi_label == (name in MULTI_LABEL)
    assert scheme.description


def test_class_counts():
    assert len(get_scheme("goemotions28")) == 28
    assert len(get_scheme("plutchik32")) == 32
    assert len(get_scheme("vader7")) == 7
    assert get_scheme("goemotions28").classes[-1] == "neutral"


def test_ekman_schemes_are_consistent():
    ekman7 = get_scheme("ekman7").classes
    assert ekman7 == get_scheme("meld7").classes  # MELD ids line up with ekman7 ids
    assert tuple(c for c in ekman7 if c != "neutral") == get_scheme("ekman6").classes


def test_plutchik32_is_derived_from_the_wheel_data():
    states = get_scheme("plutchik32").classes
    expected = [s for p in plutchik.PRIMARIES for s in plutchik.INTENSITIES[p]] + list(plutchik.DYADS)
    assert list(states) == expected
    assert get_scheme("plutchik8").classes == plutchik.PRIMARIES


def test_goemotions_order_matches_official_labels_file():
    path = Path(__file__).resolve().parents[3] / "shared/data/goemotions/labels.txt"
    if not path.exists():
        pytest.skip(f"GoEmotions data not available at {path}")
    official = tuple(path.read_text().split())
    assert get_scheme("goemotions28").classes == official


def test_unknown_scheme_is_config_error_naming_known_ones():
    with pytest.raises(ConfigError) as err:
        get_scheme("meld8")
    assert "meld8" in str(err.value) and "meld7" in str(err.value)


def test_get_scheme_returns_independent_copies():
    first = get_scheme("iemocap4")
    first.aliases["bogus"] = "happy"
    assert "bogus" not in get_scheme("iemocap4").aliases


@pytest.mark.parametrize(
    ("scheme", "raw", "expected"),
    [
        ("iemocap4", ["hap", "NEU", "ang", "sad", "Neutral state"], [1, 2, 0, 3, 2]),
        ("iemocap6", ["exc", "fru", "Frustration", "hap"], [1, 2, 2, 3]),
        ("ravdess8", ["01", "03", "08"], [0, 2, 7]),
        ("cremad6", ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"], [0, 1, 2, 3, 4, 5]),
        ("tess7", ["ps", "Pleasant_Surprised", "angry"], [5, 5, 0]),
        ("savee7", ["a", "d", "f", "h", "n", "sa", "su"], [0, 1, 2, 3, 4, 5, 6]),
        ("emodb7", ["W", "L", "E", "A", "F", "T", "N"], [0, 1, 2, 3, 4, 5, 6]),
        ("sarcasm2", [True, False, "1", "0", "sarcastic"], [1, 0, 1, 0, 1]),
    ],
)
def test_real_dataset_spellings_encode_through_aliases(scheme, raw, expected):
    assert get_scheme(scheme).encode(raw).tolist() == expected


def test_iemocap4_has_no_alias_for_excited():
    # exc -> happy is a protocol decision made by a mapping, never silently by the scheme.
    with pytest.raises(LabelError):
        get_scheme("iemocap4").encode(["exc"])


def test_multi_label_scheme_encodes_matrix_and_reports_all_unknown():
    scheme = get_scheme("goemotions28")
    matrix = scheme.encode([("joy", "love"), ("neutral",)])
    assert matrix.shape == (2, 28)
    assert np.flatnonzero(matrix[0]).tolist() == [17, 18]
    with pytest.raises(LabelError) as err:
        scheme.encode([("joy", "happy"), ("sorrow",)])
    assert "happy" in str(err.value) and "sorrow" in str(err.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schemes_round_trip_through_dict(name):
    scheme = get_scheme(name)
    again = LabelScheme.from_dict(scheme.to_dict())
    assert again == scheme and again.aliases == scheme.aliases


def test_registry_is_a_registry_not_a_dict():
    assert "meld7" in SCHEMES and "nope" not in SCHEMES


# --- case: raw labels are matched ignoring case, the scheme keeps its own spelling ------------

def _capitalised(multi_label=False):
    return LabelScheme("caps", ("Anger", "Joy", "Neutral"), multi_label, "capitalised classes",
                       {"happy": "joy"})


def test_capitalised_classes_match_raw_labels_in_any_case():
    scheme = _capitalised()
    assert scheme.encode(["Anger", "anger", " JOY ", "Happy", "neutral"]).tolist() == [0, 0, 1, 1, 2]
    assert scheme.canonical("ANGER") == "Anger" and scheme.canonical("happy") == "Joy"
    assert scheme.decode([1]) == ["Joy"] and scheme.classes == ("Anger", "Joy", "Neutral")
    np.testing.assert_array_equal(_capitalised(True).encode([("anger", "JOY")]), [[1, 1, 0]])


def test_unknown_labels_are_listed_once_and_classes_once():
    with pytest.raises(LabelError) as err:
        _capitalised().encode(["Anger", "Fear", "fear", "calm", "FEAR"])
    message = str(err.value)
    assert message.count("Fear") == 1 and message.lower().count("fear") == 1 and message.count("calm") == 1
    assert message.count("Anger") == 1 and message.count("Neutral") == 1
    assert "2 raw label(s)" in message and "labels.map" in message


def test_single_label_scheme_refuses_label_sets_and_empty_labels():
    with pytest.raises(LabelError, match="multi_label: true"):
        _capitalised().encode([("anger", "joy")])
    with pytest.raises(LabelError, match="1 of 2 row"):
        _capitalised().encode(["joy", None])


def test_classes_differing_only_in_case_are_refused():
    with pytest.raises(ValueError, match="ignoring case"):
        LabelScheme("bad", ("Joy", "joy"))
