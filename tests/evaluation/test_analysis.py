from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from affectlab.errors import ConfigError, DataFormatError
from affectlab.evaluation.analysis import (
    UMAP_MISSING,
    context_gain,
    ensemble,
    entropy_report,
    failure_cases,
    failure_cases_markdown,
    feature_label_mutual_information,
    plot_separability,
    predictive_entropy,
    separability,
    stratified_subsample,
)
from affectlab.evaluation.metrics import classification_metrics, score

CLASSES = ["anger", "joy", "sadness", "neutral"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny inputs: OpenMP threads only add overhead (t-SNE is ~50x slower on a busy machine)."""
    with threadpool_limits(limits=1):
        yield


# --- entropy -------------------------------------------------------------------------------------

def test_entropy_extremes():
    for c in (2, 4, 7):
        assert predictive_entropy(np.full((3, c), 1.0 / c)) == pytest.approx(np.full(3, math.log(c)))
        assert predictive_entropy(np.eye(c)) == pytest.approx(np.zeros(c), abs=1e-12)
    # a mixed row: H(0.5, 0.5, 0) = log 2
    assert predictive_entropy([[0.5, 0.5, 0.0]])[0] == pytest.approx(math.log(2))


def test_entropy_report_wrong_predictions_are_more_uncertain():
    rng = np.random.default_rng(0)
    n, c = 200, len(CLASSES)
    y = rng.integers(0, c, n)
    probs = np.empty((n, c))
    wrong = np.arange(n) % 4 == 0  # a quarter wrong, predicted hesitantly
    for i in range(n):
        if wrong[i]:
            probs[i] = 0.2
            probs[i, (y[i] + 1) % c] = 0.4  # argmax is a wrong class, near-uniform
        else:
            probs[i] = 0.02
            probs[i, y[i]] = 0.94  # confident and right
    rep = entropy_report(y, probs, CLASSES)
    assert rep["wrong"]["n"] == wrong.sum() and rep["correct"]["n"] == n - wrong.sum()
    assert rep["wrong"]["mean"] > rep["correct"]["mean"] + 0.5
    assert rep["max_entropy"] == pytest.approx(math.log(c))
    assert rep["overall"]["normalised"] == pytest.approx(rep["overall"]["mean"] / math.log(c))
    assert 0 <= rep["correct"]["normalised"] < rep["wrong"]["normalised"] <= 1
    for name in CLASSES:
        cls = rep["per_class"][name]
        assert cls["wrong"]["mean"] > cls["correct"]["mean"]
        assert cls["n"] == cls["correct"]["n"] + cls["wrong"]["n"]
    json.dumps(rep)


def test_entropy_report_empty_group_is_none():
    y = np.array([0, 1])
    rep = entropy_report(y, np.eye(2), ["a", "b"])  # all correct
    assert rep["wrong"] == {"n": 0, "mean": None, "normalised": None}
    json.dumps(rep)


# --- mutual information --------------------------------------------------------------------------

def test_mi_informative_dimension_beats_noise():
    rng = np.random.default_rng(1)
    n = 400
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 6))
    x[:, 2] = y + 0.2 * rng.normal(size=n)  # only dim 2 carries the label
    res = feature_label_mutual_information(x, y, seed=0, y_pred=y)
    assert res["top_dims"][0]["dim"] == 2
    noise = [d["mi"] for d in res["top_dims"] if d["dim"] != 2]
    assert res["top_dims"][0]["mi"] > 0.5 and max(noise) < 0.1
    assert res["n_dims_used"] == 6 and res["per_dim_sum"] == pytest.approx(sum(d["mi"] for d in res["top_dims"]))
    # perfect predictions carry all the label information: I(pred; true) = H(y)
    assert res["prediction"]["mi"] == pytest.approx(res["label_entropy"])
    assert res["prediction"]["normalised"] == pytest.approx(1.0)
    json.dumps(res)


def test_mi_of_random_predictions_is_near_zero_and_max_dims_subsamples():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    x = rng.normal(size=(600, 20))
    res = feature_label_mutual_information(x, y, max_dims=5, seed=3, y_pred=rng.integers(0, 3, 600))
    assert res["prediction"]["mi"] < 0.02
    assert res["n_dims_used"] == 5 and res["n_dims_total"] == 20
    again = feature_label_mutual_information(x, y, max_dims=5, seed=3)
    assert [d["dim"] for d in again["top_dims"]] == [d["dim"] for d in res["top_dims"]]


# --- context gain --------------------------------------------------------------------------------

def test_context_gain_sorted_and_accepts_metric_dicts():
    without = {"anger": 0.5, "joy": 0.8, "sadness": 0.4, "fear": 0.1}
    with_ = {"anger": {"f1": 0.7, "support": 3}, "joy": {"f1": 0.7}, "sadness": {"f1": 0.45}, "surprise": {"f1": 0.2}}
    res = context_gain(without, with_)
    assert list(res["per_class"]) == ["anger", "sadness", "joy"]
    assert res["per_class"]["anger"]["gain"] == pytest.approx(0.2)
    assert res["per_class"]["joy"]["gain"] == pytest.approx(-0.1)
    assert res["improved"] == ["anger", "sadness"] and res["worsened"] == ["joy"]
    assert res["missing"] == ["fear", "surprise"]
    assert res["mean_gain"] == pytest.approx((0.2 + 0.05 - 0.1) / 3)


def test_context_gain_from_classification_metrics():
    y = np.array([0, 0, 1, 1, 2, 2])
    a = classification_metrics(y, np.array([0, 1, 1, 1, 2, 0]), ["a", "b", "c"])["per_class"]
    b = classification_metrics(y, y, ["a", "b", "c"])["per_class"]
    res = context_gain(a, b)
    assert all(row["with"] == 1.0 for row in res["per_class"].values())
    assert not res["worsened"]


# --- separability --------------------------------------------------------------------------------

def _blobs(n_per=50, k=3, d=10, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n_per)
    centers = 10.0 * np.eye(d)[:k]  # orthogonal directions: separated under cosine too
    return centers[y] + rng.normal(size=(len(y), d)), y


def test_separability_of_blobs_is_high():
    x, y = _blobs()
    res = separability(x, y, ["a", "b", "c"], methods=("pca", "tsne"), seed=0)
    assert res["original"]["silhouette_cosine"] > 0.5
    assert res["original"]["knn"]["accuracy"] > 0.9
    assert res["original"]["knn"]["chance"] == pytest.approx(1 / 3)
    assert res["embeddings"]["pca"]["silhouette"] > 0.5
    assert res["embeddings"]["tsne"]["silhouette"] > 0.5
    assert np.asarray(res["embeddings"]["tsne"]["coords"]).shape == (150, 2)
    assert res["skipped"] == {}
    json.dumps(res)


def test_umap_separability_when_installed():
    pytest.importorskip("umap")  # optional extra; first call JIT-compiles (~30 s)
    x, y = _blobs()
    res = separability(x, y, ["a", "b", "c"], methods=("umap",), seed=0)
    assert res["embeddings"]["umap"]["silhouette"] > 0.5
    assert np.asarray(res["embeddings"]["umap"]["coords"]).shape == (150, 2)


def test_separability_of_random_labels_is_chance():
    x, _ = _blobs(n_per=100)
    y = np.random.default_rng(5).integers(0, 3, len(x))
    res = separability(x, y, ["a", "b", "c"], methods=("pca",), seed=0)
    assert abs(res["original"]["silhouette_cosine"]) < 0.1
    assert abs(res["embeddings"]["pca"]["silhouette"]) < 0.1
    assert res["original"]["knn"]["accuracy"] < res["original"]["knn"]["chance"] + 0.12


def test_umap_missing_is_skipped_not_fatal(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` raise ImportError
    x, y = _blobs(n_per=10)
    res = separability(x, y, ["a", "b", "c"], methods=("pca", "umap"))
    assert "pca" in res["embeddings"] and "umap" not in res["embeddings"]
    assert res["skipped"]["umap"] == UMAP_MISSING


def test_separability_rejects_unknown_method():
    x, y = _blobs(n_per=5)
    with pytest.raises(ConfigError, match="unknown"):
        separability(x, y, ["a", "b", "c"], methods=("lda",))


def test_stratified_subsample_is_proportional_and_seeded():
    y = np.array([0] * 600 + [1] * 300 + [2] * 99 + [3])
    idx = stratified_subsample(y, 100, seed=0)
    assert len(idx) == 100 and np.all(np.diff(idx) > 0)
    counts = np.bincount(y[idx], minlength=4)
    assert counts[0] == 60 and counts[1] == 30 and counts[2] in (9, 10)
    assert np.array_equal(idx, stratified_subsample(y, 100, seed=0))
    assert not np.array_equal(idx, stratified_subsample(y, 100, seed=1))
    assert np.array_equal(stratified_subsample(y, 5000), np.arange(len(y)))
    x, yb = _blobs(n_per=50)
    res = separability(x, yb, ["a", "b", "c"], methods=("pca",), max_points=60, seed=4)
    assert res["n_points"] == 60 and res["n_total"] == 150
    assert np.bincount(res["labels"]).tolist() == [20, 20, 20]
    assert res["labels"] == yb[res["indices"]].tolist()


def test_plot_separability_writes_png(tmp_path):
    x, y = _blobs(n_per=15)
    res = separability(x, y, ["a", "b", "c"], methods=("pca", "tsne"))
    out = plot_separability(res, tmp_path / "sep" / "separability.png", "blobs")
    data = out.read_bytes()
    assert data[:8] == PNG and len(data) > 1000
    assert not list((tmp_path / "sep").glob(".*.tmp"))
    empty = dict(res, embeddings={})
    assert plot_separability(empty, tmp_path / "empty.png", "none").read_bytes()[:8] == PNG


# --- failure cases -------------------------------------------------------------------------------

def _onehot_probs(pred, conf, c):
    probs = np.full((len(pred), c), 0.0)
    for i, (p, q) in enumerate(zip(pred, conf)):
        probs[i] = (1 - q) / (c - 1)
        probs[i, p] = q
    return probs


def test_failure_cases_finds_planted_pair_and_confident_example():
    # 0 anger, 1 joy, 2 sadness, 3 neutral
    y = [0, 0, 0, 0, 0, 2, 2, 1, 3, 3, 1]
    pred = [1, 1, 1, 1, 0, 3, 3, 1, 3, 0, 1]
    conf = [0.5, 0.95, 0.6, 0.4, 0.9, 0.7, 0.8, 0.9, 0.9, 0.5, 0.9]
    texts = [f"text {i}" for i in range(len(y))]
    texts[1] = "so | happy\nreally"
    ids = [f"id{i}" for i in range(len(y))]
    rep = failure_cases(np.array(y), _onehot_probs(pred, conf, 4), CLASSES, texts, ids, top_pairs=2, per_pair=3)
    assert rep["n"] == 11 and rep["n_wrong"] == 7
    first, second = rep["pairs"]
    assert (first["true"], first["pred"], first["count"]) == ("anger", "joy", 4)
    assert [e["id"] for e in first["examples"]] == ["id1", "id2", "id0"]  # most confident first, per_pair=3
    assert first["examples"][0]["confidence"] == pytest.approx(0.95)
    assert first["examples"][0]["true_prob"] == pytest.approx(0.05 / 3)
    assert (second["true"], second["pred"], second["count"]) == ("sadness", "neutral", 2)
    json.dumps(rep)

    md = failure_cases_markdown(rep)
    assert "| anger | joy | 4 |" in md
    assert "so \\| happy really" in md  # pipes escaped, newlines flattened: the table stays intact
    assert md.index("id1") < md.index("id2") < md.index("id0")


def test_failure_cases_without_errors_or_ids():
    y = np.array([0, 1, 2])
    rep = failure_cases(y, np.eye(3), ["a", "b", "c"], None, None)
    assert rep["pairs"] == [] and rep["n_wrong"] == 0
    assert "No errors" in failure_cases_markdown(rep)
    rep = failure_cases(np.array([0, 1]), np.array([[0.2, 0.8], [0.1, 0.9]]), ["a", "b"], None, np.array([7, 8]))
    assert rep["pairs"][0]["examples"][0] == {"id": 7, "text": None, "confidence": 0.8, "true_prob": 0.2}
    json.dumps(rep)


# --- ensembles -----------------------------------------------------------------------------------

def _members(seed, n=120, c=4, m=3):
    """Noisy members of varying quality around the true labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    members = []
    for k in range(m):
        logits = rng.normal(size=(n, c)) * (1.0 + k)
        logits[np.arange(n), y] += 1.5
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        members.append(e / e.sum(axis=1, keepdims=True))
    return y, members


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("metric", ["weighted_f1", "macro_f1", "accuracy"])
def test_weighted_ensemble_never_worse_than_best_member_on_validation(seed, metric):
    y, members = _members(seed)
    res = ensemble(members, y, None, metric=metric, method="weighted")
    best = max(score(metric, y, p, multi_label=False) for p in members)
    assert res["val_score"] >= best - 1e-12
    assert res["member_val_scores"] == pytest.approx([score(metric, y, p, multi_label=False) for p in members])
    w = np.asarray(res["weights"])
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert res["val_score"] == pytest.approx(score(metric, y, np.tensordot(w, np.stack(members), 1), False))


def test_weighted_ensemble_downweights_a_useless_member():
    y, (good, _, _) = _members(0)
    noise = np.random.default_rng(9).dirichlet(np.ones(4) * 0.3, len(y))  # confident and random
    res = ensemble([noise, good], y, None, method="weighted")
    assert res["weights"][1] > res["weights"][0]
    assert res["val_score"] >= score("weighted_f1", y, good, False)


def test_weights_do_not_depend_on_test():
    y, val = _members(3)
    _, test_a = _members(10, n=50)
    _, test_b = _members(11, n=80)
    a = ensemble(val, y, test_a, method="weighted")
    b = ensemble(val, y, test_b, method="weighted")
    c = ensemble(val, y, None, method="weighted")
    assert a["weights"] == b["weights"] == c["weights"]
    assert a["val_score"] == b["val_score"] == c["val_score"]
    assert a["test_probs"].shape == (50, 4) and b["test_probs"].shape == (80, 4) and c["test_probs"] is None
    w = np.asarray(a["weights"])
    assert np.allclose(a["test_probs"], sum(wi * p for wi, p in zip(w, test_a)))
    assert np.allclose(a["test_probs"].sum(axis=1), 1.0)


def test_mean_ensemble_and_validation():
    y, val = _members(1)
    _, test = _members(2, n=30)
    res = ensemble(val, y, test, method="mean")
    assert res["weights"] == pytest.approx([1 / 3] * 3)
    assert np.allclose(res["test_probs"], np.mean(test, axis=0))
    assert ensemble(val[:1], y, None, method="weighted")["weights"] == [1.0]
    with pytest.raises(ConfigError, match="method"):
        ensemble(val, y, test, method="median")
    with pytest.raises(DataFormatError):
        ensemble(val, y, test[:2])  # one test array per member
    with pytest.raises(DataFormatError):
        ensemble([val[0], val[1][:, :3]], y, None)
