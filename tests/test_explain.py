"""Integrated Gradients: words as typed, completeness up to the reported delta, more steps converge."""
import json

import pytest

from affectlab.errors import InputError
from affectlab.explain import explain
from affectlab.pipeline import Pipeline

pytestmark = pytest.mark.integration
TEXT = "I can't believe you did this!"


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline.default(device="cpu")


def test_attributions_cover_the_words_typed_and_add_up(pipeline):
    result = explain(pipeline, TEXT)
    assert [w for w, _ in result.words] == TEXT.split()
    assert sum(a for _, a in result.words) == pytest.approx(sum(a for _, a in result.tokens), abs=1e-6)
    predicted = pipeline.predict(TEXT)[0]  # the engine's primaries are multi-label: the top one is explained
    assert result.target == max(predicted.probabilities, key=predicted.probabilities.get) and result.probability == pytest.approx(predicted.probabilities[result.target], abs=1e-4)


def test_more_steps_shrink_the_convergence_delta(pipeline):
    fast = explain(pipeline, TEXT, mode="fast")
    full = explain(pipeline, TEXT, mode="full", steps=100)
    assert full.delta < fast.delta and full.steps == 100 and fast.steps == 8


def test_any_class_can_be_explained_and_bad_requests_say_why(pipeline):
    assert explain(pipeline, TEXT, target="joy").target == "joy"
    with pytest.raises(InputError, match="no class 'happy'"):
        explain(pipeline, TEXT, target="happy")
    with pytest.raises(InputError, match="non-empty"):
        explain(pipeline, "   ")
    with pytest.raises(InputError, match="no task 'irony'"):
        explain(pipeline, TEXT, task="irony")
    with pytest.raises(InputError, match="predicts values"):
        explain(pipeline, TEXT, task="vad")


def test_a_fine_tuned_pipeline_explains_any_of_its_tasks(tmp_path, tiny_encoder_dir):
    from affectlab.experiments.config import config_from_dict
    from affectlab.experiments.runner import run_experiment
    from tests.experiments.toy import toy_config, write_toy_csv

    data = toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache", features={"max_length": 32},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 1, "patience": 1, "batch_size": 8})
    data["tasks"] = {"sentiment": {"labels": {"scheme": "sentiment3", "mapping": "meld7->sentiment3"}}}
    tuned = Pipeline.load(run_experiment(config_from_dict(data), out_dir=tmp_path / "runs").run_dir / "pipeline")
    result = explain(tuned, "Why would you say that?", task="sentiment", mode="full", steps=20)
    assert [w for w, _ in result.words] == ["Why", "would", "you", "say", "that?"] and result.task == "sentiment"


def test_the_cli_prints_json_and_writes_html(tmp_path, capsys):
    from affectlab.cli import main

    page = tmp_path / "why.html"
    assert main(["explain", TEXT, "--json", "--html", str(page)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [w["word"] for w in printed["words"]] == TEXT.split() and "delta" in printed
    assert "can&#x27;t" in page.read_text(encoding="utf-8")


@pytest.mark.integration
def test_attributions_point_at_the_emotional_word_and_deleting_it_matters():
    """benchmarks/data/emotional_words.csv: 34 short texts, each with one strongly emotional word
    (`python benchmarks/explain.py --sanity` prints the same figures)."""
    import csv
    from pathlib import Path

    from affectlab.explain import sanity_check
    from affectlab.pipeline import Pipeline

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "emotional_words.csv"
    items = [(row["text"], row["word"]) for row in csv.DictReader(path.open())]
    assert len(items) >= 30
    result = sanity_check(Pipeline.default(device="cpu"), items)
    assert result["emotional_texts"] >= 30             # the engine reads (almost) every one as an emotion
    assert result["top_word_rate"] >= 0.8              # the goal, over all texts (34 of 34 measured)
    assert result["deletion_drop_top"] > 3 * result["deletion_drop_random"]
