"""Several corpora in one run (config ``sources:``): stacked rows, per-corpus targets with gaps,
per-corpus reports and a pipeline that predicts every task."""
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

JOKES = ["Oh great, another Monday.", "I love waiting in line for hours.", "The train is on time today.",
         "Wow, what a surprise, it rained.", "Thanks for the help, really.", "The meeting starts at nine."]


def _jokes(tmp_path):
    rows = [{"id": f"{rep}-{i}", "utterance": text, "sarcasm": "sarcastic" if i % 3 != 2 else "not_sarcastic",
             "part": ["train", "train", "dev", "test"][rep], "conv": f"c{rep}-{i // 4}", "idx": i % 4}
            for rep in range(4) for i, text in enumerate(JOKES)]
    path = tmp_path / "jokes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)  # same uids and dialogue ids as the toy corpus
    return path


def _data(tmp_path, encoder, **extra):
    data = toy_config(write_toy_csv(tmp_path), encoder, tmp_path / "cache", features={"max_length": 48, "context": 2},
                      model={"encoder": {"path": str(encoder), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 2, "patience": 2, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4})
    columns = {"uid": "id", "text": "utterance", "label": "sarcasm", "split": "part", "dialogue": "conv", "turn": "idx"}
    data["tasks"] = {"sarcasm": {},
                     "domain": {"labels": {"scheme": "domain", "classes": ["tabular", "jokes"], "column": "source"},
                                "adversarial": True, "ramp_epochs": 1}}
    data["sources"] = [{"name": "jokes", "data": {"corpus": "tabular", "options": {"path": str(_jokes(tmp_path)),
                                                                                   "columns": columns}},
                        "labels": {"sarcasm": {"labels": {"scheme": "sarcasm2"}},
                                   "domain": {"labels": {"scheme": "domain", "classes": ["tabular", "jokes"],
                                                         "column": "source"}}}}]
    data.update(extra)
    return data


def test_corpora_stack_with_each_task_missing_where_a_corpus_does_not_label_it(tmp_path, tiny_encoder_dir):
    data = prepare_data(config_from_dict(_data(tmp_path, tiny_encoder_dir)))
    table = data.corpus.table
    jokes = (table["source"] == "jokes").to_numpy()
    assert jokes.sum() == 24 and (~jokes).sum() == 48 and table["uid"].is_unique
    assert (data.y[jokes] == MISSING).all() and (data.y[~jokes] >= 0).all()
    assert (data.tasks["sarcasm"].y[~jokes] == MISSING).all() and (data.tasks["sarcasm"].y[jokes] >= 0).all()
    assert data.tasks["domain"].y.tolist() == [0] * 48 + [1] * 24
    assert table.loc[jokes, "dialogue"].str.startswith("jokes/").all()  # no context across corpora
    assert data.sources == ["tabular", "jokes"]


def test_a_run_over_two_corpora_reports_each_and_its_pipeline_predicts_all_tasks(tmp_path, tiny_encoder_dir):
    config = config_from_dict(_data(tmp_path, tiny_encoder_dir, sampling={"temperature": 2.0, "cap": 30}))
    result = run_experiment(config, out_dir=tmp_path / "runs")
    results = result.results
    assert results["split_sizes"]["test"] == 18
    by_source = results["by_source"]
    assert set(by_source["tabular"]) == {"label", "domain"} and set(by_source["jokes"]) == {"sarcasm", "domain"}
    assert results["tasks"]["sarcasm"]["rows"]["test"] == 6
    assert (result.run_dir / "sources" / "jokes" / "sarcasm" / "test" / "cls_report.txt").is_file()
    assert len(np.load(result.run_dir / "test_labels.npy")) == 12  # the primary task's own test rows
    (prediction,) = Pipeline.load(result.run_dir / "pipeline").predict(["Oh wonderful, more rain."])
    assert set(prediction.tasks) == {"label", "sarcasm", "domain"}


def test_pinned_source_rows_appear_in_every_epoch(tmp_path, tiny_encoder_dir):
    from affectlab.experiments.inputs import prepare_run

    data = _data(tmp_path, tiny_encoder_dir, sampling={"cap": 5})
    data["sources"][0]["oversample"] = 2
    prepared = prepare_run(config_from_dict(data))
    sampler = prepared.datasets["train"].sampler
    assert sampler.epoch_size() == 5 + 12 * 2  # the toy corpus capped, the 12 pinned rows twice


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sources"][0]["labels"].update({"topic": {"values": ["idx"]}}), "not tasks"),
    (lambda d: d["tasks"].update({"orphan": {}}), "'orphan' has no targets"),
    (lambda d: d["sources"][0].pop("name"), "source names must differ"),
])
def test_bad_source_declarations_say_what_to_write(tmp_path, tiny_encoder_dir, change, message):
    data = _data(tmp_path, tiny_encoder_dir)
    change(data)
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_corpora_that_disagree_on_a_task_say_so(tmp_path, tiny_encoder_dir):
    data = _data(tmp_path, tiny_encoder_dir)
    data["sources"][0]["labels"]["domain"] = {"labels": {"scheme": "domain", "classes": ["jokes", "tabular"],
                                                         "column": "source"}}
    with pytest.raises(ConfigError, match="map both onto one scheme"):
        prepare_data(config_from_dict(data))


def test_a_task_over_the_source_column_is_labelled_on_every_corpus_unlisted(tmp_path, tiny_encoder_dir):
    data = _data(tmp_path, tiny_encoder_dir)
    del data["sources"][0]["labels"]["domain"]  # the domain head reads `source`: no need to list it
    prepared = prepare_data(config_from_dict(data))
    assert prepared.tasks["domain"].y.tolist() == [0] * 48 + [1] * 24


def test_sampling_by_task_gives_each_task_one_quota_and_skips_the_adversary(tmp_path, tiny_encoder_dir):
    """The toy corpus labels `label`, the jokes corpus `sarcasm`; the adversarial domain task labels
    every row, so as a group it would take everything: it is left out of the task groups."""
    from affectlab.experiments.inputs import prepare_run

    by_corpus = prepare_run(config_from_dict(_data(tmp_path, tiny_encoder_dir, sampling={"cap": 5})))
    by_task = prepare_run(config_from_dict(_data(tmp_path, tiny_encoder_dir, sampling={"cap": 5, "by": "task"})))
    assert by_corpus.datasets["train"].sampler.epoch_size() == 10
    sampler = by_task.datasets["train"].sampler
    assert len(sampler.counts) == 2 and sampler.epoch_size() == 10  # `label` and `sarcasm`, 5 rows each
    run = run_experiment(config_from_dict(_data(tmp_path, tiny_encoder_dir, sampling={"cap": 5, "by": "task"})),
                         out_dir=tmp_path / "runs")
    assert run.results["epochs_run"] >= 1
