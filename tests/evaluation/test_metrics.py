"""Metric tests: expected values are computed by hand, not by calling sklearn again."""
from __future__ import annotations

import numpy as np
import pytest

from affectlab.errors import ConfigError, DataFormatError
from affectlab.evaluation.metrics import (
    METRICS,
    calibration,
    classification_metrics,
    multilabel_metrics,
    score,
    tune_threshold,
)

CLASSES = ("anger", "joy", "sadness")
# Rows = true: anger 4 (2 right, 1 -> joy, 1 -> sadness), joy 2 (1 right, 1 -> sadness), sadness 1 (right).
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 2, 2])


def test_argument_order_is_pinned():
    """f(y_true, y_pred) vs f(y_pred, y_true) differ here; we must return the y_true-first values.

    By hand (correct order):
      anger:   TP=2 FP=0 FN=2 -> P=1,   R=1/2, F1=2/3, support 4
      joy:     TP=1 FP=1 FN=1 -> P=1/2, R=1/2, F1=1/2, support 2
      sadness: TP=1 FP=2 FN=0 -> P=1/3, R=1,   F1=1/2, support 1
      weighted F1 = (4*2/3 + 2*1/2 + 1*1/2) / 7 = 25/42
    Swapped, the weights become predicted counts (2, 2, 3) -> 23/42, and P/R exchange.
    """
    m = classification_metrics(Y_TRUE, Y_PRED, CLASSES)
    assert m["weighted_f1"] == pytest.approx(25 / 42)
    assert m["weighted_f1"] != pytest.approx(23 / 42)
    anger = m["per_class"]["anger"]
    assert anger["precision"] == pytest.approx(1.0)
    assert anger["recall"] == pytest.approx(0.5)
    assert anger["support"] == 4
    sad = m["per_class"]["sadness"]
    assert sad["precision"] == pytest.approx(1 / 3)
    assert sad["recall"] == pytest.approx(1.0)
    assert sad["support"] == 1
    assert m["confusion"] == [[2, 1, 1], [0, 1, 1], [0, 0, 1]]  # rows = true


def test_summary_metrics_by_hand():
    m = classification_metrics(Y_TRUE, Y_PRED, CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 1 / 2) / 3)
    assert m["uar"] == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    assert m["n"] == 7


def test_uar_differs_from_accuracy_on_imbalance():
    y_true = np.array([0] * 9 + [1])
    y_pred = np.zeros(10, dtype=int)  # majority-class predictor
    m = classification_metrics(y_true, y_pred, ("neutral", "anger"))
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["uar"] == pytest.approx(0.5)  # (1 + 0) / 2


