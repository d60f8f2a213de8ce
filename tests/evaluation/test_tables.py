"""The one metric registry (names + metadata) and the one table formatter every report uses."""
import math

import numpy as np
import pytest

from affectlab.errors import ConfigError
from affectlab.evaluation import write_run_report
from affectlab.evaluation.metrics import (METRIC_INFO, METRICS, classification_metrics, format_metric, metric_info,
                                          metric_names, multilabel_metrics)
from affectlab.evaluation.tables import format_mean_sd, format_number, markdown_table, plain_table


def test_metric_info_covers_exactly_the_registered_metrics():
    assert set(METRIC_INFO) == set(METRICS.names())
    assert all(info.name == name for name, info in METRIC_INFO.items())
    assert metric_names() == list(METRIC_INFO)


def test_applicability_matches_what_results_record():
    single = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
    multi = multilabel_metrics(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.2], [0.1, 0.7]]), ["a", "b"])
    assert [m for m in METRIC_INFO if m in single] == metric_names(multi_label=False)
    assert [m for m in METRIC_INFO if m in multi] == metric_names(multi_label=True)
    assert metric_names(multi_label=False) == ["accuracy", "macro_f1", "weighted_f1", "uar"]
    assert metric_names(multi_label=True) == ["micro_f1", "macro_f1", "weighted_f1", "samples_f1"]


def test_metric_metadata_and_unknown_names():
    assert metric_info("uar").abbrev == "UA" and metric_info("accuracy").abbrev == "WA"
    assert all(info.higher_is_better for info in METRIC_INFO.values())
    assert format_metric("weighted_f1", 0.123456) == "0.1235"
    assert format_metric("macro_f1", None) == "n/a" and format_metric("macro_f1", math.nan) == "n/a"
    with pytest.raises(ConfigError, match="known: accuracy"):
        metric_info("weighted-f1")


def test_run_report_summary_keeps_its_layout(tmp_path):
    """cls_report.txt ends exactly as before the registry: ``name`` padded to 12, then the value."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    probs = rng.dirichlet(np.ones(3), 40)
    m = write_run_report(tmp_path, scheme_classes=["a", "b", "c"], multi_label=False, y_true=y, probs=probs,
                         plots=False)
    expected = [f"{k:<12} {m[k]:.4f}" for k in ("accuracy", "macro_f1", "weighted_f1", "uar")]
    expected.append(f"{'ece':<12} {m['calibration']['ece']:.4f}")
    assert (tmp_path / "cls_report.txt").read_text().splitlines()[-5:] == expected


def test_markdown_table_escapes_cells_and_aligns():
    text = markdown_table(["a", "b|c"], [["x\ny", 1], ["**z**", "2"]], align="<>")
    assert text.splitlines() == ["| a | b\\|c |", "|---|---:|", "| x y | 1 |", "| **z** | 2 |"]


def test_plain_table_pads_columns_without_trailing_spaces():
    text = plain_table([["metric", "0.5000", "-"], ["uar", "0.2500", "0.3000"]], headers=["", "dev", "test"],
                       align="<>>", sep="  ", min_widths=(0, 6, 6))
    assert text.splitlines() == ["           dev    test", "metric  0.5000       -", "uar     0.2500  0.3000"]
    assert plain_table([["ece", "0.1"]], min_widths=(12,)) == "ece          0.1"


def test_number_formatting():
    assert format_number(0.5) == "0.5000" and format_number(2, 1) == "2.0"
    assert format_number(float("inf")) == "n/a" and format_number("x") == "n/a"
    assert format_mean_sd(0.5, float("nan")) == "0.5000 ± n/a"
