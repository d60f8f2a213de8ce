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
from ..evaluation.metrics import regression_metrics
from ..pipeline import Pipeline, TaskSpec, build_spec
from ..devices import pick_device
from ..training import TrainResult
from ..models.composed import DISSONANCE
from ..readouts import has_plutchik_primaries
from ..outputs import output_probs
from ..training.trainer import model_outputs, predict_proba
from .config import ExperimentConfig, dump_config
from .inputs import PreparedRun
from .tasks import PRIMARY, labelled, primary_targets
from .provenance import code_commit, package_versions


#: The task a wheel reading takes its intensity band from, when a run has it.
INTENSITY = "intensity"


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
    y_dev, y_test = (primary_targets(datasets[s]) for s in ("dev", "test"))
    outputs = {s: _outputs(model, datasets[s], data, config) for s in ("dev", "test")}
    primary_rows = {"dev": labelled(_kind(data), y_dev), "test": labelled(_kind(data), y_test)}
    y_dev, y_test = y_dev[primary_rows["dev"]], y_test[primary_rows["test"]]  # all rows, but with sources
    dev_probs = outputs["dev"][PRIMARY][primary_rows["dev"]]
    threshold = None
    if multi_label:
        threshold = float(tune_threshold(y_dev, dev_probs))  # validation only
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.rglob(".*.tmp"):  # left by a writer that was killed mid-write
        stale.unlink(missing_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    dev_report = write_run_report(run_dir / "dev", scheme_classes=data.scheme.classes,
                                  multi_label=multi_label, y_true=y_dev,
                                  probs=dev_probs, split_name="dev", threshold=threshold, plots=False)
    test_probs = outputs["test"][PRIMARY][primary_rows["test"]]
    test_report = write_run_report(run_dir, scheme_classes=data.scheme.classes,
                                   multi_label=multi_label, y_true=y_test,
                                   probs=test_probs, split_name="test", history=fit.history,
                                   threshold=threshold)
    np.save(run_dir / "dev_probs.npy", dev_probs)
    np.save(run_dir / "test_probs.npy", test_probs)
    np.save(run_dir / "test_labels.npy", np.asarray(y_test))
    np.save(run_dir / "dev_labels.npy", np.asarray(y_dev))  # ensembles weigh members on dev
    task_specs, task_reports = further_task_reports(run_dir, data, datasets, outputs)
    if DISSONANCE in outputs["dev"]:
        task_reports[DISSONANCE] = dissonance_report(data, outputs)
        task_specs[DISSONANCE] = TaskSpec(DISSONANCE, "score", None, None, [DISSONANCE])
    by_source = source_reports(run_dir, data, datasets, outputs, threshold, task_specs) if data.sources else {}
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
        **({"tasks": task_reports} if task_reports else {}),
        **({"by_source": by_source} if by_source else {}),
        "split_sizes": {k: len(v) for k, v in datasets.items()},
        "data": {"corpus": data.corpus.name, "fingerprint": data.corpus.fingerprint(), **data.notes},
        # per-row arrays (the audio valid-row index) stay out: `skipped` lists those rows by uid
        "features": {k: v for k, v in prepared.features.info.items() if not isinstance(v, np.ndarray)},
        "timing_s": {"train": fit.seconds, "total": time.perf_counter() - started},
        "versions": package_versions(),
        "git_commit": code_commit(),
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
                          inputs=inputs, model_spec=model_spec,
                          tasks={PRIMARY: TaskSpec(PRIMARY, "multi_label" if multi_label else "single_label",
                                                   data.scheme, threshold or 0.5), **task_specs}
                          if task_specs else None,
                          readouts=pipeline_readouts(data, outputs["dev"], threshold, task_specs))
        Pipeline(spec, model.cpu(), data.scheme, prepared.features.idf, device="cpu").save(run_dir / "pipeline")
        results["pipeline"] = str(run_dir / "pipeline")
    write_json(run_dir / "results.json", results)
    return RunResult(run_dir, results)


def pipeline_readouts(data, dev_outputs, threshold, task_specs) -> dict[str, Any]:
    """What the pipeline derives after its forward pass: a Plutchik primary task gets the wheel
    reading, its intensity bands the tertiles of the intensity head's dev predictions."""
    if not (data.scheme.multi_label and has_plutchik_primaries(data.scheme.classes)):
        return {}
    wheel: dict[str, Any] = {"task": PRIMARY, "threshold": threshold if threshold is not None else 0.5}
    if INTENSITY in task_specs and task_specs[INTENSITY].kind == "regression":
        cuts = np.quantile(dev_outputs[INTENSITY][:, 0], [1 / 3, 2 / 3])
        wheel["intensity"] = INTENSITY
        if 0.0 < cuts[0] < cuts[1] <= 1.0:
            wheel["bands"] = [round(float(c), 4) for c in cuts]
    return {"wheel": wheel}


