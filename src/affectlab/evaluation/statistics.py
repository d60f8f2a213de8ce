"""Seed-aware statistics over a grid of runs (configurations x seeds).

A single run's score is one draw from a seed distribution, so configurations are compared on
their seed means with confidence intervals, paired tests over shared seeds (the same seed fixes
the same split/initialisation noise for both), Holm correction for the many pairs, and a
Friedman/Nemenyi analysis across all configurations at once (Demšar, 2006, JMLR 7:1-30).
"""
from __future__ import annotations

import itertools
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._io import stable_hash
from ..errors import ConfigError, DataFormatError
from .metrics import METRIC_INFO, metric_names

#: every registered metric, in registration order (``evaluation.metrics.METRIC_INFO``)
METRIC_COLUMNS = tuple(metric_names())
ID_COLUMNS = ("config_key", "config", "run_id", "seed")
METHOD_NAMES = {"wilcoxon": "Wilcoxon signed-rank test", "ttest": "t-test"}
_GENERIC_LEAVES = {"name", "type", "kind", "id"}


# --------------------------------------------------------------------------- summaries


def summarise(values: Iterable[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean, sd (ddof=1), n, Student-t CI, min, max; NaNs are dropped (a missing metric is not a zero).

    With n < 2 the sd and CI are NaN: one seed says nothing about seed variance.
    """
    x = np.asarray(list(values), dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    nan = math.nan
    if n == 0:
        return {"mean": nan, "sd": nan, "n": 0, "ci_low": nan, "ci_high": nan, "min": nan, "max": nan}
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)) if n > 1 else nan
    return {"mean": mean, "sd": sd, "n": n, "ci_low": mean - half, "ci_high": mean + half,
            "min": float(x.min()), "max": float(x.max())}


# --------------------------------------------------------------------------- run table


def _short_axis(name: str) -> str:
    """``features.pooling`` -> ``pooling``; ``model.name`` -> ``model`` (a bare ``name`` says nothing)."""
    parts = name.split(".")
    if len(parts) > 1 and parts[-1] in _GENERIC_LEAVES:
        return parts[-2]
    return parts[-1]


def _axis_labels(axes: Sequence[str]) -> dict[str, str]:
    """Short label per axis, falling back to the full dotted name where short ones collide."""
    short = {a: _short_axis(a) for a in axes}
    counts = pd.Series(list(short.values())).value_counts()
    return {a: (s if counts[s] == 1 else a) for a, s in short.items()}


def _axis_value(value: Any) -> Any:
    """Scalars stay (numeric order survives); lists/dicts become JSON so pandas can group on them."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _fmt_value(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def axis_columns(frame: pd.DataFrame) -> list[str]:
    """The grid axes in ``frame``: recorded by :func:`runs_frame`, else every non-id, non-metric column."""
    axes = frame.attrs.get("axes")
    if axes is not None:
        return [a for a in axes if a in frame.columns]
    return [c for c in frame.columns if c not in ID_COLUMNS and c not in METRIC_COLUMNS]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [m for m in METRIC_COLUMNS if m in frame.columns]


def runs_frame(results: Sequence[Mapping[str, Any]], split: str = "test") -> pd.DataFrame:
    """One row per finished run with its axes, seed and ``split`` metrics.

    Failed/unfinished runs and runs without metrics for ``split`` are left out (the report counts
    them separately). A repeated (config, seed) keeps the last run: a rerun replaces its predecessor.
    """
    rows: list[dict[str, Any]] = []
    axes: list[str] = []
    for res in results:
        scores = res.get(split)
        if res.get("status", "done") != "done" or not isinstance(scores, Mapping):
            continue
        run_axes = dict(res.get("axes") or {})
        axes.extend(a for a in run_axes if a not in axes)
        row = {"config_key": str(res.get("config_key") or stable_hash(run_axes)),
               "run_id": res.get("run_id"), "seed": res.get("seed")}
        row.update({a: _axis_value(v) for a, v in run_axes.items()})
        row.update({m: float(scores[m]) for m in METRIC_COLUMNS if scores.get(m) is not None})
        rows.append(row)

    metrics = [m for m in METRIC_COLUMNS if any(m in r for r in rows)]
    columns = ["config_key", "config", *axes, "seed", "run_id", *metrics]
    if not rows:
        frame = pd.DataFrame(columns=columns)
        frame.attrs["axes"] = axes
        return frame
    frame = pd.DataFrame(rows)
    for col in [*axes, *metrics]:
        if col not in frame.columns:
            frame[col] = None if col in axes else math.nan
    frame = frame.drop_duplicates(["config_key", "seed"], keep="last")
    frame["config"] = _config_labels(frame, axes)
    frame = frame[columns].sort_values(["config", "seed"], kind="stable").reset_index(drop=True)
    frame.attrs["axes"] = axes
    return frame


def _config_labels(frame: pd.DataFrame, axes: Sequence[str]) -> pd.Series:
    """``layers=last pooling=mean model=mlp``; configs that differ only off-axis get their key appended."""
    names = _axis_labels(axes)

    def label(row: pd.Series) -> str:
        parts = [f"{names[a]}={_fmt_value(row[a])}" for a in axes if _fmt_value(row[a]) != "-"]
        return " ".join(parts) or row["config_key"]

    labels = frame.apply(label, axis=1) if len(frame) else pd.Series(dtype=str)
    keys_per_label = frame.groupby(labels)["config_key"].nunique()
    clash = labels.map(keys_per_label) > 1
    return labels.where(~clash, labels + " [" + frame["config_key"] + "]")


# --------------------------------------------------------------------------- leaderboard


def _config_info(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per config: key, label and axis values (constant within a config)."""
    cols = ["config_key", "config", *axis_columns(frame)]
    return frame[cols].drop_duplicates("config_key").set_index("config_key")


def leaderboard(frame: pd.DataFrame, metric: str = "weighted_f1") -> pd.DataFrame:
    """One row per config with mean/sd/CI/n for every metric, best ``metric`` mean first.

    Ranks use ``min`` ties, so equal means share a rank.
    """
    _require_metric(frame, metric)
    info = _config_info(frame)
    rows = []
    for key, group in frame.groupby("config_key", sort=False):
        row: dict[str, Any] = {"config": info.loc[key, "config"], "config_key": key,
                               **info.loc[key].drop("config").to_dict(), "n_seeds": int(group["seed"].nunique())}
        for m in metric_columns(frame):
            s = summarise(group[m])
            row.update({f"{m}_mean": s["mean"], f"{m}_sd": s["sd"], f"{m}_ci_low": s["ci_low"],
                        f"{m}_ci_high": s["ci_high"], f"{m}_n": s["n"]})
        rows.append(row)
    lower_first = not METRIC_INFO[metric].higher_is_better
    board = pd.DataFrame(rows).sort_values([f"{metric}_mean", "config"], ascending=[lower_first, True],
                                           na_position="last", kind="stable")
    board.insert(0, "rank", board[f"{metric}_mean"].rank(ascending=lower_first, method="min").astype("Int64"))
    return board.reset_index(drop=True)


def _require_metric(frame: pd.DataFrame, metric: str) -> None:
    if metric not in frame.columns:
        raise ConfigError(f"metric {metric!r} not in the runs; choose one of: {', '.join(metric_columns(frame))}")


# --------------------------------------------------------------------------- paired tests


def _paired(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pair by seed when given Series/mappings (only shared seeds), else by position."""
    if isinstance(a, (pd.Series, Mapping)) and isinstance(b, (pd.Series, Mapping)):
        sa, sb = pd.Series(a, dtype=float), pd.Series(b, dtype=float)
        joined = pd.concat([sa.rename("a"), sb.rename("b")], axis=1, join="inner").dropna()
        return joined["a"].to_numpy(), joined["b"].to_numpy()
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise DataFormatError(f"paired samples need equal length, got {xa.shape} and {xb.shape}")
    keep = np.isfinite(xa) & np.isfinite(xb)
    return xa[keep], xb[keep]


def _wilcoxon_variant(d: np.ndarray) -> str:
    """Which null distribution scipy's ``method='auto'`` uses (scipy 1.17 rule), so the report can say it."""
    nonzero = d[d != 0]
    has_ties = np.unique(np.abs(nonzero)).size < nonzero.size
    if d.size > 50:
        return "normal approximation"
    if not has_ties and nonzero.size == d.size:
        return "exact"
    return "exact permutation" if d.size <= 13 else "normal approximation"


def paired_test(a: Any, b: Any, method: str = "wilcoxon") -> dict[str, Any]:
    """Two-sided paired test of ``a`` vs ``b`` (paired by seed); ``mean_diff`` is mean(a - b).

    Wilcoxon uses ``zero_method="wilcox"`` (zero differences are dropped) and lets scipy choose
    exact vs approximate p-values. All-zero differences give p = 1.0 rather than NaN: identical
    results are the clearest possible "no difference".
    """
    if method not in METHOD_NAMES:
        raise ConfigError(f"method must be one of {sorted(METHOD_NAMES)}, got {method!r}")
    xa, xb = _paired(a, b)
    d = xa - xb
    out: dict[str, Any] = {"method": method, "test": f"paired {METHOD_NAMES[method]}", "n": int(d.size),
                           "mean_diff": float(d.mean()) if d.size else math.nan}
    if d.size == 0:
        return {**out, "statistic": math.nan, "p_value": math.nan, "note": "no paired values"}
    if np.all(d == 0):
        return {**out, "statistic": 0.0, "p_value": 1.0, "note": "all differences are zero"}
    if method == "wilcoxon":
        res = stats.wilcoxon(d, zero_method="wilcox", method="auto")
        out["test"] += f" ({_wilcoxon_variant(d)})"
    else:
        if d.size < 2:
            return {**out, "statistic": math.nan, "p_value": math.nan, "note": "t-test needs n >= 2"}
        res = stats.ttest_rel(xa, xb)
    return {**out, "statistic": float(res.statistic), "p_value": float(res.pvalue)}


def adjust_pvalues(p_values: Sequence[float], correction: str | None = "holm") -> np.ndarray:
    """Holm step-down (or Bonferroni) family-wise correction; NaNs stay NaN and are not in the family."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if correction in (None, "none") or m == 0:
        out[ok] = p[ok]
        return out
    if correction == "bonferroni":
        out[ok] = np.minimum(p[ok] * m, 1.0)
        return out
    if correction != "holm":
        raise ConfigError(f"correction must be 'holm', 'bonferroni' or 'none', got {correction!r}")
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * pv[order])
    adj = np.empty(m)
    adj[order] = np.minimum(stepped, 1.0)
    out[ok] = adj
    return out


def _seed_table(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """seeds x config_key matrix of ``metric`` (NaN where a config lacks that seed)."""
    return frame.pivot_table(index="seed", columns="config_key", values=metric, aggfunc="mean")


def pairwise_tests(frame: pd.DataFrame, metric: str, method: str = "wilcoxon",
                   correction: str | None = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """Paired test for every config pair over their shared seeds, p-values corrected over all pairs.

    ``config_a`` is the pair member with the higher mean ``metric``, so ``mean_diff`` is usually >= 0.
    """
    _require_metric(frame, metric)
    board = leaderboard(frame, metric)
    table = _seed_table(frame, metric)
    labels = dict(zip(board["config_key"], board["config"]))
    rows = []
    for ka, kb in itertools.combinations(board["config_key"], 2):
        res = paired_test(table[ka], table[kb], method=method)
        rows.append({"config_a": labels[ka], "config_b": labels[kb], "key_a": ka, "key_b": kb,
                     "n": res["n"], "mean_diff": res["mean_diff"], "statistic": res["statistic"],
                     "p_value": res["p_value"], "test": res["test"]})
    cols = ["config_a", "config_b", "key_a", "key_b", "n", "mean_diff", "statistic", "p_value",
            "p_adjusted", "significant", "test"]
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_adjusted", "significant")])
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), correction) if len(out) else []
    out["significant"] = out["p_adjusted"] < alpha
    out.attrs.update({"correction": correction or "none", "method": method, "alpha": alpha})
    return out[cols]


# --------------------------------------------------------------------------- Friedman / Nemenyi


def nemenyi_cd(k: int, n_blocks: int, alpha: float = 0.05) -> tuple[float, float]:
    """Critical difference of average ranks (Demšar 2006, eq. 5): returns (cd, q_alpha)."""
    q_alpha = float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))
    return q_alpha * math.sqrt(k * (k + 1) / (6.0 * n_blocks)), q_alpha


def rank_groups(ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """Maximal runs of rank-sorted configs whose rank span is < CD (the diagram's joining bars)."""
    names = sorted(ranks, key=lambda n: ranks[n])
    spans = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and ranks[names[j + 1]] - ranks[names[i]] < cd:
            j += 1
        if j > i and (not spans or j > spans[-1][1]):
            spans.append((i, j))
    return [names[i:j + 1] for i, j in spans]


def friedman_nemenyi(frame: pd.DataFrame, metric: str, alpha: float = 0.05) -> dict[str, Any]:
    """Friedman test over configs with seeds as blocks, then Nemenyi's critical difference.

    Only seeds every config has form blocks (the test needs complete blocks). Rank 1 = best
    ``metric`` (highest, for a higher-is-better metric); ties share the average rank. Skipped (``note`` set) when k < 3 or N < 2.
    """
    _require_metric(frame, metric)
    table = _seed_table(frame, metric).dropna(axis=0, how="any")
    labels = _config_info(frame)["config"]
    k, n = int(table.shape[1]), int(table.shape[0])
    base: dict[str, Any] = {"metric": metric, "k": k, "n_blocks": n, "alpha": alpha}
    if k < 3:
        return {**base, "note": f"Friedman/Nemenyi needs at least 3 configs, got {k}"}
    if n < 2:
        return {**base, "note": f"Friedman/Nemenyi needs at least 2 seeds shared by all configs, got {n}"}
    best_high = METRIC_INFO[metric].higher_is_better
    block_ranks = np.vstack([stats.rankdata(-row if best_high else row) for row in table.to_numpy()])
    avg = block_ranks.mean(axis=0)
    ranks = {labels[key]: float(r) for key, r in sorted(zip(table.columns, avg), key=lambda t: t[1])}
    if np.all(block_ranks == block_ranks[:, :1]):  # every block fully tied: scipy divides by zero
        statistic, p_value = 0.0, 1.0
    else:
        res = stats.friedmanchisquare(*table.to_numpy().T)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    cd, q_alpha = nemenyi_cd(k, n, alpha)
    return {**base, "statistic": statistic, "p_value": p_value, "ranks": ranks, "cd": cd, "q_alpha": q_alpha,
            "groups": rank_groups(ranks, cd),
            "config_keys": {labels[key]: str(key) for key in table.columns}}


# --------------------------------------------------------------------------- marginal effects


def marginal_effects(frame: pd.DataFrame, metric: str) -> dict[str, pd.DataFrame]:
    """Per axis, the ``metric`` per axis value averaged over everything else.

    Seeds are averaged within each config first, so a config with more seeds does not weigh
    more; ``n`` is then the number of configs sharing the value, and sd/CI describe how much the
    value's effect depends on the other axes.
    """
    _require_metric(frame, metric)
    axes = axis_columns(frame)
    per_config = frame.groupby("config_key", sort=False)[metric].mean()
    info = _config_info(frame).join(per_config)
    out: dict[str, pd.DataFrame] = {}
    for axis in axes:
        rows = []
        for value, group in info.groupby(axis, sort=True, dropna=False):
            rows.append({"value": value, **summarise(group[metric])})
        out[axis] = pd.DataFrame(rows, columns=["value", "mean", "sd", "n", "ci_low", "ci_high", "min", "max"])
    return out
