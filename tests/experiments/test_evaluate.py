"""``affectlab evaluate``: a pipeline scored on a config's corpus reproduces its own run's test
figures, reads dialogue context as training did, and says what to map when classes differ."""
import pytest

from affectlab.errors import ConfigError
from affectlab.experiments.config import config_from_dict
from affectlab.experiments.evaluate import evaluate_pipeline
from affectlab.experiments.runner import run_experiment
from affectlab.pipeline import Pipeline
from tests.experiments.toy import toy_config, write_toy_csv


@pytest.mark.parametrize("extra", [
    {},  # frozen features, an MLP head
    {"features": {"max_length": 48, "context": 2},  # a fine-tuned encoder reading 2 previous turns
     "model": {"encoder": {"finetune": "full"}, "dropout": 0.1},
     "training": {"epochs": 2, "patience": 2, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4}},
])
def test_scoring_a_run_pipeline_on_its_own_test_split_gives_the_run_figures(tmp_path, tiny_encoder_dir, extra):
    sections = {k: dict(v) for k, v in extra.items()}
    if "model" in sections:
        sections["model"]["encoder"] = {**sections["model"]["encoder"], "path": str(tiny_encoder_dir)}
    config = config_from_dict(toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache", **sections))
    result = run_experiment(config, out_dir=tmp_path / "runs")
    report = evaluate_pipeline(Pipeline.load(result.run_dir / "pipeline"), config, out_dir=tmp_path / "eval")
    assert report["weighted_f1"] == pytest.approx(result.results["test"]["weighted_f1"], abs=1e-9)
    assert report["rows"] == result.results["split_sizes"]["test"]
    assert sum(s["true"] for s in report["class_shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert (tmp_path / "eval" / "cls_report.txt").is_file()


def test_classes_the_pipeline_does_not_predict_say_to_map_them(tmp_path, tiny_encoder_dir):
    config = config_from_dict(toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache"))
    pipeline = Pipeline.load(run_experiment(config, out_dir=tmp_path / "runs").run_dir / "pipeline")
    other = toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache")
    other["labels"] = {"scheme": "sentiment3", "mapping": "meld7->sentiment3"}
    with pytest.raises(ConfigError, match="labels.mapping"):
        evaluate_pipeline(pipeline, config_from_dict(other))
