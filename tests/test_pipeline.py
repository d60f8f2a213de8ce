"""Pipelines: format 2 saves and loads fine-tuned models; format-1 directories (the shipped
defaults) load and give the outputs they gave before format 2 existed."""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from affectlab.errors import DataFormatError
from affectlab.pipeline import Pipeline

#: Probabilities printed by the format-1 code (commit 60932c4) for the shipped pipelines.
TEXTS = ["I can't believe you did this!", "This is wonderful news.", "Leave me alone. I mean it."]
FORMAT1_TEXT = [[0.3453101, 0.0201924, 0.0348581, 0.1623905, 0.0151577, 0.0934382, 0.3286529], [0.0190416, 0.0102652, 0.0017455, 0.5282506, 0.2889468, 0.1172058, 0.0345445], [0.0597692, 0.0233378, 0.1955027, 0.079463, 0.2731434, 0.3381237, 0.0306601]]
FORMAT1_AUDIO = [[0.000957721, 0.976036489, 0.00019696, 0.0, 1.07e-06, 4e-09, 0.000156895, 0.022650771]]


def _tone(path):
    import soundfile as sf

    sr = 16000
    t = np.arange(sr * 2) / sr
    wav = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    sf.write(path, wav, sr)
    return path


@pytest.mark.integration
def test_shipped_format1_text_pipeline_gives_its_recorded_outputs():
    pipe = Pipeline.shipped("text-meld7", device="cpu")
    assert pipe.spec["upgraded_from"] == 1
    np.testing.assert_allclose(pipe.predict_proba(TEXTS), FORMAT1_TEXT, atol=1e-5)


@pytest.mark.integration
def test_shipped_format1_speech_pipeline_gives_its_recorded_outputs(tmp_path):
    pipe = Pipeline.default("audio", device="cpu")
    np.testing.assert_allclose(pipe.predict_proba([str(_tone(tmp_path / "tone.wav"))]), FORMAT1_AUDIO, atol=1e-5)


@pytest.mark.integration
def test_predictions_from_many_threads_equal_one_thread():
    pipe = Pipeline.default(device="cpu")
    texts = [f"{t} ({i})" for i in range(6) for t in TEXTS]
    alone = [pipe.predict_proba([t]) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda t: pipe.predict_proba([t]), texts))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_unknown_format_says_what_to_do(tmp_path):
    (tmp_path / "pipeline.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(DataFormatError, match="upgrade affectlab"):
        Pipeline.load(tmp_path)


@pytest.mark.parametrize("finetune", ["lora", "full"])
def test_finetuned_pipeline_saves_and_loads_in_a_fresh_offline_process(tmp_path, tiny_encoder_dir, finetune):
    from affectlab.experiments.config import config_from_dict
    from affectlab.experiments.runner import run_experiment
    from tests.experiments.toy import toy_config, write_toy_csv

    config = config_from_dict(toy_config(
        write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache", features={"context": 2, "max_length": 48},
        model={"encoder": {"path": str(tiny_encoder_dir), "finetune": finetune, "lora": {"targets": ["query", "value"]}}},
        training={"epochs": 2, "batch_size": 8}))
    result = run_experiment(config, out_dir=tmp_path / "runs")
    path = result.results["pipeline"]
    spec = json.loads(open(os.path.join(path, "pipeline.json")).read())
    assert spec["format"] == 2 and spec["inputs"]["text"]["kind"] == "tokens"
    saved = {p for _, _, files in os.walk(path) for p in files}
    assert ("adapter_model.safetensors" in saved) == (finetune == "lora")
    assert ("model.safetensors" in saved) == (finetune == "full")
    here = Pipeline.load(path, device="cpu").predict_proba(TEXTS, conversation=True)
    code = ("import sys, json; from affectlab.pipeline import Pipeline; "
            "print(json.dumps(Pipeline.load(sys.argv[1]).predict_proba(json.loads(sys.argv[2]), conversation=True).tolist()))")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code, path, json.dumps(TEXTS)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1500:]
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), here, atol=1e-5)


def test_shipped_pipelines_load_by_name_and_an_unknown_name_lists_them():
    from affectlab.errors import DataNotFoundError
    from affectlab.pipeline import shipped_pipelines

    assert {"text-engine", "text-meld7", "speech-ravdess8"} <= set(shipped_pipelines())
    assert Pipeline.shipped("text-engine").version == Pipeline.default().version  # the engine is the default
    assert Pipeline.load("text-meld7").version == Pipeline.shipped("text-meld7").version  # a name where no folder is
    with pytest.raises(DataNotFoundError, match="shipped: .*text-meld7"):
        Pipeline.shipped("text-nope")
