"""``affectlab`` command line: parses arguments and calls the Python API, nothing more."""
from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .errors import AffectLabError, DataNotFoundError, InputError

# Heavy modules (torch, transformers, pandas, sklearn, matplotlib, mlflow, ray, the experiments
# package) are imported inside the commands that need them, so `affectlab --help`, input errors
# and `import affectlab.cli` stay fast. Even rich is loaded on first output.


@functools.lru_cache(maxsize=None)
def _console(stderr: bool):
    from rich.console import Console

    return Console(stderr=stderr)


def _out():
    return _console(False)


def _err():
    return _console(True)


def _table(**kwargs):
    from rich.table import Table

    return Table(**kwargs)


# ---- predict -------------------------------------------------------------------------------
#: Items per ``Pipeline.predict`` call: progress is reported (and a bad audio file skipped)
#: between calls. Audio chunks stay small (a Whisper clip takes ~1 s on a CPU core).
TEXT_CHUNK = 256
AUDIO_CHUNK = 8
PROGRESS_SECONDS = 5.0  # between progress lines when standard error is not a terminal


def _warn(message: str) -> None:
    from rich.markup import escape

    _err().print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)


def _pipeline_dir(pipeline: str | None) -> str | None:
    """A directory, or the name of a pipeline shipped in the package (``text-meld7``)."""
    if pipeline is None or Path(pipeline).exists():
        return pipeline
    from .pipeline import _shipped_root, shipped_pipelines

    return str(_shipped_root() / pipeline) if pipeline in shipped_pipelines() else pipeline


def _load_pipeline(pipeline: str | None, modality: str):
    from .pipeline import Pipeline

    return Pipeline.load(_pipeline_dir(pipeline)) if pipeline else Pipeline.default(modality)


def _peek_modality(pipeline_dir: str | None) -> str | None:
    """A pipeline's modality from its pipeline.json without importing torch (None: unknown,
    let Pipeline.load say why)."""
    if pipeline_dir is None:
        return None
    try:
        spec = json.loads((Path(_pipeline_dir(pipeline_dir)) / "pipeline.json").read_text(encoding="utf-8"))
        return str(spec.get("modality") or spec.get("features", {}).get("modality") or "text")
    except (OSError, ValueError, AttributeError):
        return None


def _read_inputs(args: argparse.Namespace, modality: str):
    from . import io_inputs

    table = dict(sep=io_inputs.parse_sep(args.sep), column=args.column, id_column=args.id_column,
                 header=not args.no_header, warn=_warn)
    if modality == "audio":
        if args.file:
            return io_inputs.audio_table_inputs(args.file, **table)
        arguments = list(args.audio or args.text)
        if not arguments:
            raise InputError("give audio files, folders or globs: affectlab predict --audio clip.wav [DIR] ['*.wav']")
        return io_inputs.audio_inputs(arguments)
    if args.conversation:
        if args.text or args.file:
            raise InputError("give either --conversation or texts/--file, not both")
        return io_inputs.read_inputs(args.conversation, **table)
    if args.text:
        if args.file:
            raise InputError("give either texts or --file, not both")
        texts = [" ".join(args.text)] if not args.each else list(args.text)
        return io_inputs.Inputs(texts, many=len(texts) > 1)
    if args.file and args.file != "-":
        return io_inputs.read_inputs(args.file, **table)
    return io_inputs.read_stdin(**table)


class _Progress:
    """A bar on a terminal; otherwise a line every PROGRESS_SECONDS (``predicted 320/1440
    (45/s)``) and one at the end, so redirected runs still show they are alive."""

    def __init__(self, total: int, unit: str, enabled: bool) -> None:
        self.total, self.unit, self.enabled = total, unit, enabled
        self.done = 0
        self.start = self.last = time.monotonic()
        try:
            self.interval = float(os.environ.get("AFFECTLAB_PROGRESS_SECONDS", PROGRESS_SECONDS))
        except ValueError:
            self.interval = PROGRESS_SECONDS
        self.bar = None
        if enabled and sys.stderr is not None and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("predicting", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                console=_err(), transient=True)
            self.task = self.bar.add_task("predict", total=total)
            self.bar.start()

    def _rate(self) -> str:
        seconds = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / seconds
        return f"{rate:.0f}/s" if rate >= 10 else f"{rate:.2g}/s"

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=n)
        elif time.monotonic() - self.last >= self.interval and self.done < self.total:
            self.last = time.monotonic()
            print(f"predicted {self.done}/{self.total} {self.unit} ({self._rate()})", file=sys.stderr, flush=True)

    def close(self, finished: bool = True) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.stop()
        if not finished:
            return
        seconds = time.monotonic() - self.start
        print(f"predicted {self.done}/{self.total} {self.unit} in {seconds:.1f} s ({self._rate()})",
              file=sys.stderr, flush=True)


