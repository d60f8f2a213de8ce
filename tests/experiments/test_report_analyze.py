"""`affectlab report` and `affectlab analyze` on a finished tiny grid."""
import json

import pandas as pd
import pytest
import yaml

from affectlab.cli import main
from affectlab.experiments.grid import load_grid
from affectlab.experiments.grid_runner import run_grid
from tests.experiments.toy import toy_config, write_toy_csv


@pytest.fixture(scope="module")
def finished_grid(tmp_path_factory, tiny_encoder_dir):
    tmp = tmp_path_factory.mktemp("grid")
    base = toy_config(write_toy_csv(tmp), tiny_encoder_dir, tmp / "cache", model={"hidden": 8})
    (tmp / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp / "grid.yaml").write_text(yaml.safe_dump({
        "name": "g", "base": "base.yaml", "axes": {"features.pooling": ["mean", "cls", "attn"],
                                                   "features.context": [0, 1]},
        "seeds": [1, 2, 3]}))
    result = run_grid(load_grid(tmp / "grid.yaml"), out_dir=tmp / "grids", track=False)
    assert len(result.done) == 18
    return result.grid_dir


def test_report_has_leaderboard_tests_and_cd_plot(finished_grid, capsys):
    assert main(["report", str(finished_grid)]) == 0
    report = finished_grid / "report"
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "pairwise_tests.csv",
                 "cd_diagram.png", "marginal_effects.png", "report.json"):
        assert (report / name).is_file(), name
    board = pd.read_csv(report / "leaderboard.csv")
    assert len(board) == 6 and (board["n_seeds"] == 3).all()
    assert "Wilcoxon" in (report / "leaderboard.md").read_text()


def test_analyze_grid_ensembles_on_dev_and_context_gain(finished_grid):
    assert main(["analyze", str(finished_grid), "--top-k", "3"]) == 0
    analysis = json.loads((finished_grid / "analysis" / "grid_analysis.json").read_text())
    assert len(analysis["members"]) == 3
    assert set(analysis["ensembles"]) == {"mean", "weighted"}
    assert "per_class" in analysis["context_gain"]
    best = finished_grid / "analysis" / "best_run"
    for name in ("analysis.json", "analysis.md", "failure_cases.md",
                 "separability_input_features.png", "separability_learned_representation.png"):
        assert (best / name).is_file(), name
