"""Grids on a tiny encoder: expansion, resumption after a kill, failures, backends agree."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from affectlab.errors import ConfigError
from affectlab.experiments.grid import load_grid
from affectlab.experiments.grid_runner import collect_results, run_grid
from tests.experiments.test_runner import toy_csv  # noqa: F401  (fixture)
from tests.experiments.toy import toy_config


def _grid_file(tmp_path, csv, encoder, axes=None, seeds=(1, 2), name="toygrid", extra_set=None):
    base = toy_config(csv, encoder, tmp_path / "cache", model={"hidden": 8, "dropout": 0.0},
                      training={"epochs": 4, "patience": 2})
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    grid = {"name": name, "base": "base.yaml",
            "axes": axes or {"features.pooling": ["mean", "cls"], "model.name": ["mlp", "lstm"]},
            "seeds": list(seeds), "set": extra_set or {}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def _metrics(results):
    return {r["run_id"]: r["test"]["weighted_f1"] for r in results if r.get("status") == "done"}


def test_expansion_validates_every_point(tmp_path, toy_csv, tiny_encoder_dir):
    path = _grid_file(tmp_path, toy_csv, tiny_encoder_dir, axes={"model.nmae": ["mlp"]})
    with pytest.raises(ConfigError, match="nmae"):
        load_grid(path)
    grid = load_grid(_grid_file(tmp_path, toy_csv, tiny_encoder_dir))
    configs = grid.expand()
    assert len(configs) == 8 and {c.seed for c in configs} == {1, 2}


def test_grid_runs_once_and_resumes(tmp_path, toy_csv, tiny_encoder_dir):
    grid = load_grid(_grid_file(tmp_path, toy_csv, tiny_encoder_dir))
    first = run_grid(grid, out_dir=tmp_path / "grids", track=False)
    assert len(first.done) == 8 and not first.failed
    again = run_grid(grid, out_dir=tmp_path / "grids", track=False)
    assert again.done == [] and len(again.skipped) == 8
    results = collect_results(first.grid_dir)
    assert len(results) == 8 and all(r["axes"] for r in results)
    assert len({r["config_key"] for r in results}) == 4


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path, toy_csv, tiny_encoder_dir):
    # misspelt names fail when the grid loads (experiments/validate.py); a setting the loss
    # rejects only when it is built (ce takes no gamma) fails those runs, and the rest go on
    grid = load_grid(_grid_file(tmp_path, toy_csv, tiny_encoder_dir, axes={"loss.gamma": [None, 2.0]}))
    result = run_grid(grid, out_dir=tmp_path / "grids", track=False, batched=False)
    assert len(result.done) == 2 and len(result.failed) == 2
    failed = [r for r in collect_results(result.grid_dir) if r.get("status") == "failed"]
    assert len(failed) == 2 and "gamma" in failed[0]["error"]


def test_killed_grid_restarts_to_exactly_one_result_per_run(tmp_path, toy_csv, tiny_encoder_dir):
    path = _grid_file(tmp_path, toy_csv, tiny_encoder_dir, seeds=(1, 2, 3), name="killme",
                      extra_set={"training.epochs": 30, "training.patience": 30})
    command = [sys.executable, "-m", "affectlab.cli", "grid", str(path), "--out", str(tmp_path / "grids"),
               "--no-tracking", "--no-batched", "--workers", "2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    runs = tmp_path / "grids" / "killme" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(runs.glob("*/results.json"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = len(list(runs.glob("*/results.json")))
    assert 0 < finished_before < 12, "the kill should land midway"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    results = list(runs.glob("*/results.json"))
    assert len(results) == 12 and len({p.parent.name for p in results}) == 12
    assert not list(runs.glob("*/failed.json"))
    assert not list(runs.rglob("*.tmp"))


def test_parallel_and_ray_backends_match_sequential(tmp_path, toy_csv, tiny_encoder_dir):
    pytest.importorskip("ray")
    path = _grid_file(tmp_path, toy_csv, tiny_encoder_dir, axes={"model.name": ["mlp", "lstm"]})
    grid = load_grid(path)
    local = run_grid(grid, out_dir=tmp_path / "a", track=False, batched=False)
    pool = run_grid(grid, out_dir=tmp_path / "b", track=False, batched=False, workers=2)
    ray = run_grid(grid, out_dir=tmp_path / "c", track=False, batched=False, workers=2, backend="ray")
    reference = _metrics(collect_results(local.grid_dir))
    assert len(reference) == 4
    assert _metrics(collect_results(pool.grid_dir)) == reference
    assert _metrics(collect_results(ray.grid_dir)) == reference


def test_mlflow_logs_each_run_once(tmp_path, toy_csv, tiny_encoder_dir):
    mlflow = pytest.importorskip("mlflow")
    grid = load_grid(_grid_file(tmp_path, toy_csv, tiny_encoder_dir, axes={"model.name": ["mlp"]}))
    result = run_grid(grid, out_dir=tmp_path / "grids")
    run_grid(grid, out_dir=tmp_path / "grids")  # resume: must not log twice
    client = mlflow.tracking.MlflowClient(f"sqlite:///{(result.grid_dir / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name(grid.name)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    assert "test_weighted_f1" in runs[0].data.metrics
    assert runs[0].data.params["model.name"] == "mlp"
    assert runs[0].info.artifact_uri.startswith((result.grid_dir / "mlartifacts").resolve().as_uri())


def test_collect_results_groups_affectlab_run_runs_with_grid_runs_of_the_same_config(tmp_path):
    import json

    from affectlab.experiments.config import config_from_dict, dump_config
    from affectlab.experiments.grid import config_key
    from affectlab.experiments.grid_runner import collect_results

    base = {"data": {"corpus": "meld"}, "labels": {"scheme": "meld7"}}
    grid_run, single_run = config_from_dict({**base, "seed": 42}), config_from_dict({**base, "seed": 43})
    for name, config, extra in (("a", grid_run, {"config_key": config_key(grid_run), "axes": {"seed": 42}}),
                                ("b", single_run, {})):  # `affectlab run` records no key
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "config.yaml").write_text(dump_config(config))
        (run / "results.json").write_text(json.dumps({"run_id": name, "status": "done", **extra}))
    keys = {r["run_id"]: r["config_key"] for r in collect_results(tmp_path)}
    assert keys["a"] == keys["b"]


def test_drop_leaves_out_a_section_key_and_a_list_entry_by_name_or_corpus(tmp_path):
    base = {"name": "x", "data": {"corpus": "tabular", "options": {"path": "a.csv"}}, "labels": {"scheme": "meld7"},
            "features": {"encoder": "default"}, "model": {"encoder": {"path": "default"}},
            "tasks": {"sarcasm": {}, "vad": {}},
            "sources": [{"name": "jokes", "data": {"corpus": "tabular", "options": {"path": "b.csv"}},
                         "labels": {"sarcasm": {"labels": {"scheme": "sarcasm2"}}}},
                        {"data": {"corpus": "emobank"}, "labels": {"vad": {"values": ["valence"]}}}]}
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(yaml.safe_dump({"name": "g", "base": base, "seeds": [1],
                                         "drop": ["tasks.vad", "sources.emobank"]}))
    (config,) = load_grid(grid_file).expand()
    assert list(config.tasks) == ["sarcasm"] and [s.source_name for s in config.sources] == ["jokes"]
    grid_file.write_text(yaml.safe_dump({"name": "g", "base": base, "seeds": [1], "drop": ["sources.xed"]}))
    with pytest.raises(ConfigError, match="no entry 'xed'"):
        load_grid(grid_file)


def test_an_axis_can_reach_into_a_list_entry_by_name(tmp_path):
    base = {"name": "x", "data": {"corpus": "tabular", "options": {"path": "a.csv"}}, "labels": {"scheme": "meld7"},
            "model": {"encoder": {"path": "default"}}, "tasks": {"sarcasm": {}},
            "sources": [{"data": {"corpus": "mustard", "options": {"fold": 0}},
                         "labels": {"sarcasm": {"labels": {"scheme": "sarcasm2"}}}}]}
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(yaml.safe_dump({"name": "g", "base": base, "seeds": [1],
                                         "axes": {"sources.mustard.data.options.fold": [0, 3]}}))
    grid = load_grid(grid_file)
    configs = grid.expand()
    assert [c.sources[0].data.options["fold"] for c in configs] == [0, 3]
    assert grid.axes_of(configs[1]) == {"sources.mustard.data.options.fold": 3}
    grid_file.write_text(yaml.safe_dump({"name": "g", "base": base, "seeds": [1],
                                         "axes": {"sources.meld.data.options.fold": [1]}}))
    with pytest.raises(ConfigError, match="no entry 'meld'"):
        load_grid(grid_file).expand()
