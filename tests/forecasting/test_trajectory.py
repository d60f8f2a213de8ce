"""A forecaster follows the task it was trained on: a multi-task pipeline's trajectory and forecast
read that task's per-turn distributions (the engine's MELD-7 head), not the primary one."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from affectlab.experiments.config import config_from_dict
from affectlab.experiments.runner import run_experiment
from affectlab.forecasting import FORECASTERS, load_forecaster, next_turn_set
from affectlab.forecasting.trajectory import FORECASTER_DIR, conversation_trajectory
from affectlab.pipeline import Pipeline
from tests.experiments.toy import toy_config, write_toy_csv

SENTIMENT = ["negative", "neutral", "positive"]
TURNS = ["Hi, how was the trip?", "Awful. They lost my bags.", "Oh no, I'm so sorry!"]


@pytest.fixture(scope="module")
def two_task_pipeline(tmp_path_factory, tiny_encoder_dir):
    """A tiny fine-tuned pipeline: primary MELD-7 plus a single-label sentiment task."""
    tmp = tmp_path_factory.mktemp("two_tasks")
    data = toy_config(write_toy_csv(tmp), tiny_encoder_dir, tmp / "cache", features={"max_length": 48, "context": 2},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "lora"}},
                      training={"epochs": 1, "patience": 1, "batch_size": 8})
    data["tasks"] = {"sentiment": {"labels": {"scheme": "sentiment3", "mapping": "meld7->sentiment3"}}}
    return run_experiment(config_from_dict(data), out_dir=tmp / "runs").run_dir / "pipeline"


def persistence_over(classes: list[str], task: str | None, folder) -> None:
    table = pd.DataFrame({"dialogue": ["d"] * 4, "turn": range(4), "label": [classes[i % len(classes)] for i in range(4)]})
    probs = np.full((4, len(classes)), 1 / len(classes), np.float32)
    forecaster = FORECASTERS.create("persistence").fit(next_turn_set(table, probs, classes))
    forecaster.task = task
    forecaster.save(folder)


def test_a_forecaster_saves_its_task(tmp_path):
    persistence_over(SENTIMENT, "sentiment", tmp_path / "f")
    assert load_forecaster(tmp_path / "f").task == "sentiment"


def test_trajectory_and_forecast_follow_the_forecasters_task(two_task_pipeline, tmp_path):
    path = tmp_path / "pipeline"
    shutil.copytree(two_task_pipeline, path)
    persistence_over(SENTIMENT, "sentiment", path / FORECASTER_DIR)
    body = conversation_trajectory(Pipeline.load(path, device="cpu"), TURNS, speakers=["Ann", "Bob", "Ann"])
    assert body["task"] == "sentiment" and body["classes"] == SENTIMENT
    assert all(set(turn["probabilities"]) == set(SENTIMENT) and turn["label"] in SENTIMENT for turn in body["turns"])
    assert body["forecast"]["task"] == "sentiment" and set(body["forecast"]["probabilities"]) == set(SENTIMENT)


def test_a_forecaster_over_a_task_the_pipeline_lacks_is_ignored(two_task_pipeline, tmp_path):
    path = tmp_path / "pipeline"
    shutil.copytree(two_task_pipeline, path)
    persistence_over(SENTIMENT, "sarcasm", path / FORECASTER_DIR)
    body = conversation_trajectory(Pipeline.load(path, device="cpu"), TURNS)
    assert body["task"] == "label" and body["forecast"] is None
