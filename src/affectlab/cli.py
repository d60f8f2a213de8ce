"""``affectlab`` command line: parses arguments and calls the Python API, nothing more."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from .errors import AffectLabError, InputError

out = Console()
err = Console(stderr=True)


# ---- predict -------------------------------------------------------------------------------
def _read_inputs(args: argparse.Namespace) -> list[str]:
    if args.text:
        return [" ".join(args.text)] if not args.each else list(args.text)
    if args.file:
        from .io_inputs import read_texts

        return read_texts(args.file, column=args.column)
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("give a text, --file FILE, or pipe texts on standard input (one per line)")
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise InputError("standard input held no text")
    return texts


def cmd_predict(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    modality = "audio" if args.audio else "text"
    pipeline = Pipeline.load(args.pipeline) if args.pipeline else Pipeline.default(modality)
    if args.audio and pipeline.modality != "audio":
        raise InputError(f"--audio needs a speech pipeline; {args.pipeline} is a {pipeline.modality} pipeline")
    if pipeline.modality == "audio":
        texts = list(args.audio or args.text)
        if not texts:
            raise InputError("give audio files: affectlab predict --audio clip.wav [more.wav ...]")
    else:
        texts = _read_inputs(args)
    predictions = pipeline.predict(texts, progress=len(texts) > 200)
    fmt = "json" if args.json else args.format
    rows = [p.to_dict() for p in predictions]
    for row in rows:
        if not row.get("extras"):
            row.pop("extras", None)
    if fmt == "json":
        text = json.dumps(rows[0] if len(rows) == 1 and not args.file else rows, indent=2)
    elif fmt == "jsonl":
        text = "\n".join(json.dumps(r) for r in rows)
    elif fmt == "csv":
        buffer = io.StringIO()
        classes = list(pipeline.scheme.classes)
        writer = csv.writer(buffer)
        writer.writerow(["text", "label", *classes])
        for r in rows:
            label = r["label"] if isinstance(r["label"], str) else ";".join(r["label"])
            writer.writerow([r["text"], label, *(r["probabilities"][c] for c in classes)])
        text = buffer.getvalue().rstrip("\n")
    else:
        _print_table(rows, pipeline.scheme.classes, args.top, "audio" if pipeline.modality == "audio" else "text")
        return 0
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        print(text)
    return 0


def _print_table(rows: list[dict], classes: Sequence[str], top: int, what: str = "text") -> None:
    table = Table(show_lines=False)
    table.add_column(what, overflow="fold", max_width=60)
    table.add_column("emotion", style="bold")
    table.add_column(f"top {top} probabilities")
    for r in rows:
        ranked = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:top]
        label = r["label"] if isinstance(r["label"], str) else ", ".join(r["label"]) or "(none)"
        table.add_row(r["text"], label, "  ".join(f"{k} {v:.2f}" for k, v in ranked))
    out.print(table)


# ---- run -----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from .experiments import load_config, run_experiment
    from .experiments.cv import cv_markdown, is_cross_validation, run_cross_validation

    config = load_config(args.config)
    if args.seed is not None:
        config.seed = args.seed
    if is_cross_validation(config):
        cv = run_cross_validation(config, data_root=args.data_root, out_dir=args.out, force=args.force)
        err.print(f"[bold]{config.name}[/bold]: {cv.summary['n_folds']} folds -> {cv.cv_dir}", soft_wrap=True)
        out.print(cv_markdown(cv.summary))
        return 0
    result = run_experiment(config, data_root=args.data_root, out_dir=args.out, force=args.force)
    test = result.results["test"]
    verb = "already done (use --force to rerun)" if result.skipped else "finished"
    err.print(f"[bold]{config.name}[/bold] {verb}: {result.run_dir}", soft_wrap=True)
    keys = [k for k in ("accuracy", "macro_f1", "weighted_f1", "uar", "micro_f1") if k in test]
    out.print("test  " + "  ".join(f"{k}={test[k]:.4f}" for k in keys))
    return 0


# ---- grid / report / analyze --------------------------------------------------------------
def cmd_grid(args: argparse.Namespace) -> int:
    from .experiments.grid import load_grid
    from .experiments.grid_runner import run_grid

    grid = load_grid(args.grid)
    result = run_grid(grid, out_dir=args.out, data_root=args.data_root, workers=args.workers,
                      backend=args.backend, batched=not args.no_batched,
                      tracking_uri=args.tracking_uri, track=not args.no_tracking)
    done = len(result.done) + len(result.skipped)
    err.print(f"grid {grid.name}: {done} runs finished ({len(result.done)} now, {len(result.skipped)} "
              f"before), {len(result.failed)} failed, {result.seconds:.0f} s -> {result.grid_dir}", soft_wrap=True)
    if result.failed:
        err.print("failed runs are recorded in their failed.json; rerun the command to retry them")
    return 1 if result.failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .evaluation.grid_report import write_grid_report
    from .experiments.grid_runner import collect_results

    results = collect_results(args.grid_dir)
    out_dir = Path(args.out) if args.out else Path(args.grid_dir) / "report"
    write_grid_report(out_dir, results, metric=args.metric, method=args.test)
    err.print(f"report for {len(results)} runs written to {out_dir}")
    text = (out_dir / "leaderboard.md").read_text(encoding="utf-8")
    out.print(text if len(text) < 6000 else text[:6000] + "\n… (see leaderboard.md)")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .experiments.analyze import analyze

    report = analyze(args.target, data_root=args.data_root, top_k=args.top_k, metric=args.metric,
                     out_dir=args.out)
    err.print(f"analysis written to {report}")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from .experiments.cv_ensemble import ensemble_cross_validation

    ensemble_cross_validation(args.cv_dirs, args.out, metric=args.metric, data_root=args.data_root)
    print((Path(args.out) / "ensemble_report.md").read_text())
    return 0


# ---- datasets / labels / models ------------------------------------------------------------
def cmd_datasets(args: argparse.Namespace) -> int:
    from .corpora import corpus_status

    root = Path(args.data_root)
    table = Table(title=f"datasets under {root}")
    table.add_column("loader")
    table.add_column("found")
    for name, found in corpus_status(root).items():
        mark = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "any file (tabular)"}[found]
        table.add_row(name, mark)
    out.print(table)
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    from .labels import get_scheme, list_mappings, list_schemes

    if args.scheme:
        scheme = get_scheme(args.scheme)
        kind = "multi-label" if scheme.multi_label else "single-label"
        out.print(f"[bold]{scheme.name}[/bold] ({kind}, {len(scheme)} classes): {scheme.description}")
        for i, name in enumerate(scheme.classes):
            out.print(f"  {i:>2}  {name}")
        return 0
    table = Table(title="label schemes")
    for column in ("scheme", "type", "classes"):
        table.add_column(column)
    for name in list_schemes():
        scheme = get_scheme(name)
        table.add_row(name, "multi" if scheme.multi_label else "single", str(len(scheme)))
    out.print(table)
    out.print("mappings: " + ", ".join(list_mappings()))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .features import FRONTENDS, list_layer_combinations, list_poolers
    from .models import list_aggregators, list_models

    out.print("models:      " + ", ".join(list_models("vectors")) + " (vectors); "
              + ", ".join(list_models("spectrogram")) + " (spectrograms)")
    out.print("aggregators: " + ", ".join(list_aggregators()))
    out.print("layers:      " + ", ".join(list_layer_combinations()) + ", stack_last4")
    out.print("pooling:     " + ", ".join(list_poolers()))
    out.print("audio:       " + ", ".join(FRONTENDS.names()) + ", whisper-tiny.en, or a local HF speech encoder")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="affectlab", description="Emotion recognition, research to production.")
    parser.add_argument("--version", action="version", version=f"affectlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict emotions for texts or audio files with a pipeline (default: shipped model)")
    p.add_argument("text", nargs="*", help="the text (several words are joined into one text)")
    p.add_argument("--each", action="store_true", help="treat each argument as its own text")
    p.add_argument("--file", help="txt (one text per line), CSV/TSV or JSONL file")
    p.add_argument("--column", default=None, help="text column for CSV/JSONL (default: 'text')")
    p.add_argument("--audio", nargs="+", metavar="FILE",
                   help="audio files (WAV/FLAC/OGG) for the shipped speech pipeline (or --pipeline)")
    p.add_argument("--pipeline", help="pipeline directory (default: the shipped text or speech pipeline)")
    p.add_argument("--json", action="store_true", help="JSON output (same as --format json)")
    p.add_argument("--format", choices=["table", "json", "jsonl", "csv"], default="table")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--top", type=int, default=3, help="probabilities shown per row in the table")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("run", help="train and evaluate one experiment config (YAML)")
    p.add_argument("config")
    p.add_argument("--data-root", default=None, help="folder holding the datasets (default: the config's)")
    p.add_argument("--out", default="runs", help="where run directories go (default: runs)")
    p.add_argument("--force", action="store_true", help="rerun even if this config has results")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed (a new run id)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("grid", help="run a grid (configs x seeds); resumable")
    p.add_argument("grid")
    p.add_argument("--workers", type=int, default=1, help="parallel workers (default 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--out", default="runs/grids", help="grids go to OUT/<grid name>/")
    p.add_argument("--data-root", default=None)
    p.add_argument("--no-batched", action="store_true", help="train seeds one by one")
    p.add_argument("--tracking-uri", default=None, help="MLflow URI (default: SQLite under the grid)")
    p.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    p.set_defaults(func=cmd_grid)

    p = sub.add_parser("report", help="leaderboard, paired tests and CD plot of a grid")
    p.add_argument("grid_dir")
    p.add_argument("--metric", default="weighted_f1")
    p.add_argument("--test", choices=["wilcoxon", "ttest"], default="wilcoxon")
    p.add_argument("--out", default=None, help="default: GRID_DIR/report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("analyze", help="ensembles, entropy, MI, separability, failure cases")
    p.add_argument("target", help="a run directory or a grid directory")
    p.add_argument("--data-root", default=None)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--metric", default="weighted_f1")
    p.add_argument("--out", default=None, help="default: TARGET/analysis")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("ensemble", help="ensemble cross-validated runs fold by fold (weights chosen on dev)")
    p.add_argument("cv_dirs", nargs="+", help="two or more CV directories over the same folds")
    p.add_argument("--out", required=True, help="where ensemble_results.json and ensemble_report.md go")
    p.add_argument("--metric", default="macro_f1", help="dev metric the weighted ensemble maximises")
    p.add_argument("--data-root", default=None, help="only for runs saved without dev_labels.npy")
    p.set_defaults(func=cmd_ensemble)

    p = sub.add_parser("datasets", help="list corpus loaders and whether each dataset is found")
    p.add_argument("--data-root", default="../shared/data")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("labels", help="list label schemes and mappings, or show one scheme")
    p.add_argument("scheme", nargs="?")
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser("models", help="list models, aggregators, layer combinations and poolings")
    p.set_defaults(func=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AffectLabError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:  # never a raw traceback for users; AFFECTLAB_DEBUG=1 shows it
        if os.environ.get("AFFECTLAB_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {type(error).__name__}: {error} "
                  "(rerun with AFFECTLAB_DEBUG=1 for the traceback and report it)", highlight=False,
                  soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
