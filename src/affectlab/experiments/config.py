"""The one typed experiment config (pydantic), loaded from YAML; unknown keys are errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..errors import AffectLabError, ConfigError, DataNotFoundError
from ..models.text_encoder import EncoderConfig
from ..training.trainer import TrainingConfig
from .validate import validate_names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitConfig(_Strict):
    name: str = "predefined"
    options: dict[str, Any] = Field(default_factory=dict)


class DataConfig(_Strict):
    corpus: str
    options: dict[str, Any] = Field(default_factory=dict)
    data_root: str | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)


class LabelsConfig(_Strict):
    """Where targets come from: a raw column (optionally mapped) or a labeller run on the text
    (e.g. ``labeller: vader->vader7`` with ``labeller_options: {thresholds: [...]}``).

    ``classes`` declares your own label set (``scheme`` is then its name, not looked up);
    ``map`` sends raw values to a class, a list of classes (multi-label) or null (drop the
    row); ``aliases`` are other spellings of a class; ``multi_label`` defaults to the
    scheme's own setting (declared schemes: true when a ``map`` value is a list). See
    ``affectlab.labels.from_config``."""

    scheme: str
    column: str = "label"
    mapping: str | None = None
    labeller: str | None = None
    labeller_options: dict[str, Any] = Field(default_factory=dict)
    classes: list[str] | None = None
    multi_label: bool | None = None
    map: dict[str, str | list[str] | None] | None = None
    aliases: dict[str, str] | None = None

    @field_validator("classes", "map", "aliases", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        """YAML reads ``1: joy`` or ``classes: [0, 1]`` as numbers: labels are compared as text."""
        def text(v: Any) -> Any:
            return str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, (int, float)) else v
        if isinstance(value, dict):
            return {text(k): [text(x) for x in v] if isinstance(v, list) else text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    @model_validator(mode="after")
    def _declared_labels_are_consistent(self) -> "LabelsConfig":
        if self.classes is not None or self.map or self.aliases or self.multi_label is not None:
            from ..labels.from_config import scheme_and_mapping

            try:
                scheme_and_mapping(self)
            except AffectLabError as error:
                raise PydanticCustomError("labels", str(error)) from None
        return self


class AudioOptions(_Strict):
    """How clips are read before a front-end sees them (``features.modality: audio``)."""

    preset: str = "ravdess"  # log-mel settings (features.logmel.PRESETS)
    max_seconds: float | None = Field(4.0, gt=0, description="clips are cropped/padded to this length")
    trim_silence: bool = False  # silero-vad: keep first to last speech
    on_error: Literal["raise", "skip"] = "raise"  # a corrupt/empty/silent file: stop, or drop and count


class FeaturesConfig(_Strict):
    """``encoder`` names the extractor: a text encoder (``default`` or a local HF directory) or,
    with ``modality: audio``, ``logmel``, ``egemaps``, ``compare``, ``whisper-tiny.en`` or a
    local HF speech-encoder directory."""

    modality: Literal["text", "audio"] = "text"
    encoder: str = "default"
    mode: Literal["flat", "hierarchical"] = "flat"
    layers: str = "avg_last4"
    pooling: str = "mean"
    max_length: int = Field(128, ge=8)
    max_sentences: int = Field(8, ge=1)
    context: int = Field(0, ge=0, description="previous dialogue turns fed with each utterance (flat mode)")
    future: int = Field(0, ge=0, description="following dialogue turns in a trainable encoder's input "
                        "(offline analysis only: a live conversation has no future)")
    speakers: bool = Field(True, description="trainable encoders: prefix each turn with its speaker's name")
    tags: list[str] = Field(default_factory=list, description="trainable encoders: columns (scenario, "
                            "topic) whose value is one special token after [CLS], e.g. [scenario=work]")
    batch_size: int = Field(64, ge=1)
    device: str = "auto"
    cache_dir: str | None = None
    audio: AudioOptions = Field(default_factory=AudioOptions)


class DissonanceConfig(_Strict):
    """``model.dissonance``: a head that predicts the current turn's vector from its previous
    turns' and scores how far the actual one departs (``models.dissonance``); self-supervised,
    trained on rows with context."""

    weight: float = Field(0.5, gt=0, description="its loss weight in the total")
    hidden: int = Field(256, ge=1)


class ModelConfig(_Strict):
    name: str = "mlp"
    hidden: int = Field(256, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    aggregator: str = "mean"
    options: dict[str, Any] = Field(default_factory=dict, description="further arguments of the model factory")
    encoder: EncoderConfig | None = Field(None, description="a trainable text encoder (fine-tuned in full, "
                                          "with LoRA, or frozen) under the head named by ``name``")
    dissonance: DissonanceConfig | None = Field(None, description="trainable encoders with dialogue context: "
                                                "add the context-vs-current dissonance score (output `dissonance`)")


class LossConfig(_Strict):
    """``ce`` (the default) reads as ``bce`` for a multi-label scheme; ``focal`` is single-label."""

    name: str = "ce"
    class_weighting: Literal["none", "balanced"] = "none"
    weight_clip: float | None = 10.0
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    gamma: float | None = None


class SpecAugmentConfig(_Strict):
    """Frequency and time masks on training spectrograms (Park et al. 2019); 0 masks = off."""

    freq_masks: int = Field(0, ge=0)
    freq_width: int = Field(0, ge=0)
    time_masks: int = Field(0, ge=0)
    time_width: int = Field(0, ge=0)


class SpecStretchConfig(_Strict):
    """Random time and frequency stretch of training spectrograms (speed perturbation / VTLP-like):
    each factor is drawn from [1 - x, 1 + x]; 0 = off."""

    time: float = Field(0.0, ge=0, lt=1)
    freq: float = Field(0.0, ge=0, lt=1)


class AugmentConfig(_Strict):
    """Training-batch augmentation; stretch runs before the SpecAugment masks."""

    spec_augment: SpecAugmentConfig = Field(default_factory=SpecAugmentConfig)
    stretch: SpecStretchConfig = Field(default_factory=SpecStretchConfig)


class TargetConfig(_Strict):
    """Where one task's targets come from in one corpus: a classification over ``labels`` or a
    regression over numeric ``values`` columns."""

    labels: LabelsConfig | None = None
    values: list[str] | None = Field(None, description="numeric columns this task regresses (MSE)")
    value_range: tuple[float, float] | None = Field(
        None, description="values: the scale's ends (e.g. [1, 5]); targets are rescaled to [0, 1] and "
                          "predictions clipped to it, so corpora on different scales share one task")

    @property
    def declared(self) -> bool:
        return self.labels is not None or bool(self.values)

    @model_validator(mode="after")
    def _at_most_one_target(self) -> "TargetConfig":
        if self.labels is not None and self.values:
            raise PydanticCustomError("task", "give a task either labels (classification) or values "
                                      "(a list of numeric columns to regress), not both")
        if self.value_range is not None and (not self.values or self.value_range[0] >= self.value_range[1]):
            raise PydanticCustomError("task", "value_range needs values and two increasing numbers [low, high]")
        return self


class TaskConfig(TargetConfig):
    """A further prediction target beside ``labels`` (task ``label``): a classification over
    its own ``labels`` or a regression over ``values`` columns of ``data``'s corpus — or neither,
    when only ``sources`` label it; a row without a value for it is left out of its loss and
    reports only (``experiments.tasks``)."""

    loss: LossConfig = Field(default_factory=LossConfig)
    weight: float = Field(1.0, gt=0, description="this task's loss weight in the total")
    adversarial: bool = Field(False, description="a gradient-reversal layer in front of this task's head: "
                              "the encoder learns to remove what the head predicts (e.g. the source domain)")
    coefficient: float = Field(1.0, gt=0, description="adversarial: the reversal's final strength")
    ramp_epochs: int = Field(2, ge=0, description="adversarial: epochs over which the strength rises from 0 "
                             "(Ganin & Lempitsky's schedule); 0 = full strength from the start")


class SourceConfig(_Strict):
    """A further corpus in the run (``sources:``): its rows train, and are evaluated on, the
    tasks it labels (``label`` is the primary task); every other task is missing on them."""

    name: str | None = Field(None, description="its value in the `source` column (default: the corpus name)")
    data: DataConfig
    labels: dict[str, TargetConfig] = Field(description="task -> this corpus's targets for it")
    oversample: int | None = Field(None, ge=1, description="pinned examples: every row appears this many "
                                   "times in every epoch, outside the per-source sampling")

    @property
    def source_name(self) -> str:
        return self.name or self.data.corpus


class SamplingConfig(_Strict):
    """How an epoch draws rows from several corpora (``sources:``): each group (a corpus, or
    with ``by: task`` the rows of a task) contributes ``min(rows, cap)``; with ``temperature``
    T > 1 the shares flatten towards uniform (p ∝ n^(1/T)), so a small corpus or task is not
    drowned by a large one."""

    temperature: float = Field(1.0, ge=1.0)
    cap: int | None = Field(None, ge=1, description="at most this many rows of one group per epoch")
    by: Literal["corpus", "task"] = Field("corpus", description="the groups that share an epoch: corpora, or "
                                          "tasks (the rows labelling each non-adversarial task; a row may "
                                          "count for several)")


class ExperimentConfig(_Strict):
    name: str = "experiment"
    data: DataConfig
    labels: LabelsConfig
    tasks: dict[str, TaskConfig] = Field(
        default_factory=dict, description="further tasks, each with its own head on a composed model")
    sources: list[SourceConfig] = Field(
        default_factory=list, description="further corpora, each labelling some of the tasks")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    seed: int = 42

    @model_validator(mode="after")
    def _tasks_have_heads(self) -> "ExperimentConfig":
        if self.tasks and self.model.encoder is None:
            raise PydanticCustomError("tasks", "tasks need a composed model: set model.encoder (finetune: "
                                      "full, lora, or frozen) so each task gets a head on it")
        if "label" in self.tasks:
            raise PydanticCustomError("tasks", "'label' is the task `labels` describes; name further tasks otherwise")
        if self.features.tags and self.model.encoder is None:
            raise PydanticCustomError("tags", "features.tags feed a trainable encoder's token window: set model.encoder")
        if self.sources and self.model.encoder is None:
            raise PydanticCustomError("sources", "sources need a composed model: set model.encoder")
        if self.model.dissonance is not None and (self.model.encoder is None or not self.features.context):
            raise PydanticCustomError("dissonance", "model.dissonance compares a turn with its previous turns: "
                                      "set model.encoder and features.context (previous turns, e.g. 2)")
        if "dissonance" in self.tasks and self.model.dissonance is not None:
            raise PydanticCustomError("tasks", "'dissonance' is model.dissonance's output; name the task otherwise")
        names = [self.data.corpus, *(s.source_name for s in self.sources)]
        if len(set(names)) != len(names):
            raise PydanticCustomError("sources", f"source names must differ (data's corpus and every source; "
                                      f"give a source a name:), got {names}")
        for source in self.sources:
            unknown = sorted(set(source.labels) - {"label", *self.tasks})
            if unknown:
                raise PydanticCustomError("sources", f"source {source.source_name!r} labels {unknown}, which are not "
                                          f"tasks: declare them under tasks: (known: label, {', '.join(self.tasks)})")
            empty = sorted(t for t, target in source.labels.items() if not target.declared)
            if empty:
                raise PydanticCustomError("sources", f"source {source.source_name!r}: give labels or values for {empty}")
        for name, task in self.tasks.items():
            if not task.declared and not any(name in s.labels for s in self.sources):
                raise PydanticCustomError("tasks", f"task {name!r} has no targets: give it labels or values, or "
                                          "label it in a source")
        return self


def _format_validation(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"{where}: {message}")
    return f"invalid config {source}: " + "; ".join(problems)


def config_from_dict(data: dict[str, Any], source: str = "") -> ExperimentConfig:
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation(error, source)) from None
    validate_names(config, source)  # registry names too: a misspelt grid axis fails at load time
    return config


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """A YAML file that must hold a mapping; every failure is one clear ``AffectLabError``."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{what} file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def load_config(path: str | Path) -> ExperimentConfig:
    return config_from_dict(read_yaml_mapping(path, "config"), str(path))


