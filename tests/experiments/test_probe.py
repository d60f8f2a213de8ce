"""A linear probe reads a property a representation carries, and scores near chance on noise."""
import numpy as np
import pandas as pd

from affectlab.evaluation.probe import linear_probe
from affectlab.experiments.config import config_from_dict
from affectlab.experiments.probe import probe_pipeline
from affectlab.experiments.runner import run_experiment
from affectlab.pipeline import Pipeline
from tests.experiments.toy import toy_config, write_toy_csv


def test_the_probe_reads_what_is_there_and_not_what_is_not():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    carries = rng.normal(size=(600, 8)) + np.eye(3, 8)[y] * 3
    noise = rng.normal(size=(600, 8))
    readable = linear_probe(carries[:400], y[:400], carries[400:], y[400:])
    blind = linear_probe(noise[:400], y[:400], noise[400:], y[400:])
    assert readable["accuracy"] > 0.9 and abs(blind["balanced_accuracy"] - blind["chance_balanced"]) < 0.12


def test_probing_a_pipeline_for_a_column_of_its_data(tmp_path, tiny_encoder_dir):
    csv = write_toy_csv(tmp_path)
    table = pd.read_csv(csv)
    table["genre"] = ["a" if i % 2 else "b" for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = toy_config(csv, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 32},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "frozen"}},
                      training={"epochs": 1, "patience": 1, "batch_size": 8})
    config = config_from_dict(data)
    pipeline = Pipeline.load(run_experiment(config, out_dir=tmp_path / "runs").run_dir / "pipeline")
    result = probe_pipeline(pipeline, config, column="genre", per_group=20)
    assert result["column"] == "genre" and result["test_rows"] == 12 and 0 <= result["accuracy"] <= 1
