"""The figures are pure functions of API answers: checked on their traces, no browser."""
import pytest

from affectlab.dashboard import charts
from affectlab.labels.plutchik import PRIMARIES

MELD = {"anger": 0.1, "disgust": 0.0, "fear": 0.05, "joy": 0.6, "neutral": 0.2, "sadness": 0.03, "surprise": 0.02}


def test_radar_is_a_closed_scatterpolar_over_the_classes():
    trace = charts.radar(MELD).data[0]
    assert trace.type == "scatterpolar" and trace.fill == "toself"
    assert list(trace.theta) == [*MELD, "anger"] and trace.r[0] == trace.r[-1] == 0.1


def test_plutchik_classes_are_drawn_in_wheel_order():
    shuffled = {p: 0.1 for p in reversed(PRIMARIES)}
    assert list(charts.radar(shuffled).data[0].theta)[:8] == list(PRIMARIES)


def test_heatmap_has_one_cell_per_word_on_a_symmetric_scale():
    words = [{"word": "so", "attribution": 0.1}, {"word": "awful", "attribution": 0.5}, {"word": ".", "attribution": -0.2}]
    trace = charts.attribution_heatmap(words, "anger").data[0]
    assert trace.type == "heatmap" and list(trace.z[0]) == [0.1, 0.5, -0.2]
    assert list(trace.text[0]) == ["so", "awful", "."] and trace.zmin == -0.5 and trace.zmax == 0.5


def test_attribution_html_escapes_words_and_colours_by_sign():
    html = charts.attribution_html([{"word": "<b>", "attribution": 1.0}, {"word": "ok", "attribution": -0.5}])
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "rgba(214,39,40,0.80)" in html and "rgba(31,119,180,0.40)" in html


def test_trajectory_stacks_turns_and_appends_a_dashed_forecast():
    turns = [{"speaker": "A", "probabilities": {"joy": 0.7, "anger": 0.3}},
             {"speaker": "B", "probabilities": {"joy": 0.2, "anger": 0.8}}]
    figure = charts.trajectory_area(["joy", "anger"], turns, {"method": "last-turn", "probabilities": {"joy": 0.4, "anger": 0.6}})
    observed = [t for t in figure.data if t.stackgroup == "turns"]
    forecast = [t for t in figure.data if t.stackgroup == "forecast"]
    assert [t.name for t in observed] == ["joy", "anger"] and list(observed[0].x) == ["1 · A", "2 · B"]
    assert all(t.line.dash == "dash" and list(t.x) == ["2 · B", charts.FORECAST_LABEL] for t in forecast)
    assert [list(t.y) for t in forecast] == [[0.2, 0.4], [0.8, 0.6]]  # each band continues from the last turn


def test_trajectory_without_forecast_has_only_turns_and_grows_for_multi_label():
    turns = [{"speaker": None, "probabilities": {"joy": 0.9, "trust": 0.8}}]
    figure = charts.trajectory_area([], turns, None)
    assert {t.stackgroup for t in figure.data} == {"turns"} and list(figure.data[0].x) == ["1 · ?"]
    assert figure.layout.yaxis.range[1] == pytest.approx(1.7 * 1.08)


def test_wheel_figure_names_the_state_and_highlights_present_primaries():
    wheel = {"state": "love", "primaries": ["joy", "trust"], "dyad": "love", "band": None, "conflicts": []}
    figure = charts.wheel_figure(wheel, {p: 0.8 if p in ("joy", "trust") else 0.1 for p in PRIMARIES})
    assert "love (dyad of joy + trust)" in figure.layout.title.text
    assert list(figure.data[0].marker.opacity[:2]) == [0.95, 0.95] and figure.data[0].marker.opacity[2] == 0.3
    assert charts.describe_wheel({"state": "rage", "band": "intense", "conflicts": [["anger", "fear"]]}) == \
        "rage (intense); conflicts: anger vs fear"


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError):
        charts.radar({})
    with pytest.raises(ValueError):
        charts.attribution_heatmap([])
    with pytest.raises(ValueError):
        charts.trajectory_area(["joy"], [])