def _predict_chunk(pipeline, items: list[str], on_error: str, skipped: list[tuple[str, str]]) -> list:
    """Predictions for ``items`` (None where a file was skipped). With ``on_error="skip"`` a file
    the reader rejects (an AffectLabError carrying its ``path``) is dropped and the rest retried."""
    todo = list(range(len(items)))
    while todo:
        try:
            predictions = pipeline.predict([items[i] for i in todo])
        except AffectLabError as error:
            bad = _failed_item(error, [items[i] for i in todo])
            if on_error != "skip" or bad is None:
                raise
            skipped.append((items[todo[bad]], getattr(error, "reason", None) or str(error)))
            del todo[bad]
            continue
        result: list = [None] * len(items)
        for i, prediction in zip(todo, predictions):
            result[i] = prediction
        return result
    return [None] * len(items)


def _failed_item(error: AffectLabError, items: list[str]) -> int | None:
    """Which of ``items`` an error is about: its ``path`` attribute (AudioReadError), or the one
    file a "not found" message names."""
    path = getattr(error, "path", None)
    candidates = [path] if path else [item for item in items if item in str(error)]
    for candidate in candidates:
        for i, item in enumerate(items):
            if item == candidate or Path(item) == Path(candidate):
                return i
    return None


def _predict(pipeline, inputs, *, audio: bool, on_error: str) -> tuple[list, list[tuple[str, str]]]:
    chunk = AUDIO_CHUNK if audio else TEXT_CHUNK
    items = inputs.items
    skipped: list[tuple[str, str]] = []
    if audio:  # a missing file fails before any work (or is skipped), not after many batches
        missing = [i for i, item in enumerate(items) if not Path(item).is_file()]
        if missing and on_error != "skip":
            raise DataNotFoundError(f"audio file not found: {', '.join(items[i] for i in missing[:3])}"
                                    + (f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""))
        skipped.extend((items[i], "not found") for i in missing)
        items = [None if i in set(missing) else item for i, item in enumerate(items)]
    predictions: list = []
    progress = _Progress(len(items), "files" if audio else "texts", enabled=len(items) > chunk)
    try:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            real = [i for i, item in enumerate(part) if item is not None]
            got = _predict_chunk(pipeline, [part[i] for i in real], on_error, skipped) if real else []
            merged: list = [None] * len(part)
            for i, prediction in zip(real, got):
                merged[i] = prediction
            predictions.extend(merged)
            progress.advance(len(part))
    except BaseException:
        progress.close(finished=False)
        raise
    progress.close()
    return predictions, skipped


CONVERSATION_COLUMNS = ("conversation", "dialogue", "conversation_id", "dialogue_id")


def _predict_conversations(pipeline, inputs, forecasts: dict | None = None) -> list:
    """Each conversation's turns in file order, predicted with their context (and speakers and
    tags, where the pipeline was trained with them); rows without a conversation id form one.
    ``forecasts`` receives each conversation's next-turn forecast where the pipeline has one."""
    tags = pipeline.input_spec.get("window", {}).get("tags", [])
    key = next((c for c in CONVERSATION_COLUMNS if any(c in row for row in inputs.columns)), None)
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(inputs.columns):
        groups.setdefault(str(row.get(key, "")) if key else "", []).append(i)
    predictions: list = [None] * len(inputs)
    progress = _Progress(len(inputs), "turns", enabled=len(inputs) > TEXT_CHUNK)
    for rows in groups.values():
        speakers = [inputs.columns[i].get("speaker") for i in rows]
        values = {t: [inputs.columns[i].get(t) for i in rows] for t in tags}
        got = pipeline.predict([inputs.items[i] for i in rows], conversation=True,
                               speakers=speakers if any(speakers) else None, tags=values or None)
        for i, prediction in zip(rows, got):
            predictions[i] = prediction
        if forecasts is not None:
            from .forecasting.trajectory import next_turn_forecast

            forecast = next_turn_forecast(pipeline, got)
            if forecast is not None:
                forecasts[str(inputs.columns[rows[0]].get(key, "")) if key else ""] = forecast
        progress.advance(len(rows))
    progress.close()
    return predictions


def _report_skipped(skipped: list[tuple[str, str]], total: int) -> None:
    if not skipped:
        return
    _err().print(f"skipped {len(skipped)} of {total} audio files (--on-error skip):", highlight=False)
    for path, reason in skipped[:10]:
        _err().print(f"  {path}: {(reason.splitlines() or [''])[0][:160]}", highlight=False, soft_wrap=True,
                     markup=False)
    if len(skipped) > 10:
        _err().print(f"  … and {len(skipped) - 10} more", highlight=False)


OUTPUT_FIELDS = ("label", "probabilities", "extras", "tasks")


def _rows(inputs, predictions: list, key: str, classes: Sequence[str]) -> list[dict]:
    """One output row per prediction: the kept input columns (renamed ``input_<name>`` where
    they clash with an output field), the input under ``key`` (``text`` or ``audio``), the
    label, the probabilities and any extras."""
    reserved = {key, *OUTPUT_FIELDS, *classes}
    rows = []
    for item, columns, prediction in zip(inputs.items, inputs.columns, predictions):
        if prediction is None:
            continue
        row = {(f"input_{k}" if k in reserved else k): v for k, v in columns.items()}
        row[key] = item
        row["label"] = prediction.label
        row["probabilities"] = dict(prediction.probabilities)
        extras = getattr(prediction, "extras", None)
        if extras:
            row["extras"] = extras
        tasks = getattr(prediction, "tasks", None)
        if tasks and len(tasks) > 1:  # multi-task pipelines: every task's output
            row["tasks"] = tasks
        rows.append(row)
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _label_text(label, sep: str = ";") -> str:
    return label if isinstance(label, str) else sep.join(label)


