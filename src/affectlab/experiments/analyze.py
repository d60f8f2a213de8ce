"""``affectlab analyze``: look inside a run or a grid.

For a run: predictive entropy (by class, correct vs wrong), mutual information between
features and labels, separability of the input features and of the model's learned
representation (t-SNE / UMAP / PCA with silhouette and kNN numbers), failure cases.
For a grid, additionally: ensembles of the top-k runs (chosen and weighted on dev only,
test reported) and, when the grid varies dialogue context, the per-emotion gain from context.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import write_json, write_text
from ..errors import AffectLabError
from ..evaluation import analysis as A
from ..evaluation.metrics import classification_metrics, metric_names, predict
from ..pipeline import Pipeline
from .config import load_config
from .grid_runner import collect_results
from .runner import is_finished, prepare_run
from .tasks import primary_targets


def _representations(model, inputs: dict[str, np.ndarray]) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        tensors = {k: torch.as_tensor(np.asarray(v), dtype=torch.float32) for k, v in inputs.items()}
        return model.features(**tensors).numpy()


def _flat_inputs(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """One vector per utterance for diagnostics: sequences are mean-pooled over their mask."""
    x = np.asarray(inputs["x"], dtype=np.float32)
    if x.ndim == 2:
        return x
    if "mask" in inputs:
        mask = np.asarray(inputs["mask"], dtype=np.float32)
        while mask.ndim < x.ndim - 1:
            mask = mask[..., None]
        x = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1), 1)[..., None]
    return x.reshape(len(x), -1) if x.ndim == 2 else x.mean(axis=tuple(range(1, x.ndim - 1)))


def analyze_run(run_dir: Path, data_root: str | None = None, out_dir: Path | None = None,
                max_points: int = 2000) -> dict[str, Any]:
    if not is_finished(run_dir):
        raise AffectLabError(f"{run_dir} is not a finished run directory (no results.json)")
    out_dir = out_dir or run_dir / "analysis"
    config = load_config(run_dir / "config.yaml")
    config.training.progress = False
    prepared = prepare_run(config, data_root)
    classes = prepared.data.scheme.classes
    if prepared.data.scheme.multi_label:
        raise AffectLabError("analyze supports single-label runs for now")
    test = prepared.datasets["test"]
    probs = np.load(run_dir / "test_probs.npy")
    y = primary_targets(test)
    pipeline = Pipeline.load(run_dir / "pipeline")
    table = prepared.data.corpus.table
    test_rows = table[table["split"] == "test"]
    x_in = _flat_inputs(test.inputs)
    learned = _representations(pipeline.model, test.inputs)
    report: dict[str, Any] = {"run_id": run_dir.name,
                              "entropy": A.entropy_report(y, probs, classes),
                              "mutual_information": A.feature_label_mutual_information(
                                  x_in, y, max_dims=128, y_pred=predict(probs, False))}
    for name, x in (("input_features", x_in), ("learned_representation", learned)):
        sep = A.separability(x, y, classes, seed=0, max_points=max_points)
        A.plot_separability(sep, out_dir / f"separability_{name}.png", title=f"{name} ({run_dir.name})")
        report[f"separability_{name}"] = {k: v for k, v in sep.items() if k not in ("embeddings", "indices", "labels")}
        report[f"separability_{name}"]["embedding_silhouettes"] = {
            m: e.get("silhouette") for m, e in sep.get("embeddings", {}).items()}
    failures = A.failure_cases(y, probs, classes, test_rows["text"].tolist(), test_rows["uid"].tolist())
    report["failure_cases"] = failures
    write_text(out_dir / "failure_cases.md", A.failure_cases_markdown(failures))
    write_json(out_dir / "analysis.json", report)
    write_text(out_dir / "analysis.md", _markdown(report))
    return report


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _markdown(report: dict[str, Any]) -> str:
    e = report["entropy"]
    lines = [f"# Analysis of {report['run_id']}", "",
             "## Predictive entropy (nats; normalised by log C)", "",
             "| group | n | mean | normalised |", "|---|---|---|---|"]
    for name in ("overall", "correct", "wrong"):
        g = e[name]
        lines.append(f"| {name} | {g['n']} | {g['mean'] or 0:.3f} | {g['normalised'] or 0:.3f} |")
    for cls, g in e["per_class"].items():
        lines.append(f"| true = {cls} | {g['n']} | {g['mean'] or 0:.3f} | {g['normalised'] or 0:.3f} |")
    mi = report["mutual_information"]
    lines += ["", "## Mutual information", "",
              f"- per-dimension MI with the label: sum {mi['per_dim_sum']:.3f}, mean {mi['per_dim_mean']:.4f} nats",
              f"- MI(predicted; true) = {mi['prediction']['mi']:.3f} nats "
              f"({mi['prediction']['normalised']:.1%} of H(label) = {mi['label_entropy']:.3f})", "",
              "## Separability (test split)", "", "| representation | silhouette (cosine) | 5-NN accuracy | chance |",
              "|---|---|---|---|"]
    for key in ("separability_input_features", "separability_learned_representation"):
        s = report[key]["original"]
        lines.append(f"| {key.split('_', 1)[1]} | {_fmt(s['silhouette_cosine'])} | "
                     f"{_fmt(s['knn']['accuracy'])} | {_fmt(s['knn']['chance'])} |")
    lines += ["", "Plots: `separability_input_features.png`, `separability_learned_representation.png`; "
              "failure cases: `failure_cases.md`."]
    return "\n".join(lines) + "\n"


def analyze_grid(grid_dir: Path, data_root: str | None = None, top_k: int = 5,
                 metric: str = "weighted_f1", out_dir: Path | None = None) -> dict[str, Any]:
    out_dir = out_dir or grid_dir / "analysis"
    done = [r for r in collect_results(grid_dir) if r.get("status") == "done"]
    if not done:
        raise AffectLabError(f"{grid_dir} has no finished runs to analyse")
    if any(r["test"].get("multi_label") for r in done):
        raise AffectLabError("analyze supports single-label grids for now")
    ranked = sorted(done, key=lambda r: -r["dev"][metric])  # chosen on DEV
    best = ranked[0]
    runs = grid_dir / "runs"
    top = ranked[:top_k]
    config = load_config(runs / best["run_id"] / "config.yaml")
    config.training.progress = False
    prepared = prepare_run(config, data_root)
    y_dev, y_test = primary_targets(prepared.datasets["dev"]), primary_targets(prepared.datasets["test"])
    classes = prepared.data.scheme.classes
    dev = [np.load(runs / r["run_id"] / "dev_probs.npy") for r in top]
    test = [np.load(runs / r["run_id"] / "test_probs.npy") for r in top]
    ensembles = {}
    for method in ("mean", "weighted"):
        e = A.ensemble(dev, y_dev, test, metric=metric, method=method)
        m = classification_metrics(y_test, predict(e["test_probs"], False), classes)
        ensembles[method] = {"weights": e["weights"], f"dev_{metric}": e["val_score"],
                             "test": {k: m[k] for k in metric_names(multi_label=False)}}
    report: dict[str, Any] = {
        "selection": f"top {len(top)} runs by dev {metric}",
        "members": [{"run_id": r["run_id"], f"dev_{metric}": r["dev"][metric],
                     f"test_{metric}": r["test"][metric]} for r in top],
        "best_single": {"run_id": best["run_id"], f"dev_{metric}": best["dev"][metric],
                        "test": {k: best["test"][k] for k in metric_names(multi_label=False)}},
        "ensembles": ensembles,
    }
    context_axis = [a for a in done[0].get("axes", {}) if a.endswith("context")]
    if context_axis:
        report["context_gain"] = _context_gain(done, context_axis[0])
    report["best_run_analysis"] = str(out_dir / "best_run")
    write_json(out_dir / "grid_analysis.json", report)
    lines = [f"# Grid analysis: {grid_dir.name}", "", f"Ensemble members: {report['selection']} "
             "(weights chosen on dev only; test reported).", "",
             "| model | dev | test weighted-F1 | test macro-F1 |", "|---|---|---|---|",
             f"| best single ({best['run_id']}) | {best['dev'][metric]:.4f} | {best['test']['weighted_f1']:.4f} | "
             f"{best['test']['macro_f1']:.4f} |"]
    for method, e in ensembles.items():
        lines.append(f"| ensemble ({method}) | {e[f'dev_{metric}']:.4f} | {e['test']['weighted_f1']:.4f} | "
                     f"{e['test']['macro_f1']:.4f} |")
    if "context_gain" in report:
        lines += ["", "## Per-emotion F1 gain from dialogue context (test, mean over runs)", "",
                  "| emotion | without | with | gain |", "|---|---|---|---|"]
        for cls, g in report["context_gain"]["per_class"].items():
            lines.append(f"| {cls} | {g['without']:.4f} | {g['with']:.4f} | {g['gain']:+.4f} |")
    lines += ["", f"Best run analysed in `best_run/` (entropy, MI, separability, failure cases)."]
    write_text(out_dir / "grid_analysis.md", "\n".join(lines) + "\n")
    analyze_run(runs / best["run_id"], data_root, out_dir / "best_run")
    return report


def _context_gain(done: list[dict], axis: str) -> dict[str, Any]:
    def mean_f1(runs: list[dict]) -> dict[str, float]:
        classes = runs[0]["test"]["per_class"].keys()
        return {c: float(np.mean([r["test"]["per_class"][c]["f1"] for r in runs])) for c in classes}

    without = [r for r in done if not r["axes"][axis]]
    with_ = [r for r in done if r["axes"][axis]]
    if not without or not with_:
        return {"note": f"grid axis {axis} has no runs on one side"}
    return A.context_gain(mean_f1(without), mean_f1(with_))


def analyze(target: str | Path, data_root: str | None = None, top_k: int = 5,
            metric: str = "weighted_f1", out_dir: str | Path | None = None) -> Path:
    target = Path(target)
    out = Path(out_dir) if out_dir else None
    if (target / "runs").is_dir():
        analyze_grid(target, data_root, top_k, metric, out)
        return out or target / "analysis"
    if is_finished(target):
        analyze_run(target, data_root, out)
        return out or target / "analysis"
    raise AffectLabError(f"{target} is neither a run directory (results.json) nor a grid directory (runs/)")
