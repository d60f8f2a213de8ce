"""Evaluate a trained model on dev and test and write the run directory (reports, arrays,
``results.json``, the pipeline)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_json, write_text
from ..evaluation.metrics import tune_threshold
from ..evaluation.reports import write_run_report
from ..pipeline import Pipeline, build_spec
from ..training import TrainResult
from ..training.trainer import predict_proba
from .config import ExperimentConfig, dump_config
from .inputs import PreparedRun
from .provenance import git_commit, package_versions


@dataclass
class RunResult:
    run_dir: Path
    results: dict[str, Any]
    skipped: bool = False


def finish_run(config: ExperimentConfig, run_dir: Path, prepared: PreparedRun, model,
               model_kwargs: dict[str, Any], fit: TrainResult, started: float,
               save_pipeline: bool = True, extra: dict[str, Any] | None = None) -> RunResult:
    """Evaluate a trained model and write the run directory; ``results.json`` is written last,
    so a run directory without it is unfinished and will be redone."""
    data, datasets, fc = prepared.data, prepared.datasets, config.features
    multi_label = data.scheme.multi_label
    dev_probs = predict_proba(model, datasets["dev"], multi_label)
    threshold = None
    if multi_label:
        threshold = float(tune_threshold(datasets["dev"].y, dev_probs))  # validation only
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.rglob(".*.tmp"):  # left by a writer that was killed mid-write
        stale.unlink(missing_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    dev_report = write_run_report(run_dir / "dev", scheme_classes=data.scheme.classes,
                                  multi_label=multi_label, y_true=datasets["dev"].y,
                                  probs=dev_probs, split_name="dev", threshold=threshold, plots=False)
    test_probs = predict_proba(model, datasets["test"], multi_label)
    test_report = write_run_report(run_dir, scheme_classes=data.scheme.classes,
                                   multi_label=multi_label, y_true=datasets["test"].y,
                                   probs=test_probs, split_name="test", history=fit.history,
                                   threshold=threshold)
    np.save(run_dir / "dev_probs.npy", dev_probs)
    np.save(run_dir / "test_probs.npy", test_probs)
    np.save(run_dir / "test_labels.npy", np.asarray(datasets["test"].y))
    np.save(run_dir / "dev_labels.npy", np.asarray(datasets["dev"].y))  # ensembles weigh members on dev
    results = {
        "run_id": run_dir.name,
        "name": config.name,
        "status": "done",
        "seed": config.seed,
        "scheme": data.scheme.name,
        "variant": {"modality": fc.modality, "encoder": fc.encoder, "layers": fc.layers,
                    "pooling": fc.pooling, "mode": fc.mode, "context": fc.context},
        "model": config.model.name,
        "best_epoch": fit.best_epoch,
        "epochs_run": len(fit.history),
        "monitor": config.training.monitor,
        "best_val_score": fit.best_score,
        "threshold": threshold,
        "dev": dev_report,
        "test": test_report,
        "split_sizes": {k: len(v) for k, v in datasets.items()},
        "data": {"corpus": data.corpus.name, "fingerprint": data.corpus.fingerprint(), **data.notes},
        # per-row arrays (the audio valid-row index) stay out: `skipped` lists those rows by uid
        "features": {k: v for k, v in prepared.features.info.items() if not isinstance(v, np.ndarray)},
        "timing_s": {"train": fit.seconds, "total": time.perf_counter() - started},
        "versions": package_versions(),
        "git_commit": git_commit(),
        **(extra or {}),
    }
    if save_pipeline:
        inputs, model_spec = None, None
        if config.model.encoder is not None:  # composed: token windows → encoder → heads
            from .inputs import token_window

            inputs = {"text": {"kind": "tokens", "name": "text", "modality": "text",
                               "encoder": config.model.encoder.path, "window": token_window(config).to_dict()}}
            model_spec = model_kwargs
        spec = build_spec(features=fc.model_dump(mode="json"), model_name=config.model.name,
                          model_kwargs=model_kwargs, scheme=data.scheme, threshold=threshold or 0.5,
                          provenance={"run_id": run_dir.name, "corpus": data.corpus.name,
                                      "test_weighted_f1": test_report.get("weighted_f1"),
                                      "test_macro_f1": test_report.get("macro_f1")},
                          inputs=inputs, model_spec=model_spec)
        Pipeline(spec, model.cpu(), data.scheme, prepared.features.idf, device="cpu").save(run_dir / "pipeline")
        results["pipeline"] = str(run_dir / "pipeline")
    write_json(run_dir / "results.json", results)
    return RunResult(run_dir, results)

