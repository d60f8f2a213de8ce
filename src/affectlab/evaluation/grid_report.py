"""Grid report: leaderboard, paired tests, Friedman/Nemenyi and marginal effects for a run grid.

Every number shown is a seed statistic from :mod:`affectlab.evaluation.statistics`; this module
only lays them out as Markdown, CSV, HTML, two PNGs and a ``report.json`` summary. Files are
written atomically, so a dashboard polling the folder never reads half a report.
"""
from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .._io import atomic_write, write_json, write_text
from ..errors import ConfigError
from .tables import format_mean_sd, format_number, markdown_table
from .statistics import (
    METHOD_NAMES,
    axis_columns,
    friedman_nemenyi,
    leaderboard,
    marginal_effects,
    metric_columns,
    pairwise_tests,
    runs_frame,
)

ALPHA = 0.05
CORRECTION = "holm"
MAX_FAILURES_LISTED = 50
FILES = ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "pairwise_tests.csv",
         "cd_diagram.png", "marginal_effects.png", "report.json")

Table = tuple[list[str], list[list[str]]]


# --------------------------------------------------------------------------- formatting


def _p(x: Any) -> str:
    """Small p-values in scientific notation: 0.0000 would read as 'impossible'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.4f}" if x >= 1e-4 else f"{x:.1e}"


def _ci(low: float, high: float) -> str:
    return f"[{format_number(low)}, {format_number(high)}]"


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to null (strict JSON has no NaN)."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA:
        return None
    return obj


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return _clean(df.astype(object).where(df.notna(), None).to_dict("records"))


def _statement(method: str, n_pairs: int) -> str:
    return (f"Paired {METHOD_NAMES[method]} over seeds, Holm-corrected "
            f"(family: all {n_pairs} config pairs, α = {ALPHA}).")


# --------------------------------------------------------------------------- tables


def _leaderboard_table(board: pd.DataFrame, metrics: Sequence[str], metric: str) -> Table:
    headers = ["rank", "config", "seeds"]
    for m in metrics:
        headers.append(f"**{m}**" if m == metric else m)
        if m == metric:
            headers.append(f"{m} 95% CI")
    headers.append("config_key")
    rows = []
    for _, r in board.iterrows():
        row = [str(r["rank"]), str(r["config"]), str(r["n_seeds"])]
        for m in metrics:
            row.append(format_mean_sd(r[f"{m}_mean"], r[f"{m}_sd"]))
            if m == metric:
                row.append(_ci(r[f"{m}_ci_low"], r[f"{m}_ci_high"]))
        row.append(str(r["config_key"]))
        rows.append(row)
    return headers, rows


def _best_vs_others(pairs: pd.DataFrame, best_key: str) -> pd.DataFrame:
    """Rows of the all-pairs table that involve the best config, oriented as best − other."""
    mine = pairs[(pairs["key_a"] == best_key) | (pairs["key_b"] == best_key)].copy()
    flip = mine["key_b"] == best_key
    mine.loc[flip, "mean_diff"] = -mine.loc[flip, "mean_diff"]
    mine["other"] = np.where(flip, mine["config_a"], mine["config_b"])
    return mine


def _best_table(mine: pd.DataFrame, metric: str) -> Table:
    headers = ["other config", "paired seeds", f"Δ {metric} (best − other)", "statistic", "p",
               "p (Holm)", f"significant (α={ALPHA})", "test"]
    rows = [[str(r["other"]), str(r["n"]), format_number(r["mean_diff"]), format_number(r["statistic"], 3),
             _p(r["p_value"]), _p(r["p_adjusted"]), "yes" if r["significant"] else "no", str(r["test"])]
            for _, r in mine.iterrows()]
    return headers, rows


def _ranks_table(fn: Mapping[str, Any]) -> Table:
    return ["config", "average rank"], [[c, f"{r:.3f}"] for c, r in fn["ranks"].items()]


def _marginal_table(effect: pd.DataFrame) -> Table:
    rows = [[str(r["value"]), str(r["n"]), format_mean_sd(r["mean"], r["sd"]), _ci(r["ci_low"], r["ci_high"])]
            for _, r in effect.iterrows()]
    return ["value", "configs", "mean ± sd", "95% CI"], rows


# --------------------------------------------------------------------------- text blocks


def _friedman_lines(fn: Mapping[str, Any]) -> list[str]:
    if "note" in fn:
        return [f"Skipped: {fn['note']}."]
    lines = [f"Friedman χ² = {fn['statistic']:.3f}, p = {_p(fn['p_value'])} "
             f"(k = {fn['k']} configs, N = {fn['n_blocks']} seeds shared by all configs; rank 1 = best).",
             f"Nemenyi critical difference (α = {fn['alpha']}): CD = {fn['cd']:.3f} "
             f"(q = {fn['q_alpha']:.3f}). Configs whose average ranks differ by less than CD are not "
             "significantly different."]
    if fn["p_value"] >= fn["alpha"]:
        lines.append("The Friedman test is not significant, so the rank differences may be seed noise.")
    groups = [" / ".join(g) for g in fn["groups"]]
    if groups:
        lines.append("Groups not distinguishable by Nemenyi: " + "; ".join(f"{{{g}}}" for g in groups) + ".")
    return lines


def _power_note(method: str, mine: pd.DataFrame) -> str | None:
    """With few seeds an exact Wilcoxon test cannot reach α at all; say so instead of implying 'no effect'."""
    if method != "wilcoxon" or mine.empty:
        return None
    n = int(mine["n"].min())
    floor = 2.0 / 2 ** n if n > 0 else 1.0
    if floor < ALPHA:
        return None
    return (f"Note: with {n} paired seeds the smallest attainable two-sided Wilcoxon p is {floor:.4f} ≥ {ALPHA}; "
            "no difference can be significant at this seed count.")


def _failure_lines(failed: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for res in failed[:MAX_FAILURES_LISTED]:
        err = str(res.get("error") or "no error recorded").strip().splitlines() or [""]
        lines.append(f"{res.get('run_id', '?')}: {err[-1][:300]}")
    if len(failed) > MAX_FAILURES_LISTED:
        lines.append(f"… and {len(failed) - MAX_FAILURES_LISTED} more")
    return lines


# --------------------------------------------------------------------------- renderers


def _md_table(table: Table) -> str:
    return markdown_table(*table)


def _html_table(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{html.escape(h.strip('*'))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
     padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;white-space:nowrap}
th{background:#f0f3f7}tr:nth-child(even) td{background:#fafafa}
.statement{background:#eef5ff;border-left:4px solid #3b7dd8;padding:.5rem .8rem}
.note{color:#8a5a00}img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
code{background:#f4f4f4;padding:0 .2rem}
"""


