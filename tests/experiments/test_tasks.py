"""Further tasks (config ``tasks:``): targets with gaps, one head each on a composed model, a
report per task and a pipeline that predicts them all."""
import numpy as np
import pandas as pd
import pytest

from affectlab.errors import ConfigError
from affectlab.experiments.config import config_from_dict
from affectlab.experiments.data import prepare_data
from affectlab.experiments.runner import run_experiment
from affectlab.pipeline import Pipeline
from affectlab.training.objectives import MISSING
from tests.experiments.toy import toy_config, write_toy_csv

SENTIMENT = {"joy": "positive", "surprise": "positive", "neutral": "neutral"}


def _csv(tmp_path):
    path = write_toy_csv(tmp_path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    # every third row has no sentiment, every fourth no valence: those rows train the emotion only
    table["sentiment"] = [("" if i % 3 == 0 else SENTIMENT.get(e, "negative")) for i, e in enumerate(table["emotion"])]
    table["valence"] = ["" if i % 4 == 0 else f"{0.9 if e == 'joy' else 0.2:.1f}" for i, e in enumerate(table["emotion"])]
    table.to_csv(path, index=False)
    return path, table


def _config(tmp_path, encoder, **tasks):
    csv, table = _csv(tmp_path)
    data = toy_config(csv, encoder, tmp_path / "cache", features={"max_length": 32},
                      model={"encoder": {"path": str(encoder), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 2, "patience": 2, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4})
    data["tasks"] = tasks or {"sentiment": {"labels": {"scheme": "sentiment3", "column": "sentiment"}, "weight": 0.5},
                              "affect": {"values": ["valence"]}}
    return config_from_dict(data), table


def test_rows_without_a_further_label_are_kept_and_marked_missing(tmp_path, tiny_encoder_dir):
    config, table = _config(tmp_path, tiny_encoder_dir)
    data = prepare_data(config)
    assert len(data.y) == len(table)  # no row dropped for a missing sentiment or valence
    sentiment, affect = data.tasks["sentiment"], data.tasks["affect"]
    blank = (table["sentiment"] == "").to_numpy()
    assert (sentiment.y[blank] == MISSING).all() and (sentiment.y[~blank] >= 0).all()
    assert np.isnan(affect.y[(table["valence"] == "").to_numpy()]).all()
    assert affect.width == 1 and sentiment.width == 3


def test_multi_task_run_reports_every_task_and_its_pipeline_predicts_them(tmp_path, tiny_encoder_dir):
    config, table = _config(tmp_path, tiny_encoder_dir)
    result = run_experiment(config, out_dir=tmp_path / "runs")
    tasks = result.results["tasks"]
    test_rows = table["part"] == "test"
    assert tasks["sentiment"]["rows"]["test"] == int((test_rows & (table["sentiment"] != "")).sum())
    assert 0 <= tasks["sentiment"]["test"]["weighted_f1"] <= 1
    assert tasks["affect"]["rows"]["test"] == int((test_rows & (table["valence"] != "")).sum())
    assert set(tasks["affect"]["test"]["per_output"]) == {"valence"}
    assert (result.run_dir / "tasks" / "sentiment" / "test" / "cls_report.txt").is_file()

    pipeline = Pipeline.load(result.run_dir / "pipeline")
    (prediction,) = pipeline.predict(["I can't believe it, this is wonderful!"])
    assert prediction.label in pipeline.scheme.classes
    assert set(prediction.tasks) == {"label", "sentiment", "affect"}
    assert set(prediction.tasks["sentiment"]["probabilities"]) == {"negative", "neutral", "positive"}
    assert set(prediction.tasks["affect"]["values"]) == {"valence"}


@pytest.mark.parametrize("tasks, message", [
    ({"sentiment": {"labels": {"scheme": "sentiment3"}, "values": ["valence"]}}, "either labels"),
    ({"sentiment": {}}, "has no targets"),
    ({"label": {"values": ["valence"]}}, "'label' is the task"),
])
def test_bad_task_declarations_say_what_to_write(tmp_path, tiny_encoder_dir, tasks, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, tiny_encoder_dir, **tasks)


@pytest.mark.parametrize("section, value", [("tasks", {"affect": {"values": ["valence"]}}),
                                            ("features", {"tags": ["scenario"]})])
def test_tasks_and_tags_need_a_composed_model(tmp_path, tiny_encoder_dir, section, value):
    data = toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache")
    data[section] = {**data.get(section, {}), **value}
    with pytest.raises(ConfigError, match="set model.encoder"):
        config_from_dict(data)


def test_a_missing_task_column_names_the_yaml_key(tmp_path, tiny_encoder_dir):
    config, _ = _config(tmp_path, tiny_encoder_dir, affect={"values": ["arousal"]})
    with pytest.raises(ConfigError, match=r"tasks.affect.values.*arousal"):
        prepare_data(config)


def test_scenario_tags_train_with_lora_and_a_reloaded_pipeline_reads_them(tmp_path, tiny_encoder_dir):
    csv, table = _csv(tmp_path)
    table["scenario"] = ["work" if i % 2 else "family" for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = toy_config(csv, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 32, "tags": ["scenario"]},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "lora"}, "dropout": 0.1},
                      training={"epochs": 2, "patience": 2, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-2})
    result = run_experiment(config_from_dict(data), out_dir=tmp_path / "runs")
    pipeline = Pipeline.load(result.run_dir / "pipeline")
    spec = pipeline.spec["model"]["encoders"]["text"]
    assert spec["added_tokens"] == ["[scenario=?]", "[scenario=family]", "[scenario=work]"]
    text = "Well, that went well."
    probs = {s: pipeline.predict_outputs([text], tags={"scenario": s})["label"] for s in ("work", "family", "zoo")}
    assert not np.allclose(probs["work"], probs["family"])  # the tag rows were trained and saved
    unknown = pipeline.predict_outputs([text], tags={"scenario": None})["label"]
    np.testing.assert_allclose(probs["zoo"], unknown)  # an unseen value reads as [scenario=?]
    again = Pipeline.load(result.run_dir / "pipeline").predict_outputs([text], tags={"scenario": "work"})["label"]
    np.testing.assert_allclose(again, probs["work"], atol=1e-6)