def _outputs(model, dataset, data, config: ExperimentConfig) -> dict[str, np.ndarray]:
    """Every task's probabilities (values, for regression) on one split. A single-task run
    keeps the single-output path, so frozen-head figures stay bit-identical."""
    multi_label = data.scheme.multi_label
    # a trainable encoder is scored where it trained (a GPU run would crawl on one CPU thread);
    # frozen heads stay on the CPU, so their recorded figures stay bit-identical
    device = pick_device(config.training.device) if config.model.encoder is not None else "cpu"
    if not data.tasks and config.model.dissonance is None:
        return {PRIMARY: predict_proba(model, dataset, multi_label, device)}
    raw = model_outputs(model, dataset, device, config.training.eval_batch_size, PRIMARY)
    kinds = {PRIMARY: _kind(data), **{name: task.kind for name, task in data.tasks.items()}}
    out = {name: output_probs(kind, raw[name]).cpu().numpy() for name, kind in kinds.items()}
    for name, task in data.tasks.items():
        if task.bounds is not None:  # as the pipeline reports them
            out[name] = np.clip(out[name], *task.bounds)
    if DISSONANCE in raw:
        out[DISSONANCE] = raw[DISSONANCE].float().cpu().numpy()
    return out


def _kind(data) -> str:
    return "multi_label" if data.scheme.multi_label else "single_label"


def source_reports(run_dir: Path, data, datasets, outputs, threshold, task_specs) -> dict[str, Any]:
    """Every task's dev/test figures on each corpus's own rows (``sources/<corpus>/<task>/``):
    what a per-dataset comparison reads (XED micro/macro-F1, MELD weighted-F1, ...)."""
    table = data.corpus.table
    split = table["split"].to_numpy()
    tasks = {PRIMARY: (_kind(data), data.scheme, threshold or 0.5),
             **{n: (t.kind, t.scheme, task_specs[n].threshold) for n, t in data.tasks.items()}}
    out: dict[str, Any] = {}
    for source in data.sources:
        for name, (kind, scheme, cut) in tasks.items():
            for part in ("dev", "test"):
                rows = table["source"].to_numpy()[split == part] == source
                y = np.asarray(datasets[part].targets(PRIMARY)[name])[rows]
                keep = labelled(kind, y)
                if not keep.any():
                    continue
                values = outputs[part][name][rows][keep]
                if kind == "regression":
                    figures = regression_metrics(y[keep], values, data.tasks[name].outputs)
                else:
                    figures = write_run_report(run_dir / "sources" / source / name / part, scheme_classes=scheme.classes,
                                               multi_label=kind == "multi_label", y_true=y[keep], probs=values,
                                               split_name=f"{part} ({source})", plots=False,
                                               threshold=cut if kind == "multi_label" else None)
                out.setdefault(source, {}).setdefault(name, {})[part] = figures
    return out


def dissonance_report(data, outputs) -> dict[str, Any]:
    """The dissonance score's mean and spread on rows with context, per split (and corpus)."""
    table = data.corpus.table
    report: dict[str, Any] = {}
    for part in ("dev", "test"):
        scores = outputs[part][DISSONANCE][:, 0]
        groups = {"all": np.ones(len(scores), dtype=bool)}
        if data.sources:
            names = table["source"].to_numpy()[table["split"].to_numpy() == part]
            groups.update({name: names == name for name in data.sources})
        for group, rows in groups.items():
            values = scores[rows][np.isfinite(scores[rows])]
            if len(values):
                report.setdefault(part, {})[group] = {"rows_with_context": int(len(values)),
                                                      "mean": float(values.mean()), "sd": float(values.std())}
    return report


def further_task_reports(run_dir: Path, data, datasets, outputs) -> tuple[dict[str, TaskSpec], dict[str, Any]]:
    """Reports of every further task on its labelled dev and test rows (``tasks/<name>/``);
    multi-label thresholds are tuned on dev. Returns the pipeline's task specs and the figures."""
    specs, reports = {}, {}
    for name, task in data.tasks.items():
        threshold, figures = 0.5, {}
        for split in ("dev", "test"):
            y = datasets[split].targets(PRIMARY)[name]
            present = labelled(task.kind, y)
            if not present.any():  # e.g. only a train-only corpus labels this task
                continue
            probs = outputs[split][name][present]
            if task.kind == "regression":
                figures[split] = regression_metrics(y[present], probs, task.outputs)
                continue
            if task.kind == "multi_label" and split == "dev":
                threshold = float(tune_threshold(y[present], probs))
            figures[split] = write_run_report(
                run_dir / "tasks" / name / split, scheme_classes=task.scheme.classes,
                multi_label=task.kind == "multi_label", y_true=y[present], probs=probs, split_name=split,
                threshold=threshold if task.kind == "multi_label" else None, plots=False)
        figures["rows"] = {s: int(labelled(task.kind, datasets[s].targets(PRIMARY)[name]).sum()) for s in ("dev", "test")}
        reports[name] = figures
        specs[name] = TaskSpec(name, task.kind, task.scheme, threshold, task.outputs, task.bounds)
    return specs, reports


def run_scheme(run_dir: str | Path):
    """The label scheme a finished run predicts, rebuilt from its saved config — also a scheme
    the config declared itself (``labels.classes``), which no registry knows."""
    from ..labels import scheme_and_mapping
    from .config import load_config

    scheme, mapping = scheme_and_mapping(load_config(Path(run_dir) / "config.yaml").labels)
    return mapping.target_scheme() if mapping is not None else scheme