def _output_format(fmt: str | None, output: str | None) -> str:
    if fmt is not None and not (fmt == "table" and output):
        return fmt
    if not output:
        return "table"
    suffix = Path(output).suffix.lower()
    formats = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
    if suffix not in formats:
        raise InputError(f"--output {output}: give --format json, jsonl or csv (the table is for the terminal)")
    return formats[suffix]


def cmd_predict(args: argparse.Namespace) -> int:
    if args.audio and args.file:
        raise InputError("give either --audio or --file, not both")
    _output_format(None if args.json else args.format, args.output)  # a bad --output fails now
    modality = "audio" if args.audio else (_peek_modality(args.pipeline) or "text")
    inputs = _read_inputs(args, modality)  # input errors before the (slow) model is loaded

    from .pipeline import Pipeline

    pipeline = _load_pipeline(args.pipeline, modality)
    if args.audio and pipeline.modality != "audio":
        raise InputError(f"--audio needs a speech pipeline; {args.pipeline} is a {pipeline.modality} pipeline")
    if pipeline.modality != modality:  # pipeline.json did not say; read the inputs for its modality
        modality = pipeline.modality
        inputs = _read_inputs(args, modality)
    audio = modality == "audio"
    if args.conversation:
        if audio:
            raise InputError("--conversation reads text turns; this is a speech pipeline")
        forecasts: dict = {}
        predictions, skipped = _predict_conversations(pipeline, inputs, forecasts), []
    else:
        predictions, skipped = _predict(pipeline, inputs, audio=audio, on_error=args.on_error)
    _report_skipped(skipped, len(inputs))
    if skipped and len(skipped) == len(inputs):
        raise InputError(f"none of the {len(inputs)} audio files could be read")
    key = "audio" if audio else "text"
    classes = list(pipeline.scheme.classes)
    rows = _rows(inputs, predictions, key, classes)
    fmt = "json" if args.json else _output_format(args.format, args.output)
    if fmt == "json":
        text = json.dumps(rows[0] if len(rows) == 1 and not inputs.many else rows, indent=2, ensure_ascii=False)
    elif fmt == "jsonl":
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    elif fmt == "csv":
        kept = list(dict.fromkeys(k for r in rows for k in r if k not in {key, *OUTPUT_FIELDS}))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        more = [f for f in ("extras", "tasks") if any(f in r for r in rows)]  # JSON cells, as `affectlab score`
        writer.writerow([*kept, key, "label", *classes, *more])
        for r in rows:
            writer.writerow([*(_cell(r.get(k)) for k in kept), r[key], _label_text(r["label"]),
                             *(r["probabilities"][c] for c in classes), *(_cell(r.get(f)) for f in more)])
        text = buffer.getvalue().rstrip("\n")
    else:
        _print_table(rows, classes, args.top, key)
        for conversation, forecast in (forecasts.items() if args.conversation else ()):
            ranked = sorted(forecast["probabilities"].items(), key=lambda kv: -kv[1])[:args.top]
            name = f" of {conversation}" if conversation else ""
            _out().print(f"next turn{name} (forecast, {forecast['method']}): "
                         + ", ".join(f"{c} {p:.2f}" for c, p in ranked), highlight=False)
        return 0
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        _err().print(f"wrote {len(rows)} predictions to {args.output}", highlight=False)
    else:
        print(text)
    return 0


def _task_summary(output: dict, top: int) -> str:
    """One task's output in a line: values, a score, or the label with its top probabilities."""
    if "values" in output:
        values = output["values"]
        if len(values) == 1:
            return f"{next(iter(values.values())):.2f}"
        return "  ".join(f"{k} {v:.2f}" for k, v in values.items())
    if "value" in output:
        return "n/a (no context)" if output["value"] is None else f"{output['value']:.2f}"
    ranked = sorted(output["probabilities"].items(), key=lambda kv: -kv[1])[:top]
    label = output["label"] if isinstance(output["label"], str) else ", ".join(output["label"]) or "(none)"
    return f"[bold]{label}[/bold]   " + "  ".join(f"{k} {v:.2f}" for k, v in ranked)


def _wheel_summary(reading: dict) -> str:
    band = reading.get("band") or ""
    kind = f"dyad of {' + '.join(reading.get('primaries') or [])}" if reading.get("dyad") else ""
    detail = "; ".join(part for part in (kind, band) if part)
    text = f"[bold]{reading['state']}[/bold]" + (f" ({detail})" if detail else "")
    if reading.get("primaries") and not reading.get("dyad"):
        text += "   primaries: " + ", ".join(reading["primaries"])
    if reading.get("conflicts"):
        text += "   [red]conflict: " + "; ".join(" vs ".join(pair) for pair in reading["conflicts"]) + "[/red]"
    return text