def _render(sections: Sequence[tuple[str, list[Any]]], title: str, fmt: str) -> str:
    """Sections hold strings (paragraphs), ``Table``s, ``("img", path)`` and ``("list", items)``."""
    parts: list[str] = [f"# {title}" if fmt == "md" else f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in sections:
        if heading:
            parts.append(f"## {heading}" if fmt == "md" else f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            parts.append(_render_block(block, fmt))
    if fmt == "md":
        return "\n\n".join(parts) + "\n"
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def _render_block(block: Any, fmt: str) -> str:
    if isinstance(block, str):
        if fmt == "md":
            return block
        cls = ' class="statement"' if block.startswith("**") else ' class="note"' if block.startswith("Note") else ""
        text = re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(block.strip("*")))
        return f"<p{cls}>{text}</p>"
    kind, payload = block
    if kind == "img":
        return f"![{payload}]({payload})" if fmt == "md" else f'<img src="{html.escape(payload)}" alt="{html.escape(payload)}">'
    if kind == "list":
        if fmt == "md":
            return "\n".join("- `" + item.replace("`", "'").replace("\n", " ") + "`" for item in payload)
        return "<ul>" + "".join(f"<li><code>{html.escape(i)}</code></li>" for i in payload) + "</ul>"
    if kind == "sub":
        return f"### {payload}" if fmt == "md" else f"<h3>{html.escape(payload)}</h3>"
    return _md_table(block) if fmt == "md" else _html_table(block)


# --------------------------------------------------------------------------- figures


def _save_tight(fig: Any, path: Path) -> Path:
    """Like ``plots._save`` but with a tight bbox: the CD diagram's labels sit outside its axes."""
    from .plots import plt

    try:
        return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=120, bbox_inches="tight"))
    finally:
        plt.close(fig)


def _placeholder(path: Path, message: str) -> Path:
    from .plots import _save, plt

    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return _save(fig, path)


