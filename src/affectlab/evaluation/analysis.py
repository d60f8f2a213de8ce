"""Post-hoc analysis of a trained model: uncertainty, information, separability, failures, ensembles.

Everything here is a pure function of arrays already produced by a run (probabilities,
embeddings, labels) and returns JSON-ready dicts, except where noted (``ensemble`` returns the
ensemble's test probabilities as an array, and ``plot_separability`` writes a PNG). Metric
numbers come from :mod:`.metrics` so they match the run reports exactly.

Single-label only: ``probs`` is ``[N, C]`` with rows summing to 1 and ``y`` holds class ids.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.special import entr

from ..errors import ConfigError, DataFormatError
from .metrics import score
from .tables import format_number, markdown_cell, markdown_table

SEPARABILITY_METHODS = ("pca", "tsne", "umap")
UMAP_MISSING = "umap-learn is not installed (pip install umap-learn); UMAP skipped"


def _probs(probs: np.ndarray, n_rows: int | None = None) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise DataFormatError(f"probs must be [N, C], got shape {probs.shape}")
    if n_rows is not None and len(probs) != n_rows:
        raise DataFormatError(f"y_true has {n_rows} rows but probs has {len(probs)}")
    return probs


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray(y).astype(np.int64).ravel()


def _mean(values: np.ndarray) -> float | None:
    """Mean, or None for an empty group (JSON has no NaN)."""
    return float(values.mean()) if len(values) else None


def _scalar(value: Any) -> Any:
    """numpy scalars → Python scalars, so ids and texts serialise as JSON."""
    return value.item() if isinstance(value, np.generic) else value


# --- uncertainty ---------------------------------------------------------------------------------

def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row in nats: 0 for a one-hot row, log(C) for a uniform one."""
    probs = np.clip(_probs(probs), 0.0, 1.0)  # tiny negative round-off would give -inf
    return entr(probs).sum(axis=1)


def _entropy_stats(h: np.ndarray, log_c: float) -> dict[str, Any]:
    mean = _mean(h)
    return {"n": int(len(h)), "mean": mean,
            "normalised": None if mean is None or log_c <= 0 else mean / log_c}