#: Settings that say where or how visibly a run happens, not what it computes.
MACHINE_FIELDS = (("data", "data_root"), ("training", "progress"), ("training", "device"),
                  ("features", "device"), ("training", "checkpoint_every"))


#: Fields added after runs existed: left out of the identity while they hold their default, so
#: adding an option never renames (and re-runs) finished runs. A new field goes here.
ADDED_FIELDS = (("features", "modality"), ("features", "audio"), ("training", "mixup_alpha"),
                ("augment",), ("model", "options"), ("training", "precision"), ("augment", "stretch"),
                ("training", "encoder_lr"), ("training", "no_decay_norm_bias"), ("training", "accumulate"),
                ("training", "scheduler_interval"), ("training", "warmup_ratio"),
                ("training", "bucket_by_length"), ("training", "eval_batch_size"))
#: Trainable encoders and their token windows.
ADDED_FIELDS += (("model", "encoder"), ("features", "future"), ("features", "speakers"), ("features", "tags"))

#: Further tasks beside ``labels``.
ADDED_FIELDS += (("tasks",),)

#: Further corpora and how an epoch samples them.
ADDED_FIELDS += (("sources",), ("sampling",))

#: The dissonance head.
ADDED_FIELDS += (("model", "dissonance"),)
#: Fields added to ``tasks`` entries and ``sources[].labels`` entries, left out at their default.
ADDED_TARGET_FIELDS = {"value_range": None}

