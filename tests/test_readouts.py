"""Readouts: the wheel reading a Plutchik pipeline adds to every prediction."""
import pytest

from affectlab.errors import ConfigError
from affectlab.labels.plutchik import PRIMARIES
from affectlab.readouts import NO_EMOTION, apply_readouts


def _tasks(present: dict[str, float], intensity: float | None = None, neutral: float = 0.1) -> dict:
    probabilities = {p: present.get(p, 0.05) for p in PRIMARIES} | {"neutral": neutral}
    tasks = {"label": {"label": [], "probabilities": probabilities}}
    if intensity is not None:
        tasks["intensity"] = {"values": {"arousal": intensity}}
    return tasks


def test_two_adjacent_primaries_read_as_their_dyad():
    reading = apply_readouts({"wheel": {"threshold": 0.4}}, _tasks({"joy": 0.8, "trust": 0.6}))["wheel"]
    assert reading["state"] == "love" and reading["dyad"] == "love" and reading["primaries"] == ["joy", "trust"]


@pytest.mark.parametrize("intensity, state, band", [(0.1, "serenity", "mild"), (0.5, "joy", "basic"),
                                                    (0.9, "ecstasy", "intense"), (1.7, "ecstasy", "intense")])
def test_one_primary_takes_the_band_of_the_intensity_head(intensity, state, band):
    settings = {"wheel": {"threshold": 0.4, "intensity": "intensity", "bands": [0.3, 0.7]}}
    reading = apply_readouts(settings, _tasks({"joy": 0.9}, intensity))["wheel"]
    assert (reading["state"], reading["band"]) == (state, band)
    assert 0 <= reading["intensity"] <= 1  # clipped, as the pipeline clips bounded values


def test_opposites_are_a_conflict_and_nothing_present_is_no_emotion():
    reading = apply_readouts({"wheel": {"threshold": 0.4}}, _tasks({"joy": 0.7, "sadness": 0.6}))["wheel"]
    assert reading["conflicts"] == [["joy", "sadness"]]
    quiet = apply_readouts({"wheel": {"threshold": 0.4}}, _tasks({}, neutral=0.9))["wheel"]
    assert quiet["state"] == NO_EMOTION and quiet["primaries"] == [] and quiet["band"] is None


def test_an_unknown_readout_is_named():
    with pytest.raises(ConfigError, match="unknown readout 'radar'"):
        apply_readouts({"radar": {}}, _tasks({}))