def entropy_report(y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Mean predictive entropy overall, for correct vs wrong predictions, and per TRUE class.

    A useful model is uncertain when it is wrong: ``wrong.mean`` well above ``correct.mean``
    means the entropy can flag predictions for review. ``normalised`` divides by log(C), so
    schemes with different class counts are comparable (1 = uniform).
    """
    y = _labels(y_true)
    probs = _probs(probs, len(y))
    if probs.shape[1] != len(classes):
        raise DataFormatError(f"probs has {probs.shape[1]} columns for {len(classes)} classes")
    h = predictive_entropy(probs)
    correct = probs.argmax(axis=1) == y if len(y) else np.zeros(0, dtype=bool)
    log_c = math.log(len(classes)) if len(classes) > 1 else 0.0
    per_class = {}
    for i, name in enumerate(classes):
        mine = y == i
        per_class[name] = {
            **_entropy_stats(h[mine], log_c),
            "correct": _entropy_stats(h[mine & correct], log_c),
            "wrong": _entropy_stats(h[mine & ~correct], log_c),
        }
    return {
        "unit": "nats",
        "max_entropy": log_c,
        "overall": _entropy_stats(h, log_c),
        "correct": _entropy_stats(h[correct], log_c),
        "wrong": _entropy_stats(h[~correct], log_c),
        "per_class": per_class,
    }


# --- information ---------------------------------------------------------------------------------

def _label_entropy(y: np.ndarray) -> float:
    _, counts = np.unique(y, return_counts=True)
    return float(entr(counts / counts.sum()).sum()) if len(y) else 0.0


def feature_label_mutual_information(
    x: np.ndarray,
    y: np.ndarray,
    n_neighbors: int = 3,
    seed: int = 0,
    max_dims: int | None = None,
    y_pred: np.ndarray | None = None,
) -> dict[str, Any]:
    """How much each feature dimension tells about the label (kNN MI estimate, nats).

    ``sum`` adds per-dimension MI values; dimensions are redundant, so this is NOT the joint
    MI I(x; y) (which can never exceed H(y), reported as ``label_entropy``). Use it as a rough
    "how much label signal is spread over the dimensions" diagnostic to compare feature sets.
    ``max_dims`` estimates on a seeded random subset of dimensions (cost is linear in D);
    ``top_dims`` keeps the original indices. With ``y_pred`` it also reports I(pred; true),
    which is bounded by H(y): ``prediction.normalised`` = 1 means the predictions determine the label.
    """
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    x = np.asarray(x, dtype=np.float64)
    y = _labels(y)
    if x.ndim != 2 or len(x) != len(y):
        raise DataFormatError(f"x must be [N, D] with N = len(y) = {len(y)}, got {x.shape}")
    dims = np.arange(x.shape[1])
    if max_dims is not None and max_dims < len(dims):
        dims = np.sort(np.random.default_rng(seed).choice(dims, size=max_dims, replace=False))
    mi = mutual_info_classif(x[:, dims], y, discrete_features=False, n_neighbors=n_neighbors,
                             random_state=seed)
    order = np.argsort(-mi, kind="stable")[:10]
    h_y = _label_entropy(y)
    result: dict[str, Any] = {
        "unit": "nats",
        "label_entropy": h_y,
        "n_dims_total": int(x.shape[1]),
        "n_dims_used": int(len(dims)),
        "per_dim_sum": float(mi.sum()),
        "per_dim_mean": float(mi.mean()) if len(mi) else 0.0,
        "top_dims": [{"dim": int(dims[j]), "mi": float(mi[j])} for j in order],
        "note": "per_dim_sum is a sum of marginal MIs, not the joint I(x; y); redundant dims are counted repeatedly",
    }
    if y_pred is not None:
        y_pred = _labels(y_pred)
        if len(y_pred) != len(y):
            raise DataFormatError(f"y has {len(y)} rows but y_pred has {len(y_pred)}")
        pred_mi = float(mutual_info_score(y, y_pred))
        result["prediction"] = {"mi": pred_mi, "normalised": pred_mi / h_y if h_y > 0 else None}
    return result


# --- context ablation ----------------------------------------------------------------------------

def _f1_value(value: Any) -> float:
    """Accept ``{"anger": 0.5}`` or classification_metrics' ``{"anger": {"f1": 0.5, ...}}``."""
    return float(value["f1"]) if isinstance(value, Mapping) else float(value)


def context_gain(per_class_f1_without: Mapping[str, Any], per_class_f1_with: Mapping[str, Any]) -> dict[str, Any]:
    """Per-emotion F1 change from adding context (with − without), largest gain first.

    Emotions present in only one run are listed under ``missing`` rather than guessed.
    """
    common = [n for n in per_class_f1_with if n in per_class_f1_without]
    rows = {n: {"without": _f1_value(per_class_f1_without[n]), "with": _f1_value(per_class_f1_with[n])}
            for n in common}
    for row in rows.values():
        row["gain"] = row["with"] - row["without"]
    ordered = sorted(rows, key=lambda n: (-rows[n]["gain"], n))
    gains = np.array([rows[n]["gain"] for n in ordered])
    return {
        "per_class": {n: rows[n] for n in ordered},
        "mean_gain": float(gains.mean()) if len(gains) else 0.0,
        "improved": [n for n in ordered if rows[n]["gain"] > 0],
        "worsened": [n for n in ordered if rows[n]["gain"] < 0],
        "missing": sorted(set(per_class_f1_with) ^ set(per_class_f1_without)),
    }


# --- separability --------------------------------------------------------------------------------

def stratified_subsample(y: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` rows keeping class proportions (largest remainder).

    Unlike sklearn's stratified splitters this never fails on a class with one example.
    """
    y = _labels(y)
    if len(y) <= max_points:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    names, counts = np.unique(y, return_counts=True)
    exact = counts * max_points / len(y)
    quota = np.floor(exact).astype(np.int64)
    extra = np.argsort(-(exact - quota), kind="stable")[: max_points - quota.sum()]
    quota[extra] += 1
    picked = [rng.permutation(np.flatnonzero(y == c))[:q] for c, q in zip(names, quota)]
    return np.sort(np.concatenate(picked))


def _silhouette(x: np.ndarray, y: np.ndarray, metric: str) -> float | None:
    """Silhouette in [-1, 1], or None where undefined (fewer than 2 classes, or one class per point)."""
    from sklearn.metrics import silhouette_score

    k = len(np.unique(y))
    if k < 2 or k >= len(y):
        return None
    return float(silhouette_score(x, y, metric=metric))


def _knn_accuracy(x: np.ndarray, y: np.ndarray, seed: int, k: int = 5, folds: int = 5) -> dict[str, Any]:
    """Cross-validated k-NN accuracy (cosine) and the majority-class rate it should beat."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    _, counts = np.unique(y, return_counts=True)
    chance = float(counts.max() / len(y)) if len(y) else 0.0
    n_splits = min(folds, int(counts.min())) if len(counts) > 1 else 0
    if n_splits < 2:
        return {"accuracy": None, "chance": chance, "folds": 0, "k": k}
    k = min(k, len(y) - math.ceil(len(y) / n_splits))  # smallest training fold must hold k neighbours
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    acc = cross_val_score(knn, x, y, cv=cv, scoring="accuracy")
    return {"accuracy": float(acc.mean()), "chance": chance, "folds": n_splits, "k": k}


def _pca(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    n = min(2, x.shape[0], x.shape[1])
    z = PCA(n_components=n, random_state=seed).fit_transform(x)
    return np.pad(z, ((0, 0), (0, 2 - n)))  # 1-D input still plots as a 2-D panel


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(30.0, len(x) / 4)
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(x)


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    import umap  # optional extra; ImportError is turned into a "skipped" entry by the caller

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" etc.
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(x) - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float64)


_EMBEDDERS = {"pca": _pca, "tsne": _tsne, "umap": _umap}
_DISPLAY = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def separability(
    x: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    methods: Sequence[str] = SEPARABILITY_METHODS,
    seed: int = 0,
    max_points: int = 3000,
) -> dict[str, Any]:
    """2-D embeddings plus numbers, so separability is compared by scores rather than by eye.

    ``original`` holds the cosine silhouette and cross-validated 5-NN accuracy in the input
    space (the honest numbers: 2-D projections distort, t-SNE especially); each embedding gets
    its own 2-D silhouette. Rows are stratified-subsampled to ``max_points`` (seeded) because
    t-SNE and silhouette are quadratic. UMAP is skipped with a reason if umap-learn is missing.
    """
    unknown = [m for m in methods if m not in _EMBEDDERS]
    if unknown:
        raise ConfigError(f"unknown separability method(s) {unknown}; choose from {list(_EMBEDDERS)}")
    x = np.asarray(x, dtype=np.float64)
    y = _labels(y)
    if x.ndim != 2 or len(x) != len(y):
        raise DataFormatError(f"x must be [N, D] with N = len(y) = {len(y)}, got {x.shape}")
    idx = stratified_subsample(y, max_points, seed)
    xs, ys = x[idx], y[idx]
    result: dict[str, Any] = {
        "classes": list(classes),
        "n_total": int(len(y)),
        "n_points": int(len(idx)),
        "indices": idx.tolist(),
        "labels": ys.tolist(),
        "original": {"silhouette_cosine": _silhouette(xs, ys, "cosine"), "knn": _knn_accuracy(xs, ys, seed)},
        "embeddings": {},
        "skipped": {},
    }
    for method in methods:
        if len(xs) < 5:
            result["skipped"][method] = f"only {len(xs)} points"
            continue
        try:
            coords = _EMBEDDERS[method](xs, seed)
        except ImportError:
            result["skipped"][method] = UMAP_MISSING if method == "umap" else f"{method} unavailable"
            continue
        result["embeddings"][method] = {"coords": coords.tolist(),
                                        "silhouette": _silhouette(coords, ys, "euclidean")}
    return result


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def plot_separability(result: Mapping[str, Any], path: str | Path, title: str = "separability") -> Path:
    """One scatter panel per embedding, coloured by class; scores are in the titles."""
    from .plots import FONT, _save, plt  # deferred: analysis without plots should not need matplotlib

    panels = list(result["embeddings"].items())
    classes = list(result["classes"])
    labels = np.asarray(result["labels"], dtype=np.int64)
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.5 * max(1, len(panels)), 5.2), squeeze=False)
    original = result["original"]
    fig.suptitle(f"{title}   (original space: cosine silhouette {_fmt(original['silhouette_cosine'])}, "
                 f"5-NN acc {_fmt(original['knn']['accuracy'])}, chance {_fmt(original['knn']['chance'])})",
                 fontsize=FONT + 1)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for ax, (method, emb) in zip(axes[0], panels):
        coords = np.asarray(emb["coords"], dtype=np.float64).reshape(-1, 2)
        for c, name in enumerate(classes):
            mine = labels == c
            if mine.any():
                ax.scatter(coords[mine, 0], coords[mine, 1], s=8, alpha=0.7, color=cmap(c % cmap.N), label=name)
        ax.set_title(f"{_DISPLAY.get(method, method)}  silhouette {_fmt(emb['silhouette'])}", fontsize=FONT + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=FONT - 2, markerscale=2, loc="best")
    if not panels:
        ax = axes[0][0]
        ax.text(0.5, 0.5, "no embeddings computed", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    return _save(fig, path)


# --- failure cases -------------------------------------------------------------------------------

def failure_cases(
    y_true: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    texts: Sequence[str] | None,
    ids: Sequence[Any] | None,
    top_pairs: int = 5,
    per_pair: int = 5,
) -> dict[str, Any]:
    """The most frequent (true → predicted) confusions, each with its most confident mistakes.

    Confident mistakes are the ones worth reading: label noise, sarcasm, missing context.
    Ties are broken by class order / row order so reports are reproducible.
    """
    y = _labels(y_true)
    probs = _probs(probs, len(y))
    pred = probs.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    ids = list(range(len(y))) if ids is None else list(ids)
    if len(ids) != len(y) or (texts is not None and len(texts) != len(y)):
        raise DataFormatError("texts and ids must have one entry per row")
    wrong = pred != y
    pairs, counts = np.unique(np.stack([y[wrong], pred[wrong]], axis=1), axis=0, return_counts=True)
    order = sorted(range(len(pairs)), key=lambda i: (-counts[i], pairs[i][0], pairs[i][1]))[:top_pairs]
    out = []
    for i in order:
        t, p = (int(v) for v in pairs[i])
        rows = np.flatnonzero((y == t) & (pred == p))
        rows = rows[np.argsort(-probs[rows, p], kind="stable")][:per_pair]
        out.append({
            "true": classes[t], "pred": classes[p], "count": int(counts[i]),
            "examples": [{"id": _scalar(ids[r]), "text": None if texts is None else _scalar(texts[r]),
                          "confidence": float(probs[r, p]), "true_prob": float(probs[r, t])} for r in rows],
        })
    return {"n": int(len(y)), "n_wrong": int(wrong.sum()),
            "error_rate": float(wrong.mean()) if len(y) else 0.0, "pairs": out}


def _clip(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value).split())  # one line per cell, however long the utterance
    return text[: limit - 1] + "…" if len(text) > limit else text


def failure_cases_markdown(report: Mapping[str, Any]) -> str:
    """Render ``failure_cases`` output: a summary table of pairs, then a table of examples per pair."""
    lines = ["## Most frequent confusions", "",
             f"{report['n_wrong']} of {report['n']} predictions wrong ({report['error_rate']:.1%}).", ""]
    if not report["pairs"]:
        return "\n".join(lines + ["No errors.", ""])
    lines.append(markdown_table(["true", "predicted", "count"],
                                [[_clip(p["true"]), _clip(p["pred"]), p["count"]] for p in report["pairs"]], "<<>"))
    for p in report["pairs"]:
        lines += ["", f"### {markdown_cell(_clip(p['true']))} → {markdown_cell(_clip(p['pred']))} ({p['count']})", ""]
        lines.append(markdown_table(
            ["id", "confidence", "p(true)", "text"],
            [[_clip(e["id"]), format_number(e["confidence"], 3), format_number(e["true_prob"], 3),
              _clip("" if e["text"] is None else e["text"])] for e in p["examples"]], "<>><"))
    return "\n".join(lines) + "\n"


# --- ensembles -----------------------------------------------------------------------------------

WEIGHT_GRID = np.linspace(0.0, 1.0, 21)


def combine_probs(members: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted sum of members' [N, C] probabilities."""
    return np.tensordot(np.asarray(weights, dtype=float), np.stack(members), axes=1)


def _with_weight(weights: np.ndarray, i: int, value: float) -> np.ndarray:
    """Set member i's weight and rescale the others to keep the sum at 1."""
    rest = np.delete(weights, i)
    rest = rest / rest.sum() if rest.sum() > 0 else np.full(len(rest), 1.0 / max(1, len(rest)))
    return np.insert(rest * (1.0 - value), i, value)


def _search_weights(members: Sequence[np.ndarray], y: np.ndarray, metric: str, max_rounds: int = 10) -> np.ndarray:
    """Deterministic coordinate search on the simplex; only strict improvements are accepted.

    Starts from the best of {uniform, each single member}, so the result is never worse on
    validation than the best member. The metric is piecewise constant in the weights (argmax),
    so a grid search is more reliable than gradients.
    """
    m = len(members)
    if m == 1:
        return np.ones(1)

    def val(w: np.ndarray) -> float:
        return score(metric, y, combine_probs(members, w), multi_label=False)

    starts = [np.full(m, 1.0 / m)] + [np.eye(m)[i] for i in range(m)]
    best = starts[0]
    best_score = val(best)
    for w in starts[1:]:
        s = val(w)
        if s > best_score + 1e-12:
            best, best_score = w, s
    for _ in range(max_rounds):
        improved = False
        for i in range(m):
            for value in WEIGHT_GRID:
                w = _with_weight(best, i, float(value))
                s = val(w)
                if s > best_score + 1e-12:
                    best, best_score, improved = w, s, True
        if not improved:
            break
    return best


def ensemble(
    probs_val: Sequence[np.ndarray],
    y_val: np.ndarray,
    probs_test: Sequence[np.ndarray] | None,
    metric: str = "weighted_f1",
    method: str = "mean",
) -> dict[str, Any]:
    """Average member probabilities, uniformly (``mean``) or with weights tuned on VALIDATION.

    ``weighted`` picks non-negative weights summing to 1 that maximise ``metric`` on the
    validation split only; ``probs_test`` is merely combined with those weights, so test labels
    and test predictions never influence the choice. Returns ``test_probs`` as an array (None
    without ``probs_test``); the caller computes test metrics from it.
    """
    if method not in ("mean", "weighted"):
        raise ConfigError(f"method must be 'mean' or 'weighted', got {method!r}")
    if not probs_val:
        raise ConfigError("ensemble needs at least one member run")
    y = _labels(y_val)
    val = [_probs(p, len(y)) for p in probs_val]
    if len({p.shape for p in val}) != 1:
        raise DataFormatError(f"members' validation probs differ in shape: {[p.shape for p in val]}")
    test = None if probs_test is None else [_probs(p) for p in probs_test]
    if test is not None and (len(test) != len(val) or len({p.shape for p in test}) != 1
                             or test[0].shape[1] != val[0].shape[1]):
        raise DataFormatError("probs_test must have one [N_test, C] array per member, C as in probs_val")

    m = len(val)
    weights = _search_weights(val, y, metric) if method == "weighted" else np.full(m, 1.0 / m)
    return {
        "method": method,
        "metric": metric,
        "weights": [float(w) for w in weights],
        "val_score": score(metric, y, combine_probs(val, weights), multi_label=False),
        "member_val_scores": [score(metric, y, p, multi_label=False) for p in val],
        "test_probs": None if test is None else combine_probs(test, weights),
    }