def _print_tasks(rows: list[dict], top: int, what: str = "text") -> None:
    """Multi-task pipelines: one block per input, a line per task (and per readout)."""
    for r in rows:
        speaker = r.get("speaker")
        title = f"{speaker}: {r[what]}" if speaker else r[what]
        table = _table(show_lines=False, title=title, title_justify="left", title_style="bold")
        table.add_column("output", style="bold")
        table.add_column("prediction", overflow="fold")
        for name, reading in (r.get("extras") or {}).items():
            if name == "wheel":
                table.add_row("wheel", _wheel_summary(reading))
        for name, output in r["tasks"].items():
            table.add_row(name, _task_summary(output, top if name != "label" else max(top, 8)))
        _out().print(table)


def _print_table(rows: list[dict], classes: Sequence[str], top: int, what: str = "text") -> None:
    if rows and all("tasks" in r for r in rows) and len(rows) <= 20:
        _print_tasks(rows, top, what)
        return
    table = _table(show_lines=False)
    kept = list(dict.fromkeys(k for r in rows for k in r if k not in {what, *OUTPUT_FIELDS}))
    for name in kept:
        table.add_column(name, overflow="fold", max_width=24)
    table.add_column(what, overflow="fold", max_width=60)
    table.add_column("emotion", style="bold")
    table.add_column(f"top {top} probabilities")
    for r in rows:
        ranked = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:top]
        label = r["label"] if isinstance(r["label"], str) else ", ".join(r["label"]) or "(none)"
        table.add_row(*(_cell(r.get(k)) for k in kept), r[what], label,
                      "  ".join(f"{k} {v:.2f}" for k, v in ranked))
    _out().print(table)


