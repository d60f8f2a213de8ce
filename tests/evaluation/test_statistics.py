"""Seed statistics: every expected value below is computed by hand or taken from a published table."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from affectlab.errors import ConfigError
from affectlab.evaluation.metrics import metric_names
from affectlab.evaluation.statistics import (
    adjust_pvalues,
    friedman_nemenyi,
    leaderboard,
    marginal_effects,
    nemenyi_cd,
    paired_test,
    pairwise_tests,
    rank_groups,
    runs_frame,
    summarise,
)

METRICS = ("accuracy", "macro_f1", "weighted_f1", "uar")


def run(key: str, seed: int, value: float, axes: dict | None = None, **extra) -> dict:
    return {"run_id": f"{key}-s{seed}", "seed": seed, "config_key": key, "status": "done",
            "axes": axes if axes is not None else {"model.name": key},
            "test": {m: value for m in METRICS}, "dev": {m: value - 0.01 for m in METRICS}, **extra}


def grid(means: dict[str, float], seeds: int = 10, noise: float = 0.002) -> list[dict]:
    """Each config = its mean + a per-seed offset shared across configs + tiny config-specific noise."""
    rng = np.random.default_rng(7)
    shared = rng.normal(0, 0.01, seeds)
    return [run(k, s, m + shared[s] + rng.normal(0, noise)) for k, m in means.items() for s in range(seeds)]


# ----------------------------------------------------------------------------- summarise


def test_summarise_matches_hand_computation():
    s = summarise([0.5, 0.6, 0.7, 0.8])
    sd = math.sqrt(0.05 / 3)  # squared deviations 0.0225+0.0025+0.0025+0.0225, ddof=1
    half = 3.182446305 * sd / 2  # t_{0.975, df=3} from the t table, / sqrt(4)
    assert s["n"] == 4
    assert s["mean"] == pytest.approx(0.65)
    assert s["sd"] == pytest.approx(sd)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((0.65 - half, 0.65 + half), abs=1e-9)
    assert (s["min"], s["max"]) == (0.5, 0.8)


def test_summarise_drops_nan_and_single_value_has_no_spread():
    s = summarise([0.4, float("nan")])
    assert s["n"] == 1 and s["mean"] == 0.4
    assert math.isnan(s["sd"]) and math.isnan(s["ci_low"])
    assert summarise([])["n"] == 0


# ----------------------------------------------------------------------------- runs_frame


def test_runs_frame_rows_labels_and_columns():
    axes = {"features.layers": "last", "features.pooling": "mean", "model.name": "mlp"}
    results = [run("k1", 1, 0.5, axes), run("k1", 2, 0.6, axes),
               {"run_id": "bad", "seed": 3, "config_key": "k1", "status": "failed", "error": "OOM"},
               run("k2", 1, 0.7, {**axes, "model.name": "lr"})]
    results[-1]["test"]["micro_f1"] = 0.7
    frame = runs_frame(results)
    assert len(frame) == 3  # the failed run is not a row
    assert set(frame["config"]) == {"layers=last pooling=mean model=mlp", "layers=last pooling=mean model=lr"}
    assert {"features.layers", "features.pooling", "model.name", "seed", "config_key"} <= set(frame.columns)
    # metric columns follow the one metric registry's order
    assert list(frame.columns[-5:]) == [m for m in metric_names() if m in {*METRICS, "micro_f1"}]
    assert frame.loc[frame["config_key"] == "k1", "micro_f1"].isna().all()
    dev = runs_frame(results, split="dev")
    assert dev.loc[dev["run_id"] == "k1-s1", "accuracy"].item() == pytest.approx(0.49)


def test_runs_frame_rerun_replaces_earlier_run():
    frame = runs_frame([run("a", 1, 0.1), run("a", 1, 0.9)])
    assert len(frame) == 1 and frame["accuracy"].item() == 0.9


def test_runs_frame_disambiguates_configs_with_same_axis_label():
    frame = runs_frame([run("k1", 1, 0.5, {"model.name": "mlp"}), run("k2", 1, 0.6, {"model.name": "mlp"})])
    assert frame["config"].nunique() == 2
    assert all(label.startswith("model=mlp [") for label in frame["config"])


# ----------------------------------------------------------------------------- leaderboard


def test_leaderboard_sorted_with_rank_and_seed_stats():
    results = [run("a", s, v) for s, v in enumerate([0.5, 0.6, 0.7, 0.8])] + \
              [run("b", s, v) for s, v in enumerate([0.9, 0.9, 0.9])]
    board = leaderboard(runs_frame(results), metric="weighted_f1")
    assert list(board["config_key"]) == ["b", "a"]
    assert list(board["rank"]) == [1, 2]
    a = board.iloc[1]
    assert a["n_seeds"] == 4
    assert a["weighted_f1_mean"] == pytest.approx(0.65)
    assert a["weighted_f1_sd"] == pytest.approx(math.sqrt(0.05 / 3))
    assert a["weighted_f1_ci_high"] - a["weighted_f1_mean"] == pytest.approx(3.182446305 * math.sqrt(0.05 / 3) / 2)
    for m in METRICS:
        assert {f"{m}_mean", f"{m}_sd", f"{m}_ci_low", f"{m}_ci_high"} <= set(board.columns)


def test_leaderboard_unknown_metric_is_an_error():
    with pytest.raises(ConfigError, match="micro_f1"):
        leaderboard(runs_frame([run("a", 1, 0.5)]), metric="micro_f1")


# ----------------------------------------------------------------------------- paired tests


def test_paired_wilcoxon_detects_consistent_difference():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.5, 0.6, 10)
    a = b + 0.01 + rng.uniform(0, 0.005, 10)
    res = paired_test(a, b, method="wilcoxon")
    assert res["n"] == 10
    assert res["p_value"] == pytest.approx(2 / 2 ** 10)  # exact: all 10 differences positive
    assert res["p_value"] < 0.05
    assert res["mean_diff"] > 0.01
    assert "Wilcoxon signed-rank" in res["test"] and "exact" in res["test"]
    assert paired_test(a, b, method="ttest")["p_value"] < 0.05


def test_paired_test_null_difference_is_not_significant():
    b = np.linspace(0.5, 0.6, 10)
    a = b + np.array([0.01, -0.01, 0.02, -0.02, 0.03, -0.03, 0.04, -0.04, 0.05, -0.05])
    for method in ("wilcoxon", "ttest"):
        res = paired_test(a, b, method=method)
        assert res["p_value"] > 0.5, method
        assert res["mean_diff"] == pytest.approx(0.0, abs=1e-12)


def test_paired_test_all_equal_differences_give_p_one_without_warnings():
    x = [0.5, 0.6, 0.7]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("wilcoxon", "ttest"):
            res = paired_test(x, x, method=method)
            assert res["p_value"] == 1.0 and res["n"] == 3


def test_paired_test_pairs_series_by_seed_not_position():
    a = pd.Series({1: 0.6, 2: 0.7, 3: 0.8, 4: 0.9})
    b = pd.Series({4: 0.85, 3: 0.75, 2: 0.65, 9: 0.1})  # other order, seed 1 missing, extra seed 9
    res = paired_test(a, b)
    assert res["n"] == 3
    assert res["mean_diff"] == pytest.approx(0.05)


def test_paired_test_rejects_unknown_method():
    with pytest.raises(ConfigError):
        paired_test([1, 2], [1, 2], method="sign")


def test_holm_adjustment_by_hand():
    # sorted p: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone: 0.03, 0.06, 0.06
    adj = adjust_pvalues([0.01, 0.04, 0.03, float("nan")], "holm")
    assert adj[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adj[3])
    assert adjust_pvalues([0.3, 0.6], "holm") == pytest.approx([0.6, 0.6])
    assert adjust_pvalues([0.3, 0.6], "bonferroni") == pytest.approx([0.6, 1.0])


def test_pairwise_tests_all_pairs_shared_seeds_and_holm():
    results = [r for r in grid({"a": 0.70, "b": 0.60, "c": 0.50}) if not (r["config_key"] == "c" and r["seed"] == 0)]
    pairs = pairwise_tests(runs_frame(results), "weighted_f1")
    assert len(pairs) == 3
    assert list(zip(pairs["key_a"], pairs["key_b"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert list(pairs["n"]) == [10, 9, 9]  # c lacks seed 0
    assert (pairs["p_adjusted"] >= pairs["p_value"]).all()
    assert pairs["significant"].all() and (pairs["mean_diff"] > 0).all()
    expected = adjust_pvalues(pairs["p_value"].to_numpy(), "holm")
    assert pairs["p_adjusted"].to_numpy() == pytest.approx(expected)


# ----------------------------------------------------------------------------- Friedman / Nemenyi


def test_nemenyi_cd_matches_demsar_table():
    cd, q = nemenyi_cd(3, 10)
    assert q == pytest.approx(2.343, abs=1e-3)
    assert cd == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 10)), abs=1e-3)
    assert cd == pytest.approx(1.048, abs=1e-3)
    assert nemenyi_cd(5, 10)[1] == pytest.approx(2.728, abs=1e-3)  # Demšar Table 5a, k=5


def test_friedman_ranks_constructed_case():
    out = friedman_nemenyi(runs_frame(grid({"a": 0.70, "b": 0.60, "c": 0.50})), "weighted_f1")
    assert out["k"] == 3 and out["n_blocks"] == 10
    assert out["ranks"] == {"model=a": 1.0, "model=b": 2.0, "model=c": 3.0}
    # chi2 = 12N/(k(k+1)) * sum(R_j^2) - 3N(k+1) = 10*(1+4+9) - 120 = 20; df=2 -> p = exp(-10)
    assert out["statistic"] == pytest.approx(20.0)
    assert out["p_value"] == pytest.approx(math.exp(-10))
    assert out["cd"] == pytest.approx(1.048, abs=1e-3)
    assert out["groups"] == [["model=a", "model=b"], ["model=b", "model=c"]]  # adjacent ranks differ by 1 < CD


def test_friedman_uses_only_complete_blocks_and_skips_small_cases():
    results = [r for r in grid({"a": 0.7, "b": 0.6, "c": 0.5}, seeds=4) if not (r["config_key"] == "b" and r["seed"] == 3)]
    assert friedman_nemenyi(runs_frame(results), "weighted_f1")["n_blocks"] == 3
    two = friedman_nemenyi(runs_frame(grid({"a": 0.7, "b": 0.6})), "weighted_f1")
    assert "note" in two and "3 configs" in two["note"] and "cd" not in two
    one_seed = friedman_nemenyi(runs_frame(grid({"a": 0.7, "b": 0.6, "c": 0.5}, seeds=1)), "weighted_f1")
    assert "note" in one_seed and one_seed["n_blocks"] == 1


def test_friedman_all_ties_is_p_one():
    results = [run(k, s, 0.5) for k in "abc" for s in range(3)]
    out = friedman_nemenyi(runs_frame(results), "weighted_f1")
    assert out["p_value"] == 1.0 and set(out["ranks"].values()) == {2.0}


def test_rank_groups_keeps_only_maximal_spans():
    assert rank_groups({"a": 1.0, "b": 1.5, "c": 1.9, "d": 4.0}, cd=1.0) == [["a", "b", "c"]]
    assert rank_groups({"a": 1.0, "b": 3.0}, cd=1.0) == []


# ----------------------------------------------------------------------------- marginal effects


def test_marginal_effects_average_seeds_within_config_first():
    def cfg(a: str, b: str, values: list[float]) -> list[dict]:
        return [run(f"{a}{b}", s, v, {"x.a": a, "x.b": b}) for s, v in enumerate(values)]

    results = cfg("x", "p", [0.5, 0.7]) + cfg("x", "q", [0.8]) + cfg("y", "p", [0.4, 0.4, 0.4]) + cfg("y", "q", [0.2, 0.4])
    eff = marginal_effects(runs_frame(results), "accuracy")
    assert set(eff) == {"x.a", "x.b"}
    a = eff["x.a"].set_index("value")
    # config means: xp 0.6, xq 0.8, yp 0.4, yq 0.3 (pooling seeds would give x = 0.6667 instead)
    assert a.loc["x", "mean"] == pytest.approx(0.7)
    assert a.loc["y", "mean"] == pytest.approx(0.35)
    assert a.loc["x", "n"] == 2
    assert a.loc["x", "sd"] == pytest.approx(0.2 / math.sqrt(2))
    half = 12.706204736 * (0.2 / math.sqrt(2)) / math.sqrt(2)  # t_{0.975, df=1}
    assert a.loc["x", "ci_high"] == pytest.approx(0.7 + half)
    b = eff["x.b"].set_index("value")
    assert b.loc["p", "mean"] == pytest.approx(0.5)
    assert b.loc["q", "mean"] == pytest.approx(0.55)
