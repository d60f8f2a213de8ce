"""Speech on the shared spine, end to end on a tiny synthetic corpus of tones (no real data):
CSV with an audio column → speaker-independent folds → log-mel → CNN → CV summary →
pipeline → `affectlab predict --audio`."""
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from affectlab.cli import main
from affectlab.experiments import config_from_dict
from affectlab.experiments.cv import run_cross_validation
from affectlab.pipeline import Pipeline

RATE = 16_000
TONES = {"negative": 300.0, "neutral": 900.0, "positive": 2400.0}
SPEAKERS = [f"s{i}" for i in range(6)]


def _tone(freq: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.5 * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * freq * rng.uniform(0.95, 1.05) * t)
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def tone_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    rows = []
    for speaker in SPEAKERS:
        for label, freq in TONES.items():
            for take in range(3):
                path = f"wav/{speaker}_{label}_{take}.wav"
                (root / "wav").mkdir(exist_ok=True)
                sf.write(root / path, _tone(freq, rng), RATE)
                rows.append({"id": f"{speaker}-{label}-{take}", "path": path, "sentiment": label, "actor": speaker})
    pd.DataFrame(rows).to_csv(root / "clips.csv", index=False)
    return root


def _config(root, cache, **training):
    return config_from_dict({
        "name": "tones",
        "data": {"corpus": "tabular", "data_root": str(root),
                 "options": {"path": "clips.csv", "columns": {"uid": "id", "audio": "path", "label": "sentiment",
                                                              "speaker": "actor", "group": "actor"}},
                 "split": {"name": "group_folds",
                           "options": {"folds": [["s0", "s1"], ["s2", "s3"], ["s4", "s5"]], "fold": "all"}}},
        "labels": {"scheme": "sentiment3"},
        "features": {"modality": "audio", "encoder": "logmel", "cache_dir": str(cache), "device": "cpu",
                     "audio": {"preset": "speech16k", "max_seconds": 0.5}},
        "model": {"name": "cnn", "hidden": 8, "dropout": 0.0, "options": {"depth": 2, "input_norm": "clip"}},
        "loss": {"name": "ce", "class_weighting": "balanced", "label_smoothing": 0.1},
        "augment": {"spec_augment": {"freq_masks": 1, "freq_width": 4, "time_masks": 1, "time_width": 5},
                    "stretch": {"time": 0.1, "freq": 0.05}},
        "training": {"epochs": 12, "patience": 12, "batch_size": 8, "lr": 3e-3, "monitor": "macro_f1",
                     "progress": False, "device": "cpu", **training},
    })


