"""ONNX export of a fine-tuned pipeline: onnxruntime gives PyTorch's probabilities (INT8: close)."""
import numpy as np
import pytest

from affectlab.errors import ConfigError
from affectlab.experiments.config import config_from_dict
from affectlab.experiments.runner import run_experiment
from affectlab.onnx_backend import export_onnx
from affectlab.pipeline import Pipeline
from tests.experiments.toy import toy_config, write_toy_csv

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (pip install affectlab[serve])")

TEXTS = ["I can't believe you did this!", "This is wonderful news.", "Okay. Fine. Whatever.", "What?"]


def test_onnx_and_int8_match_pytorch_on_a_fine_tuned_pipeline_with_context(tmp_path, tiny_encoder_dir):
    data = toy_config(write_toy_csv(tmp_path), tiny_encoder_dir, tmp_path / "cache",
                      features={"max_length": 48, "context": 2},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "lora"}, "dropout": 0.1,
                             "dissonance": {"hidden": 16}},
                      training={"epochs": 1, "patience": 1, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-2})
    data["tasks"] = {"sentiment": {"labels": {"scheme": "sentiment3", "mapping": "meld7->sentiment3"}}}
    path = run_experiment(config_from_dict(data), out_dir=tmp_path / "runs").run_dir / "pipeline"
    export_onnx(Pipeline.load(path, device="cpu"))
    torch_outputs = Pipeline.load(path, device="cpu").predict_outputs(TEXTS, conversation=True)
    for backend, tolerance in (("onnx", 1e-5), ("onnx-int8", 0.1)):
        onnx_outputs = Pipeline.load(path, backend=backend).predict_outputs(TEXTS, conversation=True)
        assert set(onnx_outputs) == set(torch_outputs) == {"label", "sentiment", "dissonance"}
        for task, expected in torch_outputs.items():
            np.testing.assert_allclose(onnx_outputs[task], expected, atol=tolerance, equal_nan=True)


def test_frozen_feature_pipelines_say_they_cannot_be_exported():
    with pytest.raises(ConfigError, match="token inputs"):
        export_onnx(Pipeline.shipped("text-meld7"))
