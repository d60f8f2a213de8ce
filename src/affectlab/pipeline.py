"""A trained model outside the lab: a directory with ``pipeline.json`` + ``weights.safetensors``
(+ ``encoders/<input>/`` for a fine-tuned encoder: LoRA adapters or full safetensors).

``Pipeline.load(path).predict(texts)`` — or ``.predict(["clip.wav"])`` for a speech pipeline —
needs nothing else: inputs are rebuilt from the recorded settings (the default encoders ship
inside PyPI packages). Format 2 (a typed spec: inputs by kind, model parts, tasks) is what runs
write; format-1 directories (the first shipped pipelines) load through ``upgrade_spec``.
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from ._io import atomic_write, write_json
from .devices import pick_device
from .errors import DataFormatError, DataNotFoundError, InputError
from .labels.scheme import LabelScheme
from .readouts import apply_readouts

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
DEFAULT_PIPELINES = {"text": "text-engine", "audio": "speech-ravdess8"}
MAX_TEXT_CHARS = 10_000


@dataclass
class Prediction:
    """One prediction: the primary task's label (or labels, for multi-label schemes) and
    probabilities; ``tasks`` holds every task's output (label + probabilities for
    classification, ``values`` for regression)."""

    text: str
    label: str | list[str]
    probabilities: dict[str, float]
    extras: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TaskSpec:
    name: str
    kind: str  # single_label | multi_label | regression | score
    scheme: LabelScheme | None
    threshold: Any = 0.5
    outputs: list[str] | None = None  # regression: value names
    bounds: tuple[float, float] | None = None  # regression: predictions clipped to these

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> "TaskSpec":
        scheme = LabelScheme.from_dict(data["scheme"]) if data.get("scheme") else None
        bounds = tuple(data["bounds"]) if data.get("bounds") else None
        return cls(name, data["kind"], scheme, data.get("threshold", 0.5), data.get("outputs"), bounds)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "scheme": None if self.scheme is None else self.scheme.to_dict(),
                "threshold": self.threshold, **({"outputs": self.outputs} if self.outputs else {}),
                **({"bounds": list(self.bounds)} if self.bounds else {})}


def upgrade_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A format-1 spec (one frozen-feature extractor, one head, one scheme) as format 2."""
    if spec.get("format") == FORMAT_VERSION:
        return spec
    modality = spec.get("modality", "text")
    scheme = spec["scheme"]
    kind = "spectrogram" if modality == "audio" and spec["features"].get("encoder") == "logmel" else "vectors"
    return {
        "format": FORMAT_VERSION,
        "affectlab_version": spec.get("affectlab_version"),
        "modality": modality,
        "inputs": {"x": {"kind": kind, "modality": modality, "features": spec["features"]}},
        "model": spec["model"],
        "tasks": {"label": {"kind": "multi_label" if scheme.get("multi_label") else "single_label",
                            "scheme": scheme, "threshold": spec.get("threshold", 0.5)}},
        "provenance": spec.get("provenance", {}),
        "upgraded_from": spec.get("format"),
    }