@pytest.fixture(scope="module")
def cv(tone_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run_cross_validation(_config(tone_corpus, out / "cache"), out_dir=out)


def test_cross_validation_reports_every_fold_and_mean_sd(cv):
    summary = json.loads((cv.cv_dir / "cv_results.json").read_text())
    assert summary["n_folds"] == 3 and len(summary["folds"]) == 3
    for metric in ("accuracy", "uar", "macro_f1", "weighted_f1"):
        stats = summary["summary"][f"test_{metric}"]
        assert set(stats) == {"mean", "sd"} and 0.0 <= stats["mean"] <= 1.0
    assert summary["summary"]["test_accuracy"]["mean"] > 0.6  # three tones are easy to tell apart
    assert "mean ± sd" in (cv.cv_dir / "cv_report.md").read_text()
    assert (cv.cv_dir / "pooled" / "cls_report.txt").is_file()
    pooled = (cv.cv_dir / "pooled" / "cls_report.txt").read_text()
    assert "54" in pooled  # every clip is tested exactly once across the folds


def test_each_fold_logs_class_distribution_and_speaker_coverage(cv):
    for fold in cv.folds:
        splits = fold.results["data"]["splits"]
        assert {s: splits[s]["speakers"] for s in ("train", "dev", "test")} == {"train": 2, "dev": 2, "test": 2}
        assert all(splits[s]["speakers_shared"] == 0 for s in splits)  # speaker-independent
        assert splits["test"]["classes"] == {"negative": 6, "neutral": 6, "positive": 6}
        assert not [w for w in fold.results["data"]["leakage"] if "speakers" in w]
        assert "valid" not in fold.results["features"] and fold.results["features"]["skipped"] == []


def test_fold_pipeline_predicts_audio_files_and_the_cli_fails_clearly_on_a_corrupt_one(cv, tone_corpus, tmp_path, capsys):
    pipeline_dir = cv.folds[0].run_dir / "pipeline"
    pipeline = Pipeline.load(pipeline_dir)
    assert pipeline.modality == "audio"
    clip = tone_corpus / "wav" / "s0_positive_0.wav"
    [prediction] = pipeline.predict([clip])
    assert set(prediction.probabilities) == set(TONES) and prediction.text == str(clip)

    assert main(["predict", "--audio", str(clip), "--pipeline", str(pipeline_dir), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["audio"] == str(clip) and abs(sum(row["probabilities"].values()) - 1) < 1e-4

    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    assert main(["predict", "--audio", str(corrupt), "--pipeline", str(pipeline_dir)]) == 2
    err = capsys.readouterr().err
    assert "corrupt.wav" in err and "Traceback" not in err
    assert main(["predict", "--audio", str(tmp_path / "missing.wav"), "--pipeline", str(pipeline_dir)]) == 2
    assert "missing.wav" in capsys.readouterr().err


def test_a_random_split_over_speakers_warns_that_speakers_leak(tone_corpus, tmp_path, capsys):
    from affectlab.experiments.runner import prepare_data

    config = _config(tone_corpus, tmp_path / "cache")
    config.data.split.name, config.data.split.options = "random", {}
    config.training.progress = True
    data = prepare_data(config)
    assert any("speakers" in w for w in data.notes["leakage"])
    assert "speakers occur in both" in capsys.readouterr().err.replace("\n", " ")


def test_a_cross_validation_config_is_not_one_run(tone_corpus, tmp_path):
    from affectlab.errors import ConfigError
    from affectlab.experiments.runner import run_experiment

    with pytest.raises(ConfigError, match="fold: all means cross-validation"):
        run_experiment(_config(tone_corpus, tmp_path / "cache"), out_dir=tmp_path)


def test_seed_ensemble_of_cross_validations_is_scored_fold_by_fold(cv, tone_corpus, tmp_path, capsys):
    from affectlab.experiments.cv_ensemble import ensemble_cross_validation

    from affectlab.experiments import dump_config

    config = _config(tone_corpus, cv.cv_dir.parent / "cache")
    (tmp_path / "tones.yaml").write_text(dump_config(config))
    assert main(["run", str(tmp_path / "tones.yaml"), "--seed", "7", "--out", str(cv.cv_dir.parent)]) == 0
    config.seed = 7
    other = run_cross_validation(config, out_dir=cv.cv_dir.parent)  # the CLI's run, reused
    assert other.cv_dir != cv.cv_dir and all(fold.skipped for fold in other.folds)
    (cv.folds[0].run_dir / "dev_labels.npy").unlink()  # a run saved before dev labels were: rebuilt
    result = ensemble_cross_validation([cv.cv_dir, other.cv_dir], tmp_path / "ens", data_root=str(tone_corpus))
    assert len(result["folds"]) == 3
    for fold, row in enumerate(result["folds"]):
        members = [np.load(c.folds[fold].run_dir / "test_probs.npy") for c in (cv, other)]
        truth = np.load(cv.folds[fold].run_dir / "test_labels.npy")
        expected = np.mean(np.argmax((members[0] + members[1]) / 2, axis=1) == truth)
        assert row["mean"]["test_accuracy"] == pytest.approx(expected)
        assert row["mean"]["weights"] == [0.5, 0.5] and sum(row["weighted"]["weights"]) == pytest.approx(1)
    assert set(result["summary"]["weighted"]) >= {"test_macro_f1", "dev_macro_f1", "test_uar"}

    assert main(["ensemble", str(cv.cv_dir), str(other.cv_dir), "--out", str(tmp_path / "cli")]) == 0
    assert "ensemble (weighted)" in capsys.readouterr().out
    assert main(["ensemble", str(cv.cv_dir), "--out", str(tmp_path / "one")]) == 2
    assert "at least two" in capsys.readouterr().err


def test_augment_config_builds_stretch_then_masks_and_nothing_when_off(tone_corpus, tmp_path):
    from affectlab.experiments.runner import build_augment
    from affectlab.training.augment import Chain, SpecAugment, SpecStretch

    config = _config(tone_corpus, tmp_path)
    chain = build_augment(config)
    assert isinstance(chain, Chain) and [type(s) for s in chain.steps] == [SpecStretch, SpecAugment]
    assert (chain.steps[0].time, chain.steps[0].freq) == (0.1, 0.05)
    config.augment.spec_augment.freq_masks = config.augment.spec_augment.time_masks = 0
    assert isinstance(build_augment(config), SpecStretch)
    config.augment.stretch.time = config.augment.stretch.freq = 0.0
    assert build_augment(config) is None


def test_stretch_off_keeps_the_run_ids_of_configs_made_before_it(tone_corpus, tmp_path):
    from affectlab.experiments.config import config_identity

    config = _config(tone_corpus, tmp_path)
    assert config_identity(config)["augment"]["stretch"] == {"time": 0.1, "freq": 0.05}
    config.augment.stretch.time = config.augment.stretch.freq = 0.0
    assert "stretch" not in config_identity(config)["augment"]  # spec_augment alone: identity as before
    config.augment.spec_augment.freq_masks = config.augment.spec_augment.time_masks = 0
    config.augment.spec_augment.freq_width = config.augment.spec_augment.time_width = 0
    assert "augment" not in config_identity(config)