def test_absent_class_is_kept_in_macro_average():
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 1]), CLASSES)
    assert m["per_class"]["sadness"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == pytest.approx(2 / 3)
    assert len(m["confusion"]) == 3


ML_TRUE = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
ML_PROBS = np.array([[0.9, 0.2], [0.4, 0.8], [0.6, 0.3], [0.1, 0.2]])
# predictions at 0.5: [[1,0],[0,1],[1,0],[0,0]]


def test_multilabel_metrics_by_hand():
    m = multilabel_metrics(ML_TRUE, ML_PROBS, ("a", "b"))
    # a: TP=1 FP=1 FN=1 -> F1=1/2 ; b: TP=1 FP=0 FN=1 -> P=1 R=1/2 F1=2/3
    assert m["per_label"]["a"]["f1"] == pytest.approx(0.5)
    assert m["per_label"]["b"] == pytest.approx({"f1": 2 / 3, "precision": 1.0, "recall": 0.5, "support": 2})
    # micro: TP=2 FP=1 FN=2 -> P=2/3 R=1/2 -> F1=4/7
    assert m["micro_f1"] == pytest.approx(4 / 7)
    assert m["macro_f1"] == pytest.approx(7 / 12)
    assert m["weighted_f1"] == pytest.approx(7 / 12)  # equal supports
    # per-example F1: 1, 2/3, 0, and an empty/empty row scored 0 (zero_division=0)
    assert m["samples_f1"] == pytest.approx((1 + 2 / 3) / 4)
    assert m["threshold"] == 0.5


def test_multilabel_per_label_threshold():
    m = multilabel_metrics(ML_TRUE, ML_PROBS, ("a", "b"), threshold=np.array([0.5, 0.25]))
    assert m["per_label"]["b"]["f1"] == pytest.approx(1.0)  # 0.3 now counts as positive
    assert m["threshold"] == [0.5, 0.25]
    with pytest.raises(DataFormatError):
        multilabel_metrics(ML_TRUE, ML_PROBS, ("a", "b"), threshold=np.array([0.5, 0.5, 0.5]))


def _separable(rng, n, pos_range, neg_range):
    y = (rng.random(n) < 0.4).astype(int)
    p = np.where(y == 1, rng.uniform(*pos_range, n), rng.uniform(*neg_range, n))
    return y, p


def test_tune_threshold_global_finds_low_threshold_for_underconfident_model():
    rng = np.random.default_rng(0)
    cols = [_separable(rng, 200, (0.22, 0.30), (0.0, 0.12)) for _ in range(3)]
    y = np.stack([c[0] for c in cols], axis=1)
    p = np.stack([c[1] for c in cols], axis=1)
    t = tune_threshold(y, p)
    assert isinstance(t, float)
    assert 0.12 < t <= 0.22
    assert multilabel_metrics(y, p, "xyz", threshold=t)["micro_f1"] == pytest.approx(1.0)
    assert multilabel_metrics(y, p, "xyz")["micro_f1"] == 0.0  # the default 0.5 finds nothing


def test_tune_threshold_per_label():
    rng = np.random.default_rng(1)
    y0, p0 = _separable(rng, 300, (0.22, 0.30), (0.0, 0.12))
    y1, p1 = _separable(rng, 300, (0.87, 0.95), (0.50, 0.68))
    t = tune_threshold(np.stack([y0, y1], 1), np.stack([p0, p1], 1), per_label=True)
    assert t.shape == (2,)
    assert 0.12 < t[0] <= 0.22
    assert 0.68 < t[1] <= 0.87


def test_calibration_perfect_and_overconfident():
    # 10 rows at confidence 0.8 with 8 correct, 10 at 0.6 with 6 correct: perfectly calibrated
    probs = np.array([[0.8, 0.2]] * 10 + [[0.4, 0.6]] * 10)
    y = np.array([0] * 8 + [1] * 2 + [1] * 6 + [0] * 4)
    cal = calibration(y, probs)
    assert cal["ece"] == pytest.approx(0.0, abs=1e-9)
    assert sum(b["count"] for b in cal["bins"]) == 20
    assert len(cal["bins"]) == 15
    # always certain, always wrong
    bad = calibration(np.ones(5, dtype=int), np.tile([1.0, 0.0], (5, 1)))
    assert bad["ece"] == pytest.approx(1.0)


def test_score_from_probabilities():
    probs = np.eye(3)[Y_PRED] * 0.6 + 0.1  # argmax == Y_PRED
    assert score("weighted_f1", Y_TRUE, probs, multi_label=False) == pytest.approx(25 / 42)
    assert score("uar", Y_TRUE, probs, multi_label=False) == pytest.approx(2 / 3)
    assert score("accuracy", Y_TRUE, probs, multi_label=False) == pytest.approx(4 / 7)
    assert score("micro_f1", ML_TRUE, ML_PROBS, multi_label=True) == pytest.approx(4 / 7)
    assert score("macro_f1", ML_TRUE, ML_PROBS, multi_label=True) == pytest.approx(7 / 12)


def test_metrics_registry():
    for name in ("accuracy", "macro_f1", "weighted_f1", "uar", "micro_f1"):
        assert name in METRICS
    with pytest.raises(ConfigError, match="macro_f1"):
        score("no_such_metric", Y_TRUE, np.eye(3)[Y_PRED], multi_label=False)