def test_an_adversarial_domain_task_trains_behind_gradient_reversal_and_reloads(tmp_path, tiny_encoder_dir):
    from affectlab.models.adversary import AdversarialHead

    csv, table = _csv(tmp_path)
    table["source"] = ["films" if i % 2 else "tweets" for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = toy_config(csv, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 32},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 3, "patience": 3, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4})
    data["tasks"] = {"domain": {"labels": {"scheme": "source", "classes": ["films", "tweets"], "column": "source"},
                                "adversarial": True, "ramp_epochs": 2, "coefficient": 0.5, "weight": 0.3}}
    result = run_experiment(config_from_dict(data), out_dir=tmp_path / "runs")
    assert "weighted_f1" in result.results["tasks"]["domain"]["test"]  # how well the adversary still reads it
    pipeline = Pipeline.load(result.run_dir / "pipeline")
    assert isinstance(pipeline.model.heads["domain"], AdversarialHead)
    (prediction,) = pipeline.predict(["Oh really? Great."])
    assert set(prediction.tasks["domain"]["probabilities"]) == {"films", "tweets"}


def test_bounded_values_and_the_dissonance_score_train_report_and_reload(tmp_path, tiny_encoder_dir, capsys):
    """value_range rescales a 1-5 rating to [0, 1]; model.dissonance adds a score per turn."""
    csv, table = _csv(tmp_path)
    table["arousal"] = ["" if i % 4 == 0 else str(1 + i % 5) for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = toy_config(csv, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 48, "context": 2},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "full"}, "dropout": 0.1,
                             "dissonance": {"weight": 0.5, "hidden": 16}},
                      training={"epochs": 2, "patience": 2, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4})
    data["tasks"] = {"intensity": {"values": ["arousal"], "value_range": [1, 5]}}
    config = config_from_dict(data)
    prepared = prepare_data(config)
    intensity = prepared.tasks["intensity"].y[:, 0]
    assert np.nanmin(intensity) == 0.0 and np.nanmax(intensity) == 1.0
    result = run_experiment(config, out_dir=tmp_path / "runs")
    report = result.results["tasks"]["dissonance"]["test"]["all"]
    first_turns = int(((table["part"] == "test") & (table["idx"].astype(int) == 0)).sum())
    assert report["rows_with_context"] == int((table["part"] == "test").sum()) - first_turns
    assert 0 <= report["mean"] <= 1

    pipeline = Pipeline.load(result.run_dir / "pipeline")
    turns = pipeline.predict_conversation(["Guess what, I got the job!", "Oh. Great. Good for you."])
    assert turns[0].tasks["dissonance"]["value"] is None  # a first turn has no context
    assert 0 <= turns[1].tasks["dissonance"]["value"] <= 1
    assert 0 <= turns[1].tasks["intensity"]["values"]["arousal"] <= 1

    from affectlab.cli import main

    conversation = tmp_path / "turns.jsonl"
    conversation.write_text('{"speaker": "Ann", "text": "Guess what, I got the job!"}\n'
                            '{"speaker": "Bob", "text": "Oh. Great. Good for you."}\n', encoding="utf-8")
    assert main(["predict", "--pipeline", str(result.run_dir / "pipeline"), "--conversation", str(conversation)]) == 0
    printed = capsys.readouterr().out
    assert "Bob: Oh. Great. Good for you." in printed  # a block per turn, with its speaker
    assert "dissonance" in printed and "n/a (no context)" in printed and "intensity" in printed