# ---- evaluate --------------------------------------------------------------------------------
def cmd_compare_llm(args: argparse.Namespace) -> int:
    import os

    from .experiments.config import load_config
    from .llm.client import ChatLabeler
    from .llm.compare import compare_llm

    config = load_config(args.config)
    pipeline = _load_pipeline(args.pipeline, "text")
    labeler = ChatLabeler(args.llm_url, args.llm_model, api_key=args.llm_key or os.environ.get("AFFECTLAB_LLM_KEY"),
                          cache_dir=args.cache, retries=args.retries, fallback=args.fallback,
                          schema_style=args.schema_style, default_class="neutral")
    try:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = compare_llm(pipeline, labeler, config, split=args.split, limit=args.limit, seed=args.seed,
                             data_root=args.data_root, rows_out=out.with_suffix(".rows.csv"))
    finally:
        labeler.close()
    out.write_text(json.dumps(report, indent=2))
    agreement = report["agreement"]
    table = _table(title=f"{report['corpus']} {report['split']}: {report['rows']} rows, pipeline vs {report['model']}")
    for column in ("", "pipeline", "LLM"):
        table.add_column(column, justify="left" if not column else "right")
    for metric in ("accuracy", "weighted_f1", "macro_f1"):
        table.add_row(metric, f"{agreement[f'pipeline_{metric}']:.4f}", f"{agreement[f'llm_{metric}']:.4f}")
    _out().print(table)
    _out().print(f"agreement {agreement['agreement']:.4f} (Cohen's kappa {agreement['cohen_kappa']:.4f}) on "
                 f"{report['labelled_by_both']} rows labelled by both; answers: {report['answers_from_llm']} from the "
                 f"LLM, {report['answers_from_cache']} cached, {report['keyword_fallback']} keyword fallback, "
                 f"{report['unanswered']} unanswered", highlight=False)
    if report["keyword_fallback"]:
        _err().print(f"[yellow]the endpoint did not answer: {report['keyword_fallback']} rows were labelled by "
                     "keywords instead (llm_source in the rows file)[/yellow]")
    _out().print(f"report: {out}; rows: {out.with_suffix('.rows.csv')}", highlight=False)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .experiments.config import load_config
    from .experiments.evaluate import evaluate_pipeline
    from .pipeline import Pipeline

    config = load_config(args.config)
    pipeline = _load_pipeline(args.pipeline, "text")
    report = evaluate_pipeline(pipeline, config, split=args.split, task=args.task, out_dir=args.out,
                               data_root=args.data_root)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    table = _table(title=f"{report['corpus']} {args.split} ({report['rows']} rows) - pipeline task {report['task']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric in ("micro_f1", "macro_f1", "weighted_f1", "samples_f1", "accuracy"):
        if isinstance(report.get(metric), (int, float)):
            table.add_row(metric, f"{report[metric]:.4f}")
    _out().print(table)
    shares = _table(title="how often each class is predicted vs true")
    for column in ("class", "predicted", "true"):
        shares.add_column(column, justify="left" if column == "class" else "right")
    for name, share in report["class_shares"].items():
        shares.add_row(name, f"{share['predicted']:.3f}", f"{share['true']:.3f}")
    _out().print(shares)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from .experiments.config import load_config
    from .experiments.probe import probe_pipeline

    result = probe_pipeline(_load_pipeline(args.pipeline, "text"), load_config(args.config), column=args.column,
                            per_group=args.per_group, seed=args.seed, data_root=args.data_root)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _out().print(f"linear probe for {result['column']!r} on the pipeline's representation "
                 f"({result['train_rows']} train / {result['test_rows']} test rows): accuracy "
                 f"{result['accuracy']:.3f} (majority {result['majority_baseline']:.3f}), balanced accuracy "
                 f"{result['balanced_accuracy']:.3f} (chance {result['chance_balanced']:.3f})", highlight=False)
    return 0


# ---- explain -------------------------------------------------------------------------------
def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain, to_html

    pipeline = _load_pipeline(args.pipeline, "text")
    result = explain(pipeline, args.text, task=args.task, target=args.target, mode=args.mode, steps=args.steps)
    if args.html:
        Path(args.html).write_text(to_html(result), encoding="utf-8")
        _err().print(f"wrote {args.html}", highlight=False)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    from rich.text import Text

    peak = max((abs(a) for _, a in result.words), default=1.0) or 1.0
    line = Text()
    for word, score in result.words:
        shade = int(80 + 175 * min(1.0, abs(score) / peak))
        colour = f"rgb(0,{shade},0)" if score >= 0 else f"rgb({shade},0,0)"
        line.append(word, style=f"bold {colour}" if abs(score) / peak > 0.5 else colour)
        line.append(" ")
    _out().print(f"{result.task}: [bold]{result.target}[/bold] ({result.probability:.2f})   "
                 "[green]green[/green] pushes towards it, [red]red[/red] away")
    _out().print(line)
    table = _table(show_lines=False)
    table.add_column("word")
    table.add_column("attribution", justify="right")
    for word, score in result.words:
        table.add_row(word, f"{score:+.4f}")
    _out().print(table)
    _out().print(f"Integrated Gradients, {result.mode} mode, {result.steps} steps, convergence delta "
                 f"{result.delta:.4f}, {result.seconds:.2f} s", highlight=False)
    return 0


# ---- score ---------------------------------------------------------------------------------
def cmd_score(args: argparse.Namespace) -> int:
    from .scoring import ScoreJob, score_file

    job = ScoreJob(args.input, args.out, _pipeline_dir(args.pipeline), args.id_column, args.text_column, args.chunk_size)
    result = score_file(job, workers=args.workers, progress=not args.quiet, backend=args.backend)
    _err().print(f"wrote {args.out}: {result['rows_scored']} rows scored now, {result['rows_already_done']} "
                 "from an earlier run", highlight=False)
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from .onnx_backend import export_onnx
    from .pipeline import Pipeline

    folder = export_onnx(Pipeline.load(_pipeline_dir(args.pipeline), device="cpu"), args.out, quantize=not args.no_int8)
    _err().print(f"wrote {', '.join(sorted(p.name for p in folder.glob('*.onnx')))} to {folder}", highlight=False)
    return 0


# ---- serve, keys ----------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .serve.settings import ServeSettings

    settings = ServeSettings(pipelines=args.pipelines, database_url=args.database_url, store_text=args.store_text,
                             backend=args.backend, micro_batching=not args.no_batching,
                             rate_per_minute=args.rate_per_minute, burst=args.burst,
                             max_text_chars=args.max_text_chars)
    if args.workers > 1:  # each worker process builds its own app from these settings
        os.environ["AFFECTLAB_SERVE_SETTINGS"] = settings.model_dump_json()
        uvicorn.run("affectlab.serve.app:app_from_environment", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=args.log_level)
        return 0
    from .serve.app import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from .serve.database import make_engine, migrate
    from .serve.keys import create_key, list_keys, revoke_key

    engine = make_engine(args.database_url)
    migrate(engine)
    if args.action == "create":
        if not args.tenant:
            raise InputError("affectlab keys create needs --tenant NAME")
        key_id, key = create_key(engine, args.tenant, admin=args.admin)
        _err().print(f"key {key_id} for tenant {args.tenant!r}{' (admin)' if args.admin else ''}; "
                     "store it now, it is not shown again:", highlight=False)
        print(key)
    elif args.action == "revoke":
        if not args.key_id:
            raise InputError("affectlab keys revoke needs the key id (affectlab keys list shows them)")
        revoke_key(engine, args.key_id)
        _err().print(f"revoked {args.key_id}", highlight=False)
    else:
        table = _table()
        for column in ("key id", "tenant", "admin", "created", "revoked"):
            table.add_column(column)
        for row in list_keys(engine):
            table.add_row(row["key_id"], row["tenant"], "yes" if row["admin"] else "", str(row["created_at"])[:19],
                          str(row["revoked_at"])[:19] if row["revoked_at"] else "")
        _out().print(table)
    return 0


# ---- dashboard -------------------------------------------------------------------------------
def cmd_dashboard(args: argparse.Namespace) -> int:
    """Streamlit in a subprocess on ``dashboard/app.py``; the key travels in the environment so it
    never shows in ``ps``."""
    import importlib.util
    import subprocess

    if any(importlib.util.find_spec(m) is None for m in ("streamlit", "plotly", "httpx")):
        raise InputError("the dashboard needs Streamlit and Plotly: pip install 'affectlab[dashboard]'")
    from .dashboard.client import ApiClient, ApiError

    key = args.key or os.environ.get("AFFECTLAB_API_KEY")
    if not key:
        _err().print("[yellow]warning:[/yellow] no API key (--key or AFFECTLAB_API_KEY): the page will ask for "
                     "one", highlight=False)
    client = ApiClient(args.api, key, timeout=5)  # a URL that is not http(s) can never work: an error
    try:  # say now, not only on the page, when the API is down or the key is wrong
        client.pipelines()
    except ApiError as error:
        _err().print(f"[yellow]warning:[/yellow] {error}", highlight=False, soft_wrap=True)
    finally:
        client.close()
    app = Path(__file__).resolve().parent / "dashboard" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
               "--server.port", str(args.port), "--server.address", args.host,
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
               "--", "--api", args.api]
    if args.llm_url:
        command += ["--llm-url", args.llm_url]
    if args.llm_report:
        command += ["--llm-report", args.llm_report]
    env = {**os.environ, **({"AFFECTLAB_API_KEY": key} if key else {})}
    _err().print(f"dashboard on http://{args.host}:{args.port} (API {args.api})", highlight=False)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


