"""Plutchik's wheel data and the scores -> state rule."""
import math

import pytest

from affectlab.errors import ConfigError, InputError, LabelError
from affectlab.labels import get_scheme
from affectlab.labels.plutchik import (
    DYADS, INTENSITIES, OPPOSITES, PRIMARIES, are_adjacent, primaries_to_state, state_to_primaries,
)


def test_wheel_order_and_opposites():
    assert PRIMARIES == ("joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation")
    assert OPPOSITES["joy"] == "sadness" and OPPOSITES["trust"] == "disgust"
    assert OPPOSITES["fear"] == "anger" and OPPOSITES["surprise"] == "anticipation"
    assert all(OPPOSITES[OPPOSITES[p]] == p for p in PRIMARIES)


def test_dyads_are_exactly_the_adjacent_pairs():
    pairs = {frozenset(pair) for pair in DYADS.values()}
    adjacent = {frozenset((PRIMARIES[i], PRIMARIES[(i + 1) % 8])) for i in range(8)}
    assert pairs == adjacent and len(DYADS) == 8
    assert DYADS["optimism"] == ("anticipation", "joy")  # the wrap-around pair
    assert are_adjacent("joy", "anticipation") and not are_adjacent("joy", "fear")


def test_thirty_two_distinct_states_match_the_scheme():
    states = [s for band in INTENSITIES.values() for s in band] + list(DYADS)
    assert len(states) == len(set(states)) == 32
    assert set(states) == set(get_scheme("plutchik32").classes)
    assert all(INTENSITIES[p][1] == p for p in PRIMARIES)  # the basic level is the primary


@pytest.mark.parametrize(
    ("state", "primaries"),
    [("rage", ("anger",)), ("serenity", ("joy",)), ("admiration", ("trust",)),
     ("vigilance", ("anticipation",)), ("fear", ("fear",)), ("love", ("joy", "trust")),
     ("  Awe ", ("fear", "surprise")), ("contempt", ("disgust", "anger"))],
)
def test_state_to_primaries(state, primaries):
    assert state_to_primaries(state) == primaries


def test_state_to_primaries_unknown_is_label_error():
    with pytest.raises(LabelError):
        state_to_primaries("jealousy")


@pytest.mark.parametrize(
    ("scores", "state"),
    [
        ({"joy": 0.8, "trust": 0.7}, "love"),
        ({"anticipation": 0.9, "joy": 0.6}, "optimism"),  # wrap-around adjacency
        ({"joy": 0.8, "sadness": 0.7}, "ecstasy"),  # opposites never blend
        ({"joy": 0.8, "fear": 0.7}, "ecstasy"),  # not adjacent
        ({"joy": 0.8, "trust": 0.5}, "ecstasy"),  # must *exceed* the dyad threshold
        ({"joy": 0.8, "trust": 0.51}, "love"),
        ({"anger": 0.2}, "annoyance"),
        ({"anger": 0.33}, "anger"),  # band cut: 0.33 is basic
        ({"anger": 0.6599}, "anger"),
        ({"anger": 0.66}, "rage"),  # band cut: 0.66 is intense
        ({"anger": 1.0, "joy": 0.0}, "rage"),
        ({"fear": 0.4, "anger": 0.4}, "fear"),  # tie: wheel order decides
    ],
)
def test_primaries_to_state(scores, state):
    assert primaries_to_state(scores) == state


def test_thresholds_are_parameters():
    assert primaries_to_state({"joy": 0.4, "trust": 0.35}, dyad_threshold=0.3) == "love"
    assert primaries_to_state({"joy": 0.5}, bands=(0.6, 0.9)) == "serenity"


@pytest.mark.parametrize("state", get_scheme("plutchik32").classes)
def test_every_state_round_trips(state):
    primaries = state_to_primaries(state)
    if len(primaries) == 2:
        scores = dict.fromkeys(primaries, 0.9)
    else:
        level = next(band.index(state) for band in INTENSITIES.values() if state in band)
        scores = {primaries[0]: (0.1, 0.5, 0.9)[level]}
    assert primaries_to_state(scores) == state


def test_invalid_inputs():
    with pytest.raises(LabelError) as err:
        primaries_to_state({"joy": 0.5, "happiness": 0.2, "love": 0.1})
    assert "happiness" in str(err.value) and "love" in str(err.value)
    for bad in ({"joy": 1.5}, {"joy": -0.1}, {"joy": math.nan}, {"joy": "high"}):
        with pytest.raises(InputError):
            primaries_to_state(bad)
    with pytest.raises(InputError):
        primaries_to_state({"joy": 0.0})
    with pytest.raises(InputError):
        primaries_to_state({})


@pytest.mark.parametrize(
    "kwargs",
    [{"dyad_threshold": 1.5}, {"dyad_threshold": math.nan}, {"bands": (0.7, 0.3)},
     {"bands": (0.0, 0.5)}, {"bands": (0.3, 1.2)}, {"bands": (0.5,)}],
)
def test_invalid_thresholds_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        primaries_to_state({"joy": 0.5}, **kwargs)


def test_read_wheel_dyads_bands_and_conflicts():
    from affectlab.labels.plutchik import read_wheel

    love = read_wheel({"joy": 0.8, "trust": 0.7, "fear": 0.1})
    assert love.state == "love" and love.dyad == "love" and love.primaries == ("joy", "trust")
    calm = read_wheel({"joy": 0.9}, intensity=0.2)          # the intensity head sets the band
    assert calm.state == "serenity" and calm.band == "mild"
    assert read_wheel({"joy": 0.9}).state == "ecstasy"       # without one: the probability's band
    torn = read_wheel({"joy": 0.7, "sadness": 0.6, "anger": 0.2})
    assert torn.conflicts == (("joy", "sadness"),) and torn.state == "ecstasy" and torn.dyad is None
    per_primary = read_wheel({"anger": 0.4, "anticipation": 0.35}, threshold={**{p: 0.5 for p in
                             ("joy", "trust", "fear", "surprise", "sadness", "disgust")}, "anger": 0.3, "anticipation": 0.3})
    assert per_primary.state == "aggressiveness"
    assert read_wheel({"fear": 0.9, "surprise": 0.8, "sadness": 0.85}).dyad == "disapproval"  # the stronger pair
    assert set(torn.to_dict()) == {"state", "primaries", "dyad", "band", "conflicts"}


def test_read_wheel_rejects_bad_input():
    import pytest

    from affectlab.errors import AffectLabError
    from affectlab.labels.plutchik import read_wheel

    for bad in ({"happiness": 0.5}, {"joy": 1.5}):
        with pytest.raises(AffectLabError):
            read_wheel(bad)
    with pytest.raises(AffectLabError, match="intensity"):
        read_wheel({"joy": 0.5}, intensity=2)
