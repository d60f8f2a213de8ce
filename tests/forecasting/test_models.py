"""Next-turn examples and every registered forecaster, on synthetic conversations whose next
emotion follows the last one (so a forecaster that learns anything beats chance)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affectlab.forecasting import FORECASTERS, load_forecaster, log_loss, next_turn_set
from affectlab.forecasting.models import ODEForecaster
from affectlab.forecasting.sequences import parse_clock, turn_gaps

CLASSES = ["joy", "anger", "neutral"]


def conversations(n_dialogues: int = 120, length: int = 6, seed: int = 0):
    """Emotion cycles joy → anger → neutral → joy; per-turn probabilities are noisy one-hots."""
    rng = np.random.default_rng(seed)
    rows, probs = [], []
    for d in range(n_dialogues):
        label = rng.integers(3)
        for t in range(length):
            rows.append({"dialogue": f"d{d}", "turn": t, "label": CLASSES[label],
                         "start_time": f"00:00:{10 + 3 * t:02d},500"})
            p = np.full(3, 0.1) + rng.random(3) * 0.1
            p[label] += 0.7
            probs.append(p / p.sum())
            label = (label + 1) % 3
    return pd.DataFrame(rows), np.asarray(probs, np.float32)


def test_clock_times_and_gaps():
    assert parse_clock("00:16:21,731") == pytest.approx(981.731)
    assert np.isnan(parse_clock("garbage"))
    assert turn_gaps(np.array([10.0, 13.0, np.nan, 5.0, 500.0])).tolist() == [1.0, 3.0, 1.0, 1.0, 60.0]


def test_next_turn_examples_hold_the_history_before_each_turn():
    table, probs = conversations(n_dialogues=2, length=4)
    data = next_turn_set(table, probs, CLASSES, history=2)
    assert len(data) == 2 * 3 and data.lengths.tolist() == [1, 2, 2] * 2
    assert data.x.shape == (6, 2, 4) and data.next_gap[0] == pytest.approx(np.log1p(3.0))
    np.testing.assert_allclose(data.last_probs()[1], probs[1], rtol=1e-6)  # turn 2's history ends at turn 1
    assert data.y[:3].tolist() == [CLASSES.index(v) for v in table["label"][1:4]]


@pytest.mark.parametrize("name", FORECASTERS.names())
def test_every_forecaster_learns_the_cycle_and_survives_save_and_load(name, tmp_path):
    table, probs = conversations()
    train = next_turn_set(table, probs, CLASSES)
    dev_table, dev_probs = conversations(30, seed=1)
    dev = next_turn_set(dev_table, dev_probs, CLASSES)
    options = {"epochs": 15, "seed": 0} if name in ("gru", "ode") else {}
    model = FORECASTERS.create(name, **options).fit(train, dev)
    p = model.predict_proba(dev)
    assert p.shape == (len(dev), 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    accuracy = (p.argmax(1) == dev.y).mean()
    if name == "persistence":  # the cycle never repeats an emotion: persistence is always wrong
        assert accuracy == 0.0
    else:
        assert accuracy > 0.9 and log_loss(dev.y, p) < np.log(3)
    again = load_forecaster(model.save(tmp_path / name))
    np.testing.assert_allclose(again.predict_proba(dev), p, rtol=1e-5, atol=1e-6)


def test_the_ode_path_runs_from_the_last_turn_to_the_forecast():
    table, probs = conversations(40)
    data = next_turn_set(table, probs, CLASSES)
    model = ODEForecaster(epochs=3, seed=0).fit(data)
    path = model.path(data, points=5)
    assert path.shape == (len(data), 5, 3)
    np.testing.assert_allclose(path[:, -1], model.predict_proba(data), rtol=1e-4, atol=1e-5)


def test_a_table_without_dialogues_is_a_clear_error():
    from affectlab.errors import DataFormatError

    with pytest.raises(DataFormatError, match="dialogue"):
        next_turn_set(pd.DataFrame({"text": ["a"]}), np.ones((1, 3)), CLASSES)
