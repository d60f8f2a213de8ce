"""Cross-validation: one run per fold (``data.split.options.fold: all``), then mean ± sd.

Each fold is an ordinary run (its own directory, resumable, with a pipeline); the summary
pools nothing into training: it reports every fold, the mean and sd over folds, and one
confusion matrix over all test predictions (each utterance is tested exactly once).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_json, write_text
from ..corpora import load_corpus
from ..errors import ConfigError
from ..evaluation.metrics import format_metric, metric_names
from ..evaluation.tables import markdown_table
from .config import ExperimentConfig
from .data import console
from .runner import RunResult, run_experiment, run_id

#: Metrics summarised over folds: those single-label runs record (WA = accuracy, UA = uar).
CV_METRICS = tuple(metric_names(multi_label=False))


@dataclass
class CVResult:
    cv_dir: Path
    folds: list[RunResult]
    summary: dict[str, Any]


def is_cross_validation(config: ExperimentConfig) -> bool:
    return config.data.split.options.get("fold") == "all"


def count_folds(config: ExperimentConfig, data_root: str | Path | None = None) -> int:
    """How many folds ``fold: all`` means for this splitter."""
    options, name = config.data.split.options, config.data.split.name
    if "folds" in options:
        return len(options["folds"])
    if "n_folds" in options:
        return int(options["n_folds"])
    corpus = load_corpus(config.data.corpus, data_root or config.data.data_root, **config.data.options)
    default = corpus.meta.get("default_split", {}) if name == "predefined" else {}
    if name == "group_folds" or default.get("name") == "group_folds":
        folds = default.get("options", {}).get("folds") or corpus.meta.get("folds")
        if folds:
            return len(folds)
    if default.get("options", {}).get("n_folds"):
        return int(default["options"]["n_folds"])
    if name in ("group_kfold", "stratified_kfold"):
        return 5  # the splitters' default
    raise ConfigError(f"fold: all needs a k-fold splitter (group_folds, group_kfold, stratified_kfold); "
                      f"split {name!r} has no folds")


def fold_config(config: ExperimentConfig, fold: int) -> ExperimentConfig:
    data = config.model_dump()
    data["data"]["split"]["options"]["fold"] = fold
    data["name"] = f"{config.name}-fold{fold}"
    return ExperimentConfig.model_validate(data)


def run_cross_validation(config: ExperimentConfig, *, data_root: str | Path | None = None,
                         out_dir: str | Path = "runs", force: bool = False) -> CVResult:
    """Run every fold of ``config`` (finished folds are reused) and write the summary to
    ``<out_dir>/<cv id>/``: ``cv_results.json``, ``cv_report.md`` and a pooled confusion matrix."""
    if not is_cross_validation(config):
        raise ConfigError("run_cross_validation needs data.split.options.fold: all")
    cv_dir = Path(out_dir) / run_id(config)
    folds = []
    k = count_folds(config, data_root)
    for fold in range(k):
        console.print(f"[bold]fold {fold + 1}/{k}[/bold]", highlight=False)
        folds.append(run_experiment(fold_config(config, fold), data_root=data_root,
                                    out_dir=cv_dir / "folds", force=force))
    summary = summarise_folds(config, folds)
    write_json(cv_dir / "cv_results.json", summary)
    write_text(cv_dir / "cv_report.md", cv_markdown(summary))
    _pooled_report(cv_dir, folds)
    return CVResult(cv_dir, folds, summary)


def mean_sd(values) -> dict[str, float]:
    """Mean and sample sd over folds (sd 0 for a single fold)."""
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}


def summarise_folds(config: ExperimentConfig, folds: list[RunResult]) -> dict[str, Any]:
    rows = []
    for fold, result in enumerate(folds):
        r = result.results
        rows.append({"fold": fold, "run_id": r["run_id"], "best_epoch": r["best_epoch"],
                     **{f"test_{m}": r["test"].get(m) for m in CV_METRICS},
                     **{f"dev_{m}": r["dev"].get(m) for m in CV_METRICS}})
    stats = {}
    for split in ("test", "dev"):
        for metric in CV_METRICS:
            values = [row[f"{split}_{metric}"] for row in rows if row[f"{split}_{metric}"] is not None]
            if values:
                stats[f"{split}_{metric}"] = mean_sd(values)
    return {"name": config.name, "run_id": run_id(config), "n_folds": len(folds),
            "split": config.data.split.model_dump(), "folds": rows, "summary": stats}


def cv_markdown(summary: dict[str, Any]) -> str:
    headers = ["fold", *(f"test {m}" for m in CV_METRICS), "dev macro_f1", "best epoch"]
    rows = [[row["fold"], *(format_metric(m, row[f"test_{m}"]) for m in CV_METRICS),
             format_metric("macro_f1", row["dev_macro_f1"]), row["best_epoch"]] for row in summary["folds"]]
    stats = summary["summary"]
    rows.append(["**mean ± sd**", *(f"**{format_metric(m, stats[f'test_{m}']['mean'])} ± "
                                    f"{format_metric(m, stats[f'test_{m}']['sd'])}**" for m in CV_METRICS),
                 format_metric("macro_f1", stats["dev_macro_f1"]["mean"]), ""])
    lines = [f"# {summary['name']}: {summary['n_folds']}-fold cross-validation", "", markdown_table(headers, rows)]
    lines += ["", "WA = accuracy, UA = uar (unweighted average recall). Test folds never chose anything: "
              "epochs were picked on each fold's dev speakers."]
    return "\n".join(lines) + "\n"


def _pooled_report(cv_dir: Path, folds: list[RunResult]) -> None:
    """One report over all folds' test predictions: each utterance appears once."""
    from ..evaluation.reports import write_run_report
    from .results import run_scheme

    probs, truth = [], []
    for result in folds:
        probs.append(np.load(result.run_dir / "test_probs.npy"))
        truth.append(np.load(result.run_dir / "test_labels.npy"))
    scheme = run_scheme(folds[0].run_dir)
    write_run_report(cv_dir / "pooled", scheme_classes=scheme.classes, multi_label=scheme.multi_label,
                     y_true=np.concatenate(truth), probs=np.concatenate(probs), split_name="test (all folds)")
