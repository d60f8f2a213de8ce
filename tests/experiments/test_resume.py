"""A fine-tuning run killed with SIGKILL resumes from its last epoch checkpoint and ends with the
metrics of a run that was never interrupted (CPU, tiny encoder)."""
import json
import os
import signal
import subprocess
import sys
import time

import yaml

from tests.experiments.toy import toy_config, write_toy_csv

CLI = [sys.executable, "-c", "import sys; from affectlab.cli import main; sys.exit(main())", "run"]


def _config(tmp_path, encoder):
    data = toy_config(write_toy_csv(tmp_path), encoder, tmp_path / "cache", features={"context": 2, "max_length": 48},
                      model={"encoder": {"path": str(encoder), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 5, "patience": 5, "batch_size": 4, "lr": 1e-3, "encoder_lr": 1e-4,
                                "scheduler": "linear", "scheduler_interval": "step", "warmup_ratio": 0.1,
                                "bucket_by_length": True})
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _results(out):
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return json.loads((run / "results.json").read_text()), run


def test_killed_finetuning_run_resumes_to_the_uninterrupted_result(tmp_path, tiny_encoder_dir):
    config = _config(tmp_path, tiny_encoder_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run(CLI + [str(config), "--out", str(tmp_path / "whole")], env=env,
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-1500:]

    killed_out = tmp_path / "killed"
    process = subprocess.Popen(CLI + [str(config), "--out", str(killed_out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    checkpoint = None
    while time.time() < deadline and checkpoint is None:
        found = list(killed_out.glob("*/checkpoint/last.pt"))
        checkpoint = found[0] if found else None
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint is not None, "no checkpoint appeared"
    assert not list(killed_out.glob("*/results.json")), "the run finished before it could be killed"

    resumed = subprocess.run(CLI + [str(config), "--out", str(killed_out)], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-1500:]
    expected, _ = _results(tmp_path / "whole")
    got, run = _results(killed_out)
    assert got["resumed_from_epoch"] >= 2
    assert got["best_epoch"] == expected["best_epoch"]
    for split in ("dev", "test"):
        for metric in ("weighted_f1", "accuracy", "macro_f1"):
            assert abs(got[split][metric] - expected[split][metric]) < 1e-9, (split, metric)
    assert not (run / "checkpoint" / "last.pt").exists()  # a finished run keeps no checkpoint