def test_a_value_range_that_does_not_hold_the_values_is_named(tmp_path, tiny_encoder_dir):
    config, _ = _config(tmp_path, tiny_encoder_dir, affect={"values": ["valence"], "value_range": [0.5, 5]})
    with pytest.raises(ConfigError, match="outside value_range"):
        prepare_data(config)


def test_dissonance_needs_context(tmp_path, tiny_encoder_dir):
    data = toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache",
                      model={"encoder": {"path": str(tiny_encoder_dir)}, "dissonance": {}})
    with pytest.raises(ConfigError, match="features.context"):
        config_from_dict(data)


def test_a_plutchik_run_ships_the_wheel_readout_with_bands_from_dev(tmp_path, tiny_encoder_dir):
    from affectlab.labels.catalog import PLUTCHIK32
    from affectlab.readouts import NO_EMOTION

    csv, table = _csv(tmp_path)
    table["arousal"] = [str(1 + i % 5) for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = toy_config(csv, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 32},
                      labels={"scheme": "plutchik8", "mapping": "meld7->plutchik8"},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 1, "patience": 1, "batch_size": 8})
    data["tasks"] = {"intensity": {"values": ["arousal"], "value_range": [1, 5]}}
    result = run_experiment(config_from_dict(data), out_dir=tmp_path / "runs")
    pipeline = Pipeline.load(result.run_dir / "pipeline")
    wheel = pipeline.spec["readouts"]["wheel"]
    assert wheel["intensity"] == "intensity" and wheel["threshold"] == result.results["threshold"]
    (prediction,) = pipeline.predict(["We won the game! Amazing."])
    reading = prediction.extras["wheel"]
    assert reading["state"] in (*PLUTCHIK32, NO_EMOTION) and 0 <= reading["intensity"] <= 1


def test_labelled_handles_a_split_with_no_rows():
    """A train-only source (pinned examples) has no dev/test rows: its report is skipped, not a crash."""
    import numpy as np

    from affectlab.experiments.tasks import labelled

    assert labelled("multi_label", np.zeros((0, 9))).shape == (0,)
    assert labelled("regression", np.zeros((0,))).shape == (0,)
    assert labelled("regression", np.array([1.0, np.nan])).tolist() == [True, False]
    assert labelled("multi_label", np.array([[1, 0], [np.nan, np.nan]])).tolist() == [True, False]