class Pipeline:
    """Load once, predict from any thread: model and encoders are built once (under a lock),
    tokenizers are called under a lock, forward passes run in inference mode."""

    def __init__(self, spec: dict[str, Any], model: nn.Module, scheme: LabelScheme | None = None,
                 idf: np.ndarray | None = None, device: str = "cpu") -> None:
        self.spec = upgrade_spec(spec) if spec.get("format") != FORMAT_VERSION else spec
        self.device = pick_device(device)
        self.model = model.eval().to(self.device)
        self.tasks = {name: TaskSpec.from_dict(name, t) for name, t in self.spec["tasks"].items()}
        if scheme is not None:  # the caller's scheme object for the primary task (same classes)
            self.tasks[self.primary].scheme = scheme
        self.idf = idf
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        self.path: Path | None = None

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        own = {}
        for name, module in getattr(self.model, "encoders", {}).items():  # encoders save their own files
            module.save(path / "encoders" / name)
            own[f"encoders.{name}."] = True
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()
                   if not any(k.startswith(prefix) for prefix in own)}
        if self.idf is not None:
            tensors["extra.idf"] = torch.as_tensor(self.idf)
        atomic_write(path / "weights.safetensors", lambda p: save_file(tensors, str(p)))
        write_json(path / "pipeline.json", self.spec)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", backend: str = "torch") -> "Pipeline":
        """Load a pipeline directory (format 1 or 2), or a shipped pipeline by name (e.g.
        ``text-meld7``, when no such directory exists here), onto ``device`` (auto: CUDA, MPS or
        CPU). ``backend``: ``torch``, or ``onnx`` / ``onnx-int8`` (onnxruntime on the CPU, from
        the pipeline's ``onnx/`` folder: ``affectlab export-onnx``)."""
        path = Path(path)
        if not path.exists() and str(path) in shipped_pipelines():
            path = _shipped_root() / str(path)
        spec_file = path / "pipeline.json"
        if not spec_file.is_file():
            raise DataNotFoundError(f"{path} is not a pipeline directory (expected {spec_file})")
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{spec_file} is not valid JSON: {error}") from None
        if spec.get("format") not in READABLE_FORMATS:
            raise DataFormatError(f"{spec_file}: unsupported pipeline format {spec.get('format')!r} "
                                  f"(this AffectLab reads formats {list(READABLE_FORMATS)}; upgrade affectlab)")
        spec = upgrade_spec(spec)
        if not (path / "weights.safetensors").is_file():
            raise DataNotFoundError(f"{path} has no weights.safetensors")
        tensors = load_file(str(path / "weights.safetensors"))
        model = build_model(spec["model"], path)
        state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        not_encoder = [k for k in missing if not k.startswith("encoders.")]
        if not_encoder or unexpected:
            raise DataFormatError(f"{path}: weights do not match the model spec "
                                  f"(missing {not_encoder[:5]}, unexpected {unexpected[:5]})")
        idf = tensors["extra.idf"].numpy() if "extra.idf" in tensors else None
        pipeline = cls(spec, model, None, idf, device=device)
        pipeline.path = path
        if backend != "torch":
            from .onnx_backend import BACKENDS, ONNX_DIR, OnnxModel

            if backend not in BACKENDS:
                raise InputError(f"backend must be torch, {' or '.join(BACKENDS)}; got {backend!r}")
            pipeline.model = OnnxModel(path / ONNX_DIR / BACKENDS[backend], pipeline.input_spec.get("name", "text"))
            pipeline.device = torch.device("cpu")
        return pipeline

    @classmethod
    def default(cls, modality: str = "text", device: str = "auto") -> "Pipeline":
        """The pipeline shipped inside the package (no network, no dataset needed)."""
        return cls.shipped(DEFAULT_PIPELINES[modality], device=device)

    @classmethod
    def shipped(cls, name: str, device: str = "auto") -> "Pipeline":
        """A pipeline shipped inside the package, by name (``shipped_pipelines()`` lists them)."""
        if name not in shipped_pipelines():
            raise DataNotFoundError(f"no shipped pipeline {name!r}; shipped: {', '.join(shipped_pipelines())}")
        return cls.load(_shipped_root() / name, device=device)

    # ---- what it is --------------------------------------------------------------------
    @property
    def version(self) -> str:
        """Identifies what this pipeline predicts: a hash of its spec (a retrained model differs)."""
        from ._io import stable_hash

        return stable_hash(self.spec, 12)

    @property
    def primary(self) -> str:
        return next(iter(self.spec["tasks"]))

    @property
    def scheme(self) -> LabelScheme:
        """The primary task's label scheme."""
        return self.tasks[self.primary].scheme

    @property
    def modality(self) -> str:
        return self.spec.get("modality", "text")

    @property
    def context_turns(self) -> int:
        """Previous turns the model reads with each text (0: it reads each text alone)."""
        spec = self.input_spec
        return int((spec.get("window") or {}).get("past") or (spec.get("features") or {}).get("context") or 0)

    @property
    def input_spec(self) -> dict[str, Any]:
        return next(iter(self.spec["inputs"].values()))

    # ---- inference ---------------------------------------------------------------------
    def _check(self, texts: str | Path | Sequence[str | Path]) -> list[str]:
        if isinstance(texts, (str, Path)):
            texts = [texts]
        texts = [str(t) if isinstance(t, Path) else t for t in texts]
        what = "audio file paths" if self.modality == "audio" else "non-empty strings"
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise InputError(f"empty or non-text input at position(s) {bad[:10]}: give {what}")
        if self.modality == "audio":
            return texts
        long = [i for i, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS]
        if long:
            raise InputError(f"text at position(s) {long[:10]} is longer than {MAX_TEXT_CHARS} characters")
        return texts

    def cached(self, key: str, build):
        """A lazily built helper (encoder, tokenizer), built once even when threads race."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    @torch.inference_mode()
    def predict_outputs(self, texts: str | Sequence[str], batch_size: int = 64, progress: bool = False,
                        conversation: bool = False, speakers: Sequence[str | None] | None = None,
                        tags: Mapping[str, Any] | None = None, table=None,
                        represent: bool = False) -> dict[str, np.ndarray]:
        """Every task's probabilities (classification) or values (regression), [N, outputs].
        ``tags`` (e.g. ``{"scenario": "work"}``, or a list per text) feed models trained with
        ``features.tags``. ``table``: a corpus's rows (``text``, ``speaker``, ``dialogue``,
        ``turn``, ...) read with their own context, as in training. ``represent``: the vector
        the heads read instead (key ``representation``; composed models)."""
        from .inference_inputs import INPUT_KINDS

        texts = self._check(texts if table is None else table["text"].astype(str).tolist())
        build = INPUT_KINDS.get(self.input_spec["kind"])
        parts: dict[str, list[np.ndarray]] = {}
        for batch, order in build(self, texts, batch_size=batch_size, progress=progress,
                                  conversation=conversation, speakers=speakers, tags=tags, table=table):
            batch = {k: v.to(self.device) for k, v in batch.items()}
            if represent:
                vectors = self.model.represent(**batch).float().cpu().numpy()
                parts.setdefault("representation", []).append((order, vectors))
                continue
            outputs = self.model(**batch)
            if isinstance(outputs, torch.Tensor):
                outputs = {self.primary: outputs}
            for name, value in outputs.items():
                parts.setdefault(name, []).append((order, self._to_probs(name, value)))
        result = {}
        for name, chunks in parts.items():
            out = np.empty((len(texts), chunks[0][1].shape[1]), dtype=np.float32)
            for order, values in chunks:
                out[order] = values
            result[name] = out
        return result

    def _to_probs(self, task: str, output: torch.Tensor) -> np.ndarray:
        from .outputs import output_probs

        return output_probs(self.tasks[task].kind if task in self.tasks else "regression", output).cpu().numpy()

    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 64,
                      progress: bool = False, conversation: bool = False) -> np.ndarray:
        """Probabilities [N, classes] of the primary task. With ``conversation``, texts are
        consecutive turns of one dialogue and a context model sees the turns before each one."""
        return self.predict_outputs(texts, batch_size, progress, conversation)[self.primary]

    def predict(self, texts: str | Sequence[str], batch_size: int = 64, progress: bool = False,
                conversation: bool = False, speakers: Sequence[str | None] | None = None,
                tags: Mapping[str, Any] | None = None, table=None) -> list[Prediction]:
        """Typed predictions; ``table`` (rows with ``text`` and e.g. ``speaker``, ``context``
        lists, tag columns) replaces ``texts`` when each row brings its own context."""
        texts = self._check(texts if table is None else table["text"].astype(str).tolist())
        outputs = self.predict_outputs(texts, batch_size, progress, conversation, speakers, tags, table=table)
        predictions = []
        readouts = self.spec.get("readouts") or {}
        for i, text in enumerate(texts):
            tasks = {name: self._task_output(name, values[i]) for name, values in outputs.items()}
            main = tasks[self.primary]
            extras = apply_readouts(readouts, tasks) if readouts else {}
            predictions.append(Prediction(text, main["label"], main["probabilities"], extras=extras,
                                          tasks=tasks if len(tasks) > 1 else {}))
        return predictions

    def _task_output(self, name: str, row: np.ndarray) -> dict[str, Any]:
        task = self.tasks[name]
        if task.kind == "score":  # NaN: not applicable (e.g. dissonance of a turn without context)
            value = float(row[0])
            return {"value": None if np.isnan(value) else round(value, 6)}
        if task.kind == "regression":
            names = task.outputs or [f"value_{j}" for j in range(len(row))]
            if task.bounds is not None:
                row = np.clip(row, *task.bounds)
            return {"values": {n: round(float(v), 6) for n, v in zip(names, row)}}
        probabilities = {c: round(float(p), 6) for c, p in zip(task.scheme.classes, row)}
        if task.kind == "multi_label":
            above = np.asarray(row) >= np.asarray(task.threshold)
            label: str | list[str] = [c for c, keep in zip(task.scheme.classes, above) if keep]
        else:
            label = task.scheme.classes[int(np.argmax(row))]
        return {"label": label, "probabilities": probabilities}

    def explain(self, text: str, task: str | None = None, target: str | None = None, mode: str = "fast",
                steps: int | None = None):
        """Which words made the prediction: Integrated Gradients on the embeddings (``explain.explain``)."""
        from .explain import explain

        return explain(self, text, task=task, target=target, mode=mode, steps=steps)

    def predict_conversation(self, turns: Sequence[str], speakers: Sequence[str | None] | None = None,
                             **kwargs) -> list[Prediction]:
        """Predict every turn of one conversation, in order (context models use earlier turns;
        ``speakers`` names who said each turn, as in training)."""
        return self.predict(turns, conversation=True, speakers=speakers, **kwargs)


def _shipped_root() -> Path:
    return Path(str(resources.files("affectlab") / "default_pipelines"))


def shipped_pipelines() -> list[str]:
    """Names of the pipelines inside the package (``Pipeline.shipped(name)``)."""
    return sorted(p.name for p in _shipped_root().iterdir() if (p / "pipeline.json").is_file())


def build_model(model_spec: dict[str, Any], path: Path | None = None) -> nn.Module:
    """The model a spec describes: a registered model, or encoders → heads (``composed``)."""
    from .models import create_model

    if model_spec["name"] != "composed":
        return create_model(model_spec["name"], **model_spec["kwargs"])
    from .models.composed import ComposedModel
    from .models.text_encoder import EncoderConfig, TrainableTextEncoder

    encoders = {}
    for name, part in model_spec["encoders"].items():
        config = EncoderConfig.model_validate(part["config"])
        weights = None if path is None or config.finetune == "frozen" else path / "encoders" / name
        encoders[name] = TrainableTextEncoder.for_inference(config, weights, part.get("added_tokens", ()))
    from .models.adversary import AdversarialHead

    heads = {}
    for task, head in model_spec["heads"].items():
        heads[task] = create_model(head["name"], **head["kwargs"])
        if head.get("adversarial"):  # identity forward: wrapped only so the weight names match
            heads[task] = AdversarialHead(heads[task])
    dissonance = model_spec.get("dissonance")
    if dissonance is None:
        return ComposedModel(encoders, heads)
    from .models.dissonance import DissonanceHead

    return ComposedModel(encoders, heads, DissonanceHead(dissonance["dim"], dissonance["hidden"]), dissonance["input"])


def build_spec(*, features: dict[str, Any], model_name: str, model_kwargs: dict[str, Any],
               scheme: LabelScheme, threshold: Any = 0.5, provenance: dict[str, Any] | None = None,
               inputs: dict[str, Any] | None = None, model_spec: dict[str, Any] | None = None,
               tasks: dict[str, TaskSpec] | None = None, readouts: dict[str, Any] | None = None) -> dict:
    """A format-2 spec. Frozen-feature runs give their features settings (one ``x`` input of
    kind vectors/spectrogram); composed models give ``inputs`` and ``model_spec``."""
    modality = features.get("modality", "text")
    if inputs is None:
        kind = "spectrogram" if modality == "audio" and features.get("encoder") == "logmel" else "vectors"
        inputs = {"x": {"kind": kind, "modality": modality, "features": features}}
    if tasks is None:
        tasks = {"label": TaskSpec("label", "multi_label" if scheme.multi_label else "single_label", scheme, threshold)}
    return {
        "format": FORMAT_VERSION,
        "affectlab_version": __version__,
        "modality": modality,
        "inputs": inputs,
        "model": model_spec or {"name": model_name, "kwargs": model_kwargs},
        "tasks": {name: task.to_dict() for name, task in tasks.items()},
        **({"readouts": readouts} if readouts else {}),
        "provenance": provenance or {},
    }
