"""End to end on a tiny encoder: config → run directory → pipeline → predictions."""
import json

import numpy as np
import pytest

from affectlab.errors import ConfigError
from affectlab.experiments import config_from_dict, load_config, run_experiment
from affectlab.pipeline import Pipeline
from tests.conftest import CORPUS
from tests.experiments.toy import toy_config, write_toy_csv

@pytest.fixture()
def toy_csv(tmp_path):
    return write_toy_csv(tmp_path)


def _config(csv, encoder, tmp_path, **over):
    sections: dict = {}
    for key, value in over.items():
        section, field = key.split("__")
        sections.setdefault(section, {})[field] = value
    return config_from_dict({**toy_config(csv, encoder, tmp_path / "cache", **sections), "seed": 3})


def test_run_writes_reports_and_a_loadable_pipeline(toy_csv, tiny_encoder_dir, tmp_path):
    result = run_experiment(_config(toy_csv, tiny_encoder_dir, tmp_path), out_dir=tmp_path / "runs")
    run = result.run_dir
    for name in ("results.json", "cls_report.txt", "confusion_matrix.png", "training_curves.png",
                 "config.yaml", "pipeline/pipeline.json", "pipeline/weights.safetensors"):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["seed"] == 3 and results["data"]["fingerprint"]
    assert "torch" in results["versions"]
    assert 0 <= results["test"]["weighted_f1"] <= 1
    pipe = Pipeline.load(run / "pipeline")
    probs = pipe.predict_proba(CORPUS[-4:])
    np.testing.assert_allclose(probs, np.load(run / "test_probs.npy")[-4:], atol=1e-5)
    pred = pipe.predict("Wow, I did not expect that!")[0]
    assert pred.label in pipe.scheme.classes
    assert abs(sum(pred.probabilities.values()) - 1) < 1e-4


def test_rerun_on_cpu_reproduces_metrics_exactly(toy_csv, tiny_encoder_dir, tmp_path):
    config = _config(toy_csv, tiny_encoder_dir, tmp_path)
    first = run_experiment(config, out_dir=tmp_path / "a")
    second = run_experiment(config, out_dir=tmp_path / "b")
    assert first.results["test"] == second.results["test"]
    skipped = run_experiment(config, out_dir=tmp_path / "a")
    assert skipped.skipped


@pytest.mark.parametrize("aggregator", ["attn", "lstm"])
def test_hierarchical_and_learned_layer_mix_run(toy_csv, tiny_encoder_dir, tmp_path, aggregator):
    config = _config(toy_csv, tiny_encoder_dir, tmp_path, features__mode="hierarchical",
                     features__layers="stack_last4", model__aggregator=aggregator)
    result = run_experiment(config, out_dir=tmp_path / "runs")
    pipe = Pipeline.load(result.run_dir / "pipeline")
    assert pipe.predict(["Leave me alone. I mean it."])[0].label in pipe.scheme.classes


def test_bad_config_key_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: {corpus: meld}\nlabels: {scheme: meld7}\nmodel: {nmae: mlp}\n")
    with pytest.raises(ConfigError, match=r"model\.nmae: unknown key"):
        load_config(path)


def test_unknown_label_is_an_error_naming_it(toy_csv, tiny_encoder_dir, tmp_path):
    config = _config(toy_csv, tiny_encoder_dir, tmp_path, labels__scheme="sentiment3")
    with pytest.raises(Exception, match="joy"):
        run_experiment(config, out_dir=tmp_path / "runs")


def test_context_model_uses_previous_turns(toy_csv, tiny_encoder_dir, tmp_path):
    config = _config(toy_csv, tiny_encoder_dir, tmp_path, features__context=2, model__aggregator="expdecay")
    result = run_experiment(config, out_dir=tmp_path / "runs")
    pipe = Pipeline.load(result.run_dir / "pipeline")
    turns = ["Why would you say that?", "Leave me alone. I mean it.", "Okay. Fine. Whatever."]
    alone = pipe.predict_proba(turns)
    together = pipe.predict_proba(turns, conversation=True)
    np.testing.assert_allclose(alone[0], together[0], atol=1e-6)  # first turn has no context
    assert not np.allclose(alone[2], together[2])                 # later turns see earlier ones
    assert len(pipe.predict_conversation(turns)) == 3


def test_vader_labeller_makes_seven_level_targets(toy_csv, tiny_encoder_dir, tmp_path):
    from affectlab.experiments import prepare_data

    config = _config(toy_csv, tiny_encoder_dir, tmp_path, labels__scheme="vader7",
                     labels__labeller="vader->vader7")
    data = prepare_data(config)
    wonderful = data.corpus.table["text"].tolist().index("This is wonderful news.")
    assert data.scheme.classes[data.y[wonderful]] in {"positive", "very_positive", "extremely_positive"}
    assert data.y.max() < 7


def test_random_split_of_a_corpus_with_speakers_warns_about_leakage(toy_csv, tiny_encoder_dir, tmp_path, capsys):
    from affectlab.experiments import prepare_data

    config = _config(toy_csv, tiny_encoder_dir, tmp_path)
    options = config.data.options
    options["columns"] = {**options["columns"], "speaker": "conv"}
    options["columns"].pop("split")
    config.data.split.name = "random"
    data = prepare_data(config)
    assert any("speakers occur in both train and test" in w for w in data.notes["leakage"])
    assert "speakers occur in both train and test" in capsys.readouterr().err