def plot_cd_diagram(fn: Mapping[str, Any], path: str | Path) -> Path:
    """Demšar-style critical-difference diagram: rank axis (1 = best, left), labelled configs on
    both sides, thick bars joining configs within CD of each other, CD scale bar on top."""
    from .plots import FONT, plt

    path = Path(path)
    if "ranks" not in fn:
        return _placeholder(path, f"No critical-difference diagram: {fn.get('note', 'no ranks')}.")
    ranks, cd, k = fn["ranks"], float(fn["cd"]), int(fn["k"])
    names = sorted(ranks, key=lambda n: ranks[n])
    groups = fn["groups"]
    n_left = math.ceil(k / 2)
    lo, hi = 1.0, float(max(k, 1 + cd))
    span = hi - lo
    y_groups = [1.25 + 0.2 * j for j in range(len(groups))]
    y0 = (y_groups[-1] if y_groups else 1.1) + 0.4
    step = 0.42
    y_max = y0 + step * (max(n_left, k - n_left) - 1) + 0.3

    fig = plt.figure(figsize=(8, 0.55 * y_max + 0.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(lo - 0.02 * span, hi + 0.02 * span)
    ax.set_ylim(y_max, -0.15)
    ax.axis("off")
    line = {"color": "black", "lw": 1, "clip_on": False}
    ax.plot([lo, hi], [1, 1], **line)
    for t in range(1, int(math.floor(hi)) + 1):
        ax.plot([t, t], [1, 0.9], **line)
        ax.text(t, 0.82, str(t), ha="center", va="bottom", fontsize=FONT)
    for t in np.arange(1.5, hi, 1.0):
        ax.plot([t, t], [1, 0.95], **line)
    ax.plot([lo, lo + cd], [0.35, 0.35], color="black", lw=1.5, clip_on=False)
    for x in (lo, lo + cd):
        ax.plot([x, x], [0.3, 0.4], color="black", lw=1.5, clip_on=False)
    ax.text(lo + cd / 2, 0.25, f"CD = {cd:.3f}", ha="center", va="bottom", fontsize=FONT)

    for i, name in enumerate(names):
        left = i < n_left
        y = y0 + step * (i if left else k - 1 - i)
        x_end = lo - 0.05 * span if left else hi + 0.05 * span
        r = ranks[name]
        ax.plot([r, r, x_end], [1, y, y], **line)
        ax.text(x_end + (-0.01 if left else 0.01) * span, y, f"{name}  ({r:.2f})" if left else f"({r:.2f})  {name}",
                ha="right" if left else "left", va="center", fontsize=FONT - 1)
    for y, group in zip(y_groups, groups):
        r_lo, r_hi = ranks[group[0]], ranks[group[-1]]
        ax.plot([r_lo - 0.015 * span, r_hi + 0.015 * span], [y, y], color="black", lw=4,
                solid_capstyle="round", clip_on=False)
    sig = "" if fn["p_value"] < fn["alpha"] else ", Friedman n.s."
    ax.set_title(f"{fn['metric']}: average rank over N = {fn['n_blocks']} seeds "
                 f"(Friedman p = {_p(fn['p_value'])}{sig}; Nemenyi α = {fn['alpha']})", fontsize=FONT + 1)
    return _save_tight(fig, path)


def plot_marginal_effects(frame: pd.DataFrame, metric: str, path: str | Path) -> Path:
    """One panel per axis: mean of config means per value with its 95% CI, configs as grey dots."""
    from .plots import FONT, _save, plt

    path = Path(path)
    effects = marginal_effects(frame, metric)
    if not effects:
        return _placeholder(path, "No grid axes: nothing to marginalise over.")
    per_config = frame.groupby("config_key", sort=False).agg({**{a: "first" for a in effects}, metric: "mean"})
    ncols = min(3, len(effects))
    nrows = math.ceil(len(effects) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    for ax, (axis, eff) in zip(axes.ravel(), effects.items()):
        x = np.arange(len(eff))
        labels = [str(v) for v in eff["value"]]
        for xi, value in zip(x, eff["value"]):
            pts = per_config.loc[_matches(per_config[axis], value), metric].to_numpy()
            jitter = np.linspace(-0.12, 0.12, len(pts)) if len(pts) > 1 else np.zeros(len(pts))
            ax.scatter(xi + jitter, pts, s=12, color="0.65", zorder=1)
        err = np.vstack([eff["mean"] - eff["ci_low"], eff["ci_high"] - eff["mean"]]).astype(float)
        ax.errorbar(x, eff["mean"], yerr=np.nan_to_num(err), fmt="o", color="tab:blue", capsize=5,
                    markersize=6, lw=1.5, zorder=2)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30 if max(map(len, labels), default=0) > 8 else 0,
                           ha="right" if max(map(len, labels), default=0) > 8 else "center", fontsize=FONT)
        ax.set_xlim(-0.6, len(eff) - 0.4)
        ax.set_title(axis, fontsize=FONT + 1)
        ax.set_ylabel(f"{metric} (mean, 95% CI)", fontsize=FONT)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(effects):]:
        ax.axis("off")
    fig.suptitle("Marginal effects (seed-averaged configs, averaged over the other axes)", fontsize=FONT + 2)
    return _save(fig, path)


def _matches(col: pd.Series, value: Any) -> pd.Series:
    """Equality that treats a missing axis value as equal to itself (NaN != NaN otherwise)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return col.isna()
    return col == value


# --------------------------------------------------------------------------- main entry


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    return atomic_write(path, lambda p: df.to_csv(p, index=False))


def _run_counts(results: Sequence[Mapping[str, Any]], frame: pd.DataFrame, split: str) -> dict[str, Any]:
    failed = [r for r in results if r.get("status") == "failed"]
    done = [r for r in results if r.get("status", "done") == "done"]
    no_split = sum(1 for r in done if not isinstance(r.get(split), Mapping))
    return {"n_runs": len(results), "n_done": len(done), "n_failed": len(failed),
            "n_unfinished": len(results) - len(done) - len(failed), "n_done_without_split": no_split,
            "n_replaced_duplicates": len(done) - no_split - len(frame),
            "failed": [{"run_id": r.get("run_id"), "error": r.get("error")} for r in failed]}


def _count_lines(counts: Mapping[str, Any], n_configs: int, split: str) -> list[str]:
    lines = [f"Runs: {counts['n_runs']} total, {counts['n_done']} done, {counts['n_failed']} failed "
             f"({n_configs} configs)."]
    if counts["n_unfinished"]:
        lines.append(f"Note: {counts['n_unfinished']} unfinished runs (neither done nor failed) are ignored.")
    if counts["n_done_without_split"]:
        lines.append(f"Note: {counts['n_done_without_split']} done runs have no {split} metrics and are ignored.")
    if counts["n_replaced_duplicates"]:
        lines.append(f"Note: {counts['n_replaced_duplicates']} runs repeat a (config, seed); the last one counts.")
    return lines


def write_grid_report(out_dir: str | Path, results: Sequence[Mapping[str, Any]], metric: str = "weighted_f1",
                      method: str = "wilcoxon", split: str = "test") -> dict[str, Any]:
    """Write the grid's leaderboard/tests/figures into ``out_dir``; returns the ``report.json`` summary.

    The best config is the highest seed-mean ``metric``; it is compared with every other config by
    a paired test over shared seeds, with Holm correction over all config pairs.
    """
    if method not in METHOD_NAMES:
        raise ConfigError(f"method must be one of {sorted(METHOD_NAMES)}, got {method!r}")
    out = Path(out_dir)
    results = list(results)
    frame = runs_frame(results, split=split)
    counts = _run_counts(results, frame, split)
    if frame.empty:
        return _write_empty(out, counts, metric, method, split)

    metrics = metric_columns(frame)
    board = leaderboard(frame, metric)
    pairs = pairwise_tests(frame, metric, method=method, correction=CORRECTION, alpha=ALPHA)
    fn = friedman_nemenyi(frame, metric, alpha=ALPHA)
    effects = marginal_effects(frame, metric)
    best = board.iloc[0]
    mine = _best_vs_others(pairs, best["config_key"])

    _write_csv(out / "leaderboard.csv", board)
    _write_csv(out / "pairwise_tests.csv", pairs)
    plot_cd_diagram(fn, out / "cd_diagram.png")
    plot_marginal_effects(frame, metric, out / "marginal_effects.png")

    statement = _statement(method, len(pairs))
    sections = _sections(statement, counts, board, metrics, metric, split, mine, method, fn, effects)
    title = f"Grid report: {metric} ({split})"
    write_text(out / "leaderboard.md", _render(sections, title, "md"))
    write_text(out / "leaderboard.html", _render(sections, title, "html"))

    summary = {
        "metric": metric, "split": split, "method": method, "correction": CORRECTION, "alpha": ALPHA,
        "statement": statement, **counts, "n_configs": int(len(board)), "axes": axis_columns(frame),
        "best": {"config": best["config"], "config_key": best["config_key"], "n_seeds": best["n_seeds"],
                 **{s: best[f"{metric}_{s}"] for s in ("mean", "sd", "ci_low", "ci_high")}},
        "leaderboard": _records(board),
        "best_vs_others": _records(mine.drop(columns=["other"])),
        "friedman_nemenyi": fn,
        "marginal_effects": {a: _records(e) for a, e in effects.items()},
        "files": list(FILES),
    }
    summary = _clean(summary)
    write_json(out / "report.json", summary)
    return summary


def _sections(statement: str, counts: Mapping[str, Any], board: pd.DataFrame, metrics: Sequence[str],
              metric: str, split: str, mine: pd.DataFrame, method: str, fn: Mapping[str, Any],
              effects: Mapping[str, pd.DataFrame]) -> list[tuple[str, list[Any]]]:
    best = board.iloc[0]
    head: list[Any] = [f"**{statement}**",
                       f"Ranking metric: `{metric}` on the {split} split. Cells are mean ± sd over seeds; "
                       "95% CIs use the Student t distribution.",
                       *_count_lines(counts, len(board), split)]
    best_score = format_mean_sd(best[f"{metric}_mean"], best[f"{metric}_sd"])
    best_blocks: list[Any] = [f"Best config: {best['config']} ({best_score})."]
    if mine.empty:
        best_blocks.append("Only one config: nothing to compare.")
    else:
        best_blocks.append(_best_table(mine, metric))
        note = _power_note(method, mine)
        if note:
            best_blocks.append(note)
    fried: list[Any] = list(_friedman_lines(fn))
    if "ranks" in fn:
        fried.append(_ranks_table(fn))
    fried.append(("img", "cd_diagram.png"))
    marg: list[Any] = []
    for axis, eff in effects.items():
        marg += [("sub", axis), _marginal_table(eff)]
    marg.append(("img", "marginal_effects.png"))
    sections: list[tuple[str, list[Any]]] = [
        ("", head),
        ("Leaderboard", [_leaderboard_table(board, metrics, metric)]),
        ("Best config vs every other config", best_blocks),
        ("Friedman test and Nemenyi critical difference", fried),
        ("Marginal effects", marg),
    ]
    if counts["failed"]:
        sections.append((f"Failed runs ({counts['n_failed']})", [("list", _failure_lines(counts["failed"]))]))
    return sections


def _write_empty(out: Path, counts: Mapping[str, Any], metric: str, method: str, split: str) -> dict[str, Any]:
    """No finished run: still write every file, so consumers need no special case."""
    statement = _statement(method, 0)
    sections: list[tuple[str, list[Any]]] = [("", [f"**{statement}**", f"No finished runs with {split} metrics.",
                                                   *_count_lines(counts, 0, split)])]
    if counts["failed"]:
        sections.append((f"Failed runs ({counts['n_failed']})", [("list", _failure_lines(counts["failed"]))]))
    title = f"Grid report: {metric} ({split})"
    write_text(out / "leaderboard.md", _render(sections, title, "md"))
    write_text(out / "leaderboard.html", _render(sections, title, "html"))
    _write_csv(out / "leaderboard.csv", pd.DataFrame(columns=["rank", "config", "config_key", "n_seeds"]))
    _write_csv(out / "pairwise_tests.csv", pd.DataFrame(columns=["config_a", "config_b", "p_value", "p_adjusted"]))
    _placeholder(out / "cd_diagram.png", "No finished runs.")
    _placeholder(out / "marginal_effects.png", "No finished runs.")
    summary = _clean({"metric": metric, "split": split, "method": method, "correction": CORRECTION, "alpha": ALPHA,
                      "statement": statement, **counts, "n_configs": 0, "best": None, "files": list(FILES)})
    write_json(out / "report.json", summary)
    return summary