# ---- run -----------------------------------------------------------------------------------
REGRESSION_METRICS = ("mean_pearson_r", "mean_mae", "mean_rmse")


def metrics_table(results: dict) -> str:
    """metric | dev | test for the headline metrics a run recorded (dev left blank if absent),
    then one block per further task (``tasks:``) on its labelled rows."""
    from .evaluation.metrics import metric_names  # the one metric list (evaluation.metrics.METRIC_INFO)

    def show(split: dict, k: str) -> str:
        value = split.get(k)
        return f"{value:.4f}" if isinstance(value, (int, float)) else "-"

    def block(title: str, dev: dict, test: dict) -> list[str]:
        keys = [k for k in (*metric_names(), *REGRESSION_METRICS) if k in test or k in dev]
        width = max([len(title), *map(len, keys)])
        return [f"{title:<{width}}  {'dev':>6}  {'test':>6}",
                *(f"{k:<{width}}  {show(dev, k):>6}  {show(test, k):>6}" for k in keys)]

    lines = block("metric", results.get("dev", {}) or {}, results.get("test", {}) or {})
    for name, task in (results.get("tasks") or {}).items():
        lines += ["", *block(f"task {name}", task.get("dev", {}), task.get("test", {}))]
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from .experiments import load_config, run_experiment
    from .experiments.cv import cv_markdown, is_cross_validation, run_cross_validation

    config = load_config(args.config)
    if args.seed is not None:
        config.seed = args.seed
    if is_cross_validation(config):
        cv = run_cross_validation(config, data_root=args.data_root, out_dir=args.out, force=args.force)
        _err().print(f"[bold]{config.name}[/bold]: {cv.summary['n_folds']} folds -> {cv.cv_dir}", soft_wrap=True)
        _out().print(cv_markdown(cv.summary))
        return 0
    result = run_experiment(config, data_root=args.data_root, out_dir=args.out, force=args.force)
    verb = "already done (use --force to rerun)" if result.skipped else "finished"
    _err().print(f"[bold]{config.name}[/bold] {verb}: {result.run_dir}", soft_wrap=True)
    print(metrics_table(result.results))
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
    _err().print(f"grid {grid.name}: {done} runs finished ({len(result.done)} now, {len(result.skipped)} "
              f"before), {len(result.failed)} failed, {result.seconds:.0f} s -> {result.grid_dir}", soft_wrap=True)
    if result.failed:
        _err().print("failed runs are recorded in their failed.json; rerun the command to retry them")
    return 1 if result.failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .evaluation.grid_report import write_grid_report
    from .experiments.grid_runner import collect_results

    results = collect_results(args.grid_dir)
    out_dir = Path(args.out) if args.out else Path(args.grid_dir) / "report"
    write_grid_report(out_dir, results, metric=args.metric, method=args.test)
    _err().print(f"report for {len(results)} runs written to {out_dir}")
    text = (out_dir / "leaderboard.md").read_text(encoding="utf-8")
    _out().print(text if len(text) < 6000 else text[:6000] + "\n… (see leaderboard.md)")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .experiments.analyze import analyze

    report = analyze(args.target, data_root=args.data_root, top_k=args.top_k, metric=args.metric,
                     out_dir=args.out)
    _err().print(f"analysis written to {report}")
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
    table = _table(title=f"datasets under {root}")
    table.add_column("loader")
    table.add_column("found")
    for name, found in corpus_status(root).items():
        mark = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "any file (tabular)"}[found]
        table.add_row(name, mark)
    _out().print(table)
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    from .labels import get_scheme, list_mappings, list_schemes

    if args.scheme:
        scheme = get_scheme(args.scheme)
        kind = "multi-label" if scheme.multi_label else "single-label"
        _out().print(f"[bold]{scheme.name}[/bold] ({kind}, {len(scheme)} classes): {scheme.description}")
        for i, name in enumerate(scheme.classes):
            _out().print(f"  {i:>2}  {name}")
        return 0
    table = _table(title="label schemes")
    for column in ("scheme", "type", "classes"):
        table.add_column(column)
    for name in list_schemes():
        scheme = get_scheme(name)
        table.add_row(name, "multi" if scheme.multi_label else "single", str(len(scheme)))
    _out().print(table)
    _out().print("mappings: " + ", ".join(list_mappings()))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .features import FRONTENDS, list_layer_combinations, list_poolers
    from .models import list_aggregators, list_models

    _out().print("models:      " + ", ".join(list_models("vectors")) + " (vectors); "
              + ", ".join(list_models("spectrogram")) + " (spectrograms)")
    _out().print("aggregators: " + ", ".join(list_aggregators()))
    _out().print("layers:      " + ", ".join(list_layer_combinations()) + ", stack_last4")
    _out().print("pooling:     " + ", ".join(list_poolers()))
    _out().print("audio:       " + ", ".join(FRONTENDS.names()) + ", whisper-tiny.en, or a local HF speech encoder")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="affectlab", description="Emotion recognition, research to production.")
    parser.add_argument("--version", action="version", version=f"affectlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict emotions for texts or audio files with a pipeline (default: shipped model)",
                       description="Predict emotions for texts (arguments, --file, or standard input) or audio "
                                   "files (--audio). Outputs keep the input's other columns (or --id-column).")
    p.add_argument("text", nargs="*", help="the text (several words are joined into one text)")
    p.add_argument("--each", action="store_true", help="treat each argument as its own text")
    p.add_argument("--file", help="txt (one text per line), CSV/TSV/any delimited file (--sep) or JSONL; "
                                  "'-' for standard input")
    p.add_argument("--conversation", metavar="FILE",
                   help="JSONL or CSV of dialogue turns in order (text; optional speaker, conversation id, and "
                        "tag columns such as scenario): every turn is predicted with the turns before it")
    p.add_argument("--sep", default=None,
                   help="field separator of a delimited --file or standard input (e.g. ';', '\\t' or tab); "
                        "default: ',' for .csv, tab for .tsv, whole lines for anything else")
    p.add_argument("--column", default=None,
                   help="text column (audio column for a speech pipeline) of a delimited or JSONL file "
                        "(default: 'text' / 'audio'; with --no-header a number, default 1)")
    p.add_argument("--id-column", default=None,
                   help="keep only this input column in the output (default: keep all other columns)")
    p.add_argument("--no-header", action="store_true",
                   help="the delimited file has no header line; columns are numbered 1, 2, …")
    p.add_argument("--audio", nargs="+", metavar="PATH",
                   help="audio files (WAV/FLAC/OGG/MP3), folders (searched recursively) or quoted globs "
                        "such as 'clips/*.wav' for the shipped speech pipeline (or --pipeline)")
    p.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                   help="an unreadable audio file stops the batch (raise, default) or is skipped and "
                        "listed on standard error (skip)")
    p.add_argument("--pipeline", help="pipeline directory, or a shipped pipeline's name (text-meld7, "
                   "speech-ravdess8; default: the shipped text or speech pipeline)")
    p.add_argument("--json", action="store_true", help="JSON output (same as --format json)")
    p.add_argument("--format", choices=["table", "json", "jsonl", "csv"], default=None,
                   help="output format (default: table, or from the --output suffix .csv/.json/.jsonl)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--top", type=int, default=3, help="probabilities shown per row in the table")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("compare-llm", help="score a corpus sample with the pipeline and with a chat model "
                       "(any OpenAI-compatible endpoint): agreement and per-class figures")
    p.add_argument("config", help="YAML naming the corpus, its split and labels (the pipeline's single-label scheme)")
    p.add_argument("--pipeline", help="pipeline directory or shipped name (default: the shipped text pipeline)")
    p.add_argument("--llm-url", required=True, help="the API root, e.g. http://127.0.0.1:8080/v1 (llama.cpp "
                   "server) or https://openrouter.ai/api/v1")
    p.add_argument("--llm-model", required=True, help="the model name the endpoint expects")
    p.add_argument("--llm-key", help="API key (default: $AFFECTLAB_LLM_KEY; a local server needs none)")
    p.add_argument("--schema-style", choices=["auto", "openai", "llama"], default="auto",
                   help="how the JSON-schema answer is asked for (openai: json_schema; llama: llama.cpp's "
                   "json_object + schema; auto: openai, then llama if the endpoint refuses it)")
    p.add_argument("--limit", type=int, default=200, help="random rows of the split (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test")
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--fallback", choices=["keywords", "none"], default="keywords",
                   help="when the endpoint is down: label by keywords (marked in the report) or stop")
    p.add_argument("--cache", default=".cache/llm", help="answers are cached here (reruns ask nothing again)")
    p.add_argument("--data-root", help="folder holding the datasets (default: the config's)")
    p.add_argument("--out", default="runs/compare_llm.json", help="the JSON report (rows beside it as .rows.csv)")
    p.set_defaults(func=cmd_compare_llm)

    p = sub.add_parser("evaluate", help="score a trained pipeline on a config's corpus (zero-shot through "
                       "a label mapping; nothing is trained)")
    p.add_argument("config", help="YAML naming the corpus, its split and labels (mapped onto the pipeline's scheme)")
    p.add_argument("--pipeline", help="pipeline directory or shipped name (default: the shipped text pipeline)")
    p.add_argument("--split", default="test")
    p.add_argument("--task", help="the pipeline task to score (default: the one whose classes the labels give)")
    p.add_argument("--data-root", help="folder holding the datasets (default: the config's)")
    p.add_argument("--out", help="write the text report (and plots) here")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("probe", help="how well a linear probe reads a column (e.g. the source corpus) off a "
                       "pipeline's representation")
    p.add_argument("config", help="YAML whose data (and sources) give the rows and the column")
    p.add_argument("--pipeline", help="pipeline directory or shipped name")
    p.add_argument("--column", default="source")
    p.add_argument("--per-group", type=int, default=1000, help="at most this many rows per value and split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("explain", help="which words made the prediction (Integrated Gradients on the embeddings)")
    p.add_argument("text")
    p.add_argument("--pipeline", help="pipeline directory or shipped name (default: the shipped text pipeline)")
    p.add_argument("--task", help="the task to explain (default: the primary one)")
    p.add_argument("--target", help="the class to explain (default: the predicted one)")
    p.add_argument("--mode", choices=["fast", "full"], default="fast",
                   help="fast: 8 steps in one batched pass; full: 50 steps (or --steps)")
    p.add_argument("--steps", type=int)
    p.add_argument("--json", action="store_true", help="words and attributions as JSON")
    p.add_argument("--html", help="also write a shareable HTML page here")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("score", help="score a CSV/JSONL/Parquet file of any size in chunks (resumable, parallel)")
    p.add_argument("input")
    p.add_argument("--out", required=True, help="output file (.csv, .jsonl or .parquet); rows keep the id column")
    p.add_argument("--pipeline", help="pipeline directory or shipped name (default: the shipped text pipeline)")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--chunk-size", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1, help="local processes (or Ray actors)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="ray: Ray Data on the cluster ray.init finds (a local one otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("export-onnx", help="export a fine-tuned pipeline to ONNX (+ dynamic INT8) for onnxruntime")
    p.add_argument("pipeline")
    p.add_argument("--out", help="folder (default: <pipeline>/onnx, which Pipeline.load(backend='onnx') reads)")
    p.add_argument("--no-int8", action="store_true", help="skip the quantised model")
    p.set_defaults(func=cmd_export_onnx)

    database_help = "SQLAlchemy URL of the audit database (default sqlite:///affectlab-audit.db; " \
                    "postgresql://user@host/db for PostgreSQL)"
    p = sub.add_parser("serve", help="the HTTP service: pipelines behind API keys, every prediction audited")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--pipelines", help="a folder of pipeline directories, or one (default: the shipped text pipeline)")
    p.add_argument("--database-url", default="sqlite:///affectlab-audit.db", help=database_help)
    p.add_argument("--workers", type=int, default=1, help="server processes (they share the database)")
    p.add_argument("--store-text", action="store_true", help="audit the input texts, not only their SHA-256")
    p.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"],
                   help="onnx: pipelines exported with affectlab export-onnx")
    p.add_argument("--no-batching", action="store_true", help="one forward pass per request")
    p.add_argument("--rate-per-minute", type=int, default=600, help="requests per key per minute (default 600)")
    p.add_argument("--burst", type=int, default=60, help="requests a key may send at once before the rate applies")
    p.add_argument("--max-text-chars", type=int, default=5000, help="longest text accepted (default 5000)")
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="create, revoke or list API keys (a key is shown once)")
    p.add_argument("action", choices=["create", "revoke", "list"])
    p.add_argument("key_id", nargs="?", help="revoke: the key id")
    p.add_argument("--tenant", help="create: the tenant the key belongs to")
    p.add_argument("--admin", action="store_true", help="create: may reload pipelines")
    p.add_argument("--database-url", default="sqlite:///affectlab-audit.db", help=database_help)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("dashboard", help="a Streamlit page over the service API (one text, conversation, batch)")
    p.add_argument("--api", default="http://127.0.0.1:8000", help="the service's URL (affectlab serve)")
    p.add_argument("--key", help="an API key (default: AFFECTLAB_API_KEY); passed to the page by environment")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--llm-url", help="an LLM endpoint: shows the LLM comparison view")
    p.add_argument("--llm-report", help="an affectlab compare-llm report (JSON) for that view")
    p.set_defaults(func=cmd_dashboard)

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
        from rich.markup import escape

        _err().print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        _err().print("interrupted")
        return 130
    except Exception as error:  # never a raw traceback for users; AFFECTLAB_DEBUG=1 shows it
        if os.environ.get("AFFECTLAB_DEBUG"):
            raise
        from rich.markup import escape

        _err().print(f"[red]internal error:[/red] {type(error).__name__}: {escape(str(error))} "
                     "(rerun with AFFECTLAB_DEBUG=1 for the traceback and report it)", highlight=False,
                     soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
