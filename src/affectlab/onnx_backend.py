"""An ONNX Runtime backend for pipelines with a trainable-encoder input (token windows).

``export_onnx(pipeline, folder)`` writes ``model.onnx`` (the composed model as the pipeline runs
it: encoder read in plain torch, every head, the dissonance score) and, with ``quantize``,
``model.int8.onnx`` (dynamic INT8 quantisation with per-channel scales, onnxruntime). Token ids,
padding and the tokenizer stay the pipeline's; ``Pipeline.load(path, backend="onnx")`` swaps
only the forward pass for an ``OnnxModel``, so inputs, outputs and readouts are the same code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .errors import ConfigError, DataNotFoundError

ONNX_DIR = "onnx"
FIELDS = ("ids", "mask", "focus", "past")


class _Exportable(nn.Module):
    """The composed model with positional inputs and a tuple of outputs (what the exporter takes)."""

    def __init__(self, model: nn.Module, prefix: str, tasks: Sequence[str]) -> None:
        super().__init__()
        self.model, self.prefix, self.tasks = model, prefix, list(tasks)

    def forward(self, ids, mask, focus, past):
        outputs = self.model(**{f"{self.prefix}_ids": ids, f"{self.prefix}_mask": mask,
                                f"{self.prefix}_focus": focus, f"{self.prefix}_past": past})
        return tuple(outputs[t] for t in self.tasks)


def _output_names(pipeline) -> list[str]:
    with torch.inference_mode():
        example = _example(pipeline)
        return list(pipeline.model(**example))


def _example(pipeline) -> dict[str, torch.Tensor]:
    """A real batch of the pipeline's own token windows, with and without a previous turn."""
    from .inference_inputs import token_windows

    texts = ["Hello there, how are you?", "Fine, thanks. And you?", "Not great."]
    batch, _ = next(token_windows(pipeline, texts, batch_size=8, progress=False, conversation=True))
    prefix = pipeline.input_spec.get("name", "text")
    batch.setdefault(f"{prefix}_past", torch.zeros(batch[f"{prefix}_ids"].shape))
    return batch


def export_onnx(pipeline, folder: str | Path | None = None, quantize: bool = True) -> Path:
    """Write the pipeline's model as ONNX (and its INT8 version) under ``folder`` (default:
    ``<pipeline>/onnx``); returns the folder."""
    if pipeline.input_spec.get("kind") != "tokens":
        raise ConfigError("ONNX export covers pipelines with a trainable encoder (token inputs); this one "
                          f"reads {pipeline.input_spec.get('kind')!r}")
    folder = Path(folder) if folder is not None else Path(pipeline.path) / ONNX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    prefix = pipeline.input_spec.get("name", "text")
    tasks = _output_names(pipeline)
    wrapper = _Exportable(pipeline.model.eval(), prefix, tasks)
    example = _example(pipeline)
    args = tuple(example[f"{prefix}_{f}"] for f in FIELDS)
    axes = {name: {0: "batch", 1: "tokens"} for name in FIELDS}
    axes.update({task: {0: "batch"} for task in tasks})
    target = folder / "model.onnx"
    with torch.inference_mode():
        torch.onnx.export(wrapper, args, str(target), input_names=list(FIELDS), output_names=tasks,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    pipeline.model.eval()  # the exporter may leave modules in training mode
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # per-channel scales: per-tensor ones moved the engine's top primary on 18 % of MELD
        # utterances, per-channel on 6.5 % (docs/results.md)
        quantize_dynamic(str(target), str(folder / "model.int8.onnx"), weight_type=QuantType.QInt8, per_channel=True)
    return folder


BACKENDS = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}


class OnnxModel:
    """Runs an exported model with onnxruntime; called like the composed model (batch fields by
    name → ``{task: tensor}``)."""

    def __init__(self, path: str | Path, prefix: str = "text", threads: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise DataNotFoundError(f"{path} does not exist: export it first (affectlab export-onnx PIPELINE)")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.prefix = prefix
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        ids = batch[f"{self.prefix}_ids"]
        feeds = {"ids": ids.numpy().astype(np.int64), "mask": batch[f"{self.prefix}_mask"].numpy().astype(np.int64),
                 "focus": batch[f"{self.prefix}_focus"].numpy().astype(np.float32),
                 "past": batch.get(f"{self.prefix}_past", torch.zeros(ids.shape)).numpy().astype(np.float32)}
        values = self.session.run(self.outputs, feeds)
        return {name: torch.from_numpy(value) for name, value in zip(self.outputs, values)}

    def eval(self) -> "OnnxModel":
        return self

    def to(self, _device) -> "OnnxModel":
        return self
