"""Run one experiment: prepare data (``data``) → inputs (``inputs``) → parts (``parts``) →
trainer → reports and pipeline (``results``)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .._io import stable_hash
from ..training import Trainer, distributed, seed_everything
from ..training.checkpoint import remove_checkpoint
from .config import ExperimentConfig, config_identity
from .data import PreparedData, prepare_data
from .inputs import PreparedRun, extract_for, feature_variant, make_datasets, prepare_run
from .parts import build_augment, build_callbacks, build_loss_for, build_model, build_objective
from .results import RunResult, finish_run

__all__ = ["PreparedData", "PreparedRun", "RunResult", "build_augment", "build_loss_for", "build_model",
           "extract_for", "feature_variant", "finish_run", "is_finished", "load_results", "make_datasets",
           "prepare_data", "prepare_run", "run_experiment", "run_id"]

def run_id(config: ExperimentConfig) -> str:
    """Runs are named by a hash of their resolved config (the data root is not part of it)."""
    return f"{config.name}-{stable_hash(config_identity(config), 10)}"


def is_finished(run_dir: Path) -> bool:
    return (run_dir / "results.json").is_file()


def load_results(run_dir: Path) -> dict[str, Any]:
    import json

    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def run_experiment(config: ExperimentConfig, *, data_root: str | Path | None = None,
                   out_dir: str | Path = "runs", force: bool = False,
                   prepared: PreparedRun | None = None, save_pipeline: bool = True,
                   extra: dict[str, Any] | None = None) -> RunResult:
    """Train and evaluate one configuration; write its run directory. A finished run is not
    repeated unless ``force`` (its results are returned instead); an interrupted one resumes
    from its last epoch checkpoint (``<run>/checkpoint/``). Under ``torchrun`` every process
    trains its share of each batch and the first one writes the run directory."""
    run_dir = Path(out_dir) / run_id(config)
    if is_finished(run_dir) and not force:
        return RunResult(run_dir, load_results(run_dir), skipped=True)
    checkpoints = run_dir / "checkpoint"
    if force:
        remove_checkpoint(checkpoints)
    distributed.init_from_env()
    started = time.perf_counter()
    prepared = prepared or prepare_run(config, data_root)
    generator = seed_everything(config.seed)
    model, model_kwargs = build_model(config, prepared.input_dim, len(prepared.data.scheme),
                                      {name: t.width for name, t in prepared.data.tasks.items()},
                                      prepared.features.info.get("added_tokens"))
    trainer = Trainer(model, build_objective(config, prepared), config.training, multi_label=prepared.data.scheme.multi_label,
                      augment=build_augment(config), generator=generator, callbacks=build_callbacks(config, model))
    fit = trainer.fit(prepared.datasets["train"], prepared.datasets["dev"], checkpoint_dir=checkpoints)
    if not distributed.is_main():
        distributed.barrier()
        return RunResult(run_dir, {}, skipped=True)
    result = finish_run(config, run_dir, prepared, trainer.model, model_kwargs, fit, started,
                        save_pipeline=save_pipeline,
                        extra={**(extra or {}), **({"resumed_from_epoch": fit.resumed_from} if fit.resumed_from else {})})
    remove_checkpoint(checkpoints)
    distributed.barrier()
    return result
