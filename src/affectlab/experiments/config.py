"""The one typed experiment config (pydantic), loaded from YAML; unknown keys are errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, DataNotFoundError
from ..training.trainer import TrainingConfig


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
    (e.g. ``labeller: vader->vader7`` with ``labeller_options: {thresholds: [...]}``)."""

    scheme: str
    column: str = "label"
    mapping: str | None = None
    labeller: str | None = None
    labeller_options: dict[str, Any] = Field(default_factory=dict)


class FeaturesConfig(_Strict):
    encoder: str = "default"
    mode: Literal["flat", "hierarchical"] = "flat"
    layers: str = "avg_last4"
    pooling: str = "mean"
    max_length: int = Field(128, ge=8)
    max_sentences: int = Field(8, ge=1)
    context: int = Field(0, ge=0, description="previous dialogue turns fed with each utterance (flat mode)")
    batch_size: int = Field(64, ge=1)
    device: str = "auto"
    cache_dir: str | None = None


class ModelConfig(_Strict):
    name: str = "mlp"
    hidden: int = Field(256, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    aggregator: str = "mean"


class LossConfig(_Strict):
    name: str = "ce"
    class_weighting: Literal["none", "balanced"] = "none"
    weight_clip: float | None = 10.0
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    gamma: float | None = None


class ExperimentConfig(_Strict):
    name: str = "experiment"
    data: DataConfig
    labels: LabelsConfig
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    seed: int = 42


def _format_validation(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"{where}: {message}")
    return f"invalid config {source}: " + "; ".join(problems)


def config_from_dict(data: dict[str, Any], source: str = "") -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation(error, source)) from None


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
                  ("features", "device"))


def config_identity(config: ExperimentConfig) -> dict[str, Any]:
    """The config as data without machine-specific fields: what run and config hashes cover."""
    data = config.model_dump(mode="json")
    for section, key in MACHINE_FIELDS:
        data[section].pop(key, None)
    return data


def dump_config(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
