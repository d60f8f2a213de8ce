"""Ensembles of cross-validated runs: per fold, average the members' probabilities.

Members are CV directories over the same folds (e.g. one config under several seeds, or
several configs). Fold by fold, ``mean`` averages them uniformly and ``weighted`` picks
weights on that fold's dev speakers only (``evaluation.analysis.ensemble``); the test folds
are combined with those weights and scored, never consulted. The summary has the same shape
as ``cv_results.json`` so ensembles and single models compare in one table.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._io import write_json, write_text
from ..errors import AffectLabError
from ..evaluation import analysis as A
from ..evaluation.metrics import classification_metrics, format_metric, metric_info, predict
from ..evaluation.tables import format_mean_sd, markdown_table
from .config import load_config
from .cv import CV_METRICS, mean_sd
from .results import run_scheme
from .runner import prepare_run
from .tasks import primary_targets

METHODS = ("mean", "weighted")


def _load_cv(cv_dir: Path) -> dict[str, Any]:
    path = cv_dir / "cv_results.json"
    if not path.is_file():
        raise AffectLabError(f"{cv_dir} is not a finished cross-validation (no cv_results.json; "
                             "run the config with data.split.options.fold: all first)")
    return json.loads(path.read_text())


def _dev_labels(fold_dir: Path, data_root: str | Path | None) -> np.ndarray:
    """Saved with the run since dev_labels.npy exists; older runs rebuild them from their config."""
    saved = fold_dir / "dev_labels.npy"
    if saved.is_file():
        return np.load(saved)
    config = load_config(fold_dir / "config.yaml")
    config.training.progress = False
    return primary_targets(prepare_run(config, data_root).datasets["dev"])


def _check_members(summaries: list[dict[str, Any]], cv_dirs: Sequence[Path]) -> None:
    first = summaries[0]
    for summary, cv_dir in zip(summaries[1:], cv_dirs[1:]):
        if summary["n_folds"] != first["n_folds"]:
            raise AffectLabError(f"{cv_dir} has {summary['n_folds']} folds, {cv_dirs[0]} has {first['n_folds']}")


def ensemble_cross_validation(cv_dirs: Sequence[str | Path], out_dir: str | Path, *,
                              metric: str = "macro_f1", data_root: str | Path | None = None) -> dict[str, Any]:
    """Ensemble the CV runs in ``cv_dirs`` fold by fold; writes ``ensemble_results.json`` and
    ``ensemble_report.md`` to ``out_dir`` and returns the results."""
    cv_dirs = [Path(d) for d in cv_dirs]
    if len(cv_dirs) < 2:
        raise AffectLabError("an ensemble needs at least two cross-validation directories")
    summaries = [_load_cv(d) for d in cv_dirs]
    _check_members(summaries, cv_dirs)
    rows: list[dict[str, Any]] = []
    classes = None
    for fold in range(summaries[0]["n_folds"]):
        fold_dirs = [d / "folds" / s["folds"][fold]["run_id"] for d, s in zip(cv_dirs, summaries)]
        y_test = np.load(fold_dirs[0] / "test_labels.npy")
        for fold_dir in fold_dirs[1:]:
            if not np.array_equal(np.load(fold_dir / "test_labels.npy"), y_test):
                raise AffectLabError(f"fold {fold}: {fold_dir} was tested on other clips than {fold_dirs[0]}")
        if classes is None:
            scheme = run_scheme(fold_dirs[0])
            if scheme.multi_label:
                raise AffectLabError("affectlab ensemble supports single-label schemes for now")
            classes = scheme.classes
        y_dev = _dev_labels(fold_dirs[0], data_root)
        dev = [np.load(d / "dev_probs.npy") for d in fold_dirs]
        test = [np.load(d / "test_probs.npy") for d in fold_dirs]
        row: dict[str, Any] = {"fold": fold}
        for method in METHODS:
            combined = A.ensemble(dev, y_dev, test, metric=metric, method=method)
            scores = classification_metrics(y_test, predict(combined["test_probs"], False), classes)
            dev_scores = classification_metrics(y_dev, predict(A.combine_probs(dev, combined["weights"]), False),
                                                classes)
            row[method] = {"weights": combined["weights"],
                           **{f"test_{m}": float(scores[m]) for m in CV_METRICS},
                           **{f"dev_{m}": float(dev_scores[m]) for m in CV_METRICS}}
        rows.append(row)
    result = {
        "members": [{"cv_dir": str(d), "name": s["run_id"],  # the run id tells seeds apart
                     **{k: v for k, v in s["summary"].items() if k.split("_", 1)[1] in CV_METRICS}}
                    for d, s in zip(cv_dirs, summaries)],
        "metric": metric,
        "folds": rows,
        "summary": {method: {f"{split}_{m}": mean_sd([r[method][f"{split}_{m}"] for r in rows])
                             for split in ("test", "dev") for m in CV_METRICS} for method in METHODS},
    }
    out = Path(out_dir)
    write_json(out / "ensemble_results.json", result)
    write_text(out / "ensemble_report.md", ensemble_markdown(result))
    return result


def ensemble_markdown(result: dict[str, Any]) -> str:
    metric = result["metric"]
    models = [(m["name"], m) for m in result["members"]]
    models += [(f"**ensemble ({method})**", stats) for method, stats in result["summary"].items()]
    rows = [[name, format_metric(metric, stats[f"dev_{metric}"]["mean"]),
             *(format_mean_sd(stats[f"test_{m}"]["mean"], stats[f"test_{m}"]["sd"], metric_info(m).digits)
               for m in CV_METRICS)] for name, stats in models]
    lines = [f"# Ensemble of {len(result['members'])} cross-validated runs", "",
             f"Fold by fold; `weighted` chooses its weights on dev {metric} only. Mean ± sd over folds.", "",
             markdown_table(["model", f"dev {metric}", *(f"test {m}" for m in CV_METRICS)], rows)]
    return "\n".join(lines) + "\n"
