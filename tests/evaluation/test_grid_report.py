"""The grid report writes every artefact, puts the best config first and counts failures."""
from __future__ import annotations

import json
import re
import struct

import numpy as np
import pandas as pd
import pytest

from affectlab.errors import ConfigError
from affectlab.evaluation import write_grid_report
from affectlab.evaluation.grid_report import FILES

METRICS = ("accuracy", "macro_f1", "weighted_f1", "uar")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_results(means: dict[tuple[str, str], float], seeds: int = 10, failed: int = 2) -> list[dict]:
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 0.01, seeds)
    out = []
    for (layers, model), mean in means.items():
        for s in range(seeds):
            v = float(mean + shared[s] + rng.normal(0, 0.002))
            out.append({"run_id": f"{layers}-{model}-s{s}", "seed": s, "config_key": f"{layers}{model}",
                        "axes": {"features.layers": layers, "model.name": model}, "status": "done",
                        "test": {m: v for m in METRICS}, "dev": {m: v for m in METRICS}})
    for i in range(failed):
        out.append({"run_id": f"broken-{i}", "seed": i, "status": "failed",
                    "error": f"Traceback (most recent call last):\nRuntimeError: CUDA out of memory #{i}"})
    return out


MEANS = {("last", "mlp"): 0.70, ("last", "lr"): 0.65, ("mean4", "mlp"): 0.60, ("mean4", "lr"): 0.55}


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    return out, write_grid_report(out, make_results(MEANS))


def test_every_file_written_with_valid_pngs(report):
    out, _ = report
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for name in ("cd_diagram.png", "marginal_effects.png"):
        w, h = png_size(out / name)
        assert w > 300 and h > 100
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_markdown_states_method_first_and_best_config_leads(report):
    out, _ = report
    md = (out / "leaderboard.md").read_text()
    body = [line for line in md.splitlines() if line.strip()]
    assert "Paired Wilcoxon signed-rank test over seeds, Holm-corrected" in body[1]
    rows = [line for line in md.split("## Leaderboard")[1].split("##")[0].splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| 1 | layers=last model=mlp |")
    assert rows[-1].startswith("| 4 | layers=mean4 model=lr |")
    assert re.search(r"\| 0\.\d{4} ± 0\.\d{4} \| \[0\.\d{4}, 0\.\d{4}\] \|", rows[1])  # mean ± sd then 95% CI
    assert "95% CI" in rows[0]


def test_failed_runs_are_counted_and_listed(report):
    out, summary = report
    assert summary["n_failed"] == 2 and summary["n_done"] == 40 and summary["n_runs"] == 42
    md = (out / "leaderboard.md").read_text()
    assert "2 failed" in md and "## Failed runs (2)" in md
    assert "broken-1: RuntimeError: CUDA out of memory #1" in md


def test_summary_json_is_strict_and_matches_return(report):
    out, summary = report

    def no_nan(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    on_disk = json.loads((out / "report.json").read_text(), parse_constant=no_nan)
    assert on_disk == summary
    assert summary["best"]["config"] == "layers=last model=mlp"
    assert summary["friedman_nemenyi"]["ranks"]["layers=last model=mlp"] == 1.0
    assert summary["friedman_nemenyi"]["k"] == 4 and summary["friedman_nemenyi"]["n_blocks"] == 10
    assert len(summary["best_vs_others"]) == 3
    assert all(row["p_adjusted"] < 0.05 for row in summary["best_vs_others"])
    assert set(summary["marginal_effects"]) == {"features.layers", "model.name"}


def test_csvs_round_trip(report):
    out, _ = report
    board = pd.read_csv(out / "leaderboard.csv")
    assert list(board["config"]) == ["layers=last model=mlp", "layers=last model=lr",
                                     "layers=mean4 model=mlp", "layers=mean4 model=lr"]
    assert board.loc[0, "weighted_f1_mean"] == pytest.approx(0.70, abs=0.01)
    pairs = pd.read_csv(out / "pairwise_tests.csv")
    assert len(pairs) == 6 and (pairs["p_adjusted"] >= pairs["p_value"]).all()


def test_html_is_standalone_and_embeds_figures(report):
    out, _ = report
    page = (out / "leaderboard.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "</html>" in page
    assert '<img src="cd_diagram.png"' in page and '<img src="marginal_effects.png"' in page
    assert page.count("<table>") >= 4  # leaderboard, best vs others, ranks, marginal effects
    assert "Holm-corrected" in page and "Friedman" in page
    assert page.index("layers=last model=mlp") < page.index("layers=mean4 model=lr")


def test_ttest_method_and_two_configs_skip_friedman(tmp_path):
    results = make_results({("last", "mlp"): 0.7, ("last", "lr"): 0.6}, seeds=5, failed=0)
    summary = write_grid_report(tmp_path, results, metric="macro_f1", method="ttest")
    md = (tmp_path / "leaderboard.md").read_text()
    assert "Paired t-test over seeds, Holm-corrected" in md
    assert "Skipped:" in md and "note" in summary["friedman_nemenyi"]
    assert png_size(tmp_path / "cd_diagram.png")[0] > 0  # placeholder figure, still a PNG
    assert summary["n_failed"] == 0 and "Failed runs" not in md


def test_wilcoxon_with_five_seeds_warns_it_cannot_reach_alpha(tmp_path):
    write_grid_report(tmp_path, make_results({("last", "mlp"): 0.7, ("last", "lr"): 0.6, ("x", "y"): 0.5},
                                             seeds=5, failed=0))
    assert "smallest attainable two-sided Wilcoxon p is 0.0625" in (tmp_path / "leaderboard.md").read_text()


def test_all_failed_still_writes_every_file(tmp_path):
    summary = write_grid_report(tmp_path, make_results({}, failed=3))
    assert summary["n_failed"] == 3 and summary["best"] is None
    for name in FILES:
        assert (tmp_path / name).is_file(), name
    assert "Failed runs (3)" in (tmp_path / "leaderboard.md").read_text()


def test_bad_method_rejected(tmp_path):
    with pytest.raises(ConfigError, match="wilcoxon"):
        write_grid_report(tmp_path, make_results(MEANS), method="sign")


def test_unknown_metric_is_a_config_error_naming_the_choices(tmp_path):
    """``affectlab report --metric typo``: one AffectLabError line, not an internal error."""
    with pytest.raises(ConfigError, match="weighted_f1"):
        write_grid_report(tmp_path, make_results(MEANS), metric="weighted-f1")