#: A config's own label set (``affectlab.labels.from_config``).
ADDED_FIELDS += (("labels", "classes"), ("labels", "multi_label"), ("labels", "map"), ("labels", "aliases"))

#: Per-task sampling.
ADDED_FIELDS += (("sampling", "by"),)


def config_identity(config: ExperimentConfig) -> dict[str, Any]:
    """The config as data without machine-specific fields: what run and config hashes cover."""
    data = config.model_dump(mode="json")
    for section, key in MACHINE_FIELDS:
        data[section].pop(key, None)
    defaults = _defaults()
    for path in ADDED_FIELDS:
        holder, default_holder = data, defaults
        for part in path[:-1]:
            holder, default_holder = holder.get(part, {}), default_holder.get(part, {})
        if path[-1] in holder and holder[path[-1]] == default_holder.get(path[-1]):
            del holder[path[-1]]
    targets = [*data.get("tasks", {}).values(), *(t for s in data.get("sources", []) for t in s["labels"].values())]
    for target in targets:
        for key, default in ADDED_TARGET_FIELDS.items():
            if key in target and target[key] == default:
                del target[key]
    return data


def _defaults() -> dict[str, Any]:
    """Every section at its defaults (``data`` and ``labels`` have required fields: left out)."""
    return {"tasks": {}, "sources": [], "sampling": SamplingConfig().model_dump(mode="json"), "features": FeaturesConfig().model_dump(mode="json"),
            "model": ModelConfig().model_dump(mode="json"),
            "training": TrainingConfig().model_dump(mode="json"),
            "augment": AugmentConfig().model_dump(mode="json")}


def dump_config(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
