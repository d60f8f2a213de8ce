"""Bulk scoring (``affectlab score``): files far larger than memory, streamed in chunks.

The input (CSV, JSONL or Parquet) is read ``chunk_size`` rows at a time; each chunk is scored
and written as its own part file (``<out>.parts/part-<n>``: written to a temporary name, then
renamed, so a part exists only when complete). Parts are scored in parallel by local processes;
an interrupted run, started again with the same arguments, skips the parts that exist. When
every part is there they are joined in input order into ``out``: no row missing, none twice.
Every output row carries the input's id column.

``backend="ray"`` reads and scores the file with Ray Data instead (``map_batches`` over a pool
of actors, each loading the pipeline once; on a cluster when ``ray.init`` finds one), with
order preserved, and writes the same part files from the ordered stream, so the output is the
same file; a Ray run that is interrupted starts its scoring again (the parts it wrote are kept).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import DataFormatError, DataNotFoundError, InputError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: give a .csv, .jsonl or .parquet file")
    return FORMATS[suffix]


def read_chunks(path: str | Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The input ``chunk_size`` rows at a time (ids and texts as strings, nothing parsed as NA)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path} does not exist")
    kind = file_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
            yield batch.to_pandas()
        return
    try:
        if kind == "csv":
            yield from pd.read_csv(path, chunksize=chunk_size, dtype=str, keep_default_na=False)
        else:
            yield from pd.read_json(path, lines=True, chunksize=chunk_size, dtype=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: cannot read it as {kind}: {error}") from None


@dataclass(frozen=True)
class ScoreJob:
    input: str
    output: str
    pipeline: str | None = None
    id_column: str = "id"
    text_column: str = "text"
    chunk_size: int = 1000

    @property
    def parts(self) -> Path:
        return Path(self.output + ".parts")

    def part(self, index: int) -> Path:
        return self.parts / f"part-{index:06d}.jsonl"


def _rows(job: ScoreJob, chunk: pd.DataFrame, pipeline) -> list[dict]:
    for column in (job.id_column, job.text_column):
        if column not in chunk.columns:
            raise InputError(f"{job.input} has no column {column!r} (columns: {', '.join(map(str, chunk.columns))}); "
                             f"name it with --{'id' if column == job.id_column else 'text'}-column")
    texts = chunk[job.text_column].astype(str).tolist()
    classes = list(pipeline.scheme.classes)
    multi_task, readouts = len(pipeline.tasks) > 1, bool(pipeline.spec.get("readouts"))
    keep = [i for i, t in enumerate(texts) if t.strip()]
    predictions = dict(zip(keep, pipeline.predict([texts[i] for i in keep]) if keep else []))
    rows = []
    for i in range(len(texts)):  # every row has every column, in one order (CSV parts line up)
        row = {job.id_column: chunk[job.id_column].iloc[i], "label": None, "error": None,
               **{f"p_{c}": None for c in classes}}
        p = predictions.get(i)
        if p is None:
            row["error"] = "empty text"
        else:
            row["label"] = p.label if isinstance(p.label, str) else ";".join(p.label)
            row.update({f"p_{c}": v for c, v in p.probabilities.items()})
        if multi_task:
            row["tasks"] = json.dumps(p.tasks, ensure_ascii=False) if p is not None else None
        if readouts:
            row["extras"] = json.dumps(p.extras, ensure_ascii=False) if p is not None else None
        rows.append(row)
    return rows


def _write_part(path: Path, rows: list[dict]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


_PIPELINES: dict = {}


def score_chunk(job: ScoreJob, index: int, chunk: pd.DataFrame) -> int:
    """Score one chunk into its part file (a worker loads the pipeline once)."""
    from .pipeline import Pipeline

    if job.pipeline not in _PIPELINES:
        _PIPELINES[job.pipeline] = Pipeline.load(job.pipeline, device="cpu") if job.pipeline else Pipeline.default()
    _write_part(job.part(index), _rows(job, chunk, _PIPELINES[job.pipeline]))
    return len(chunk)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


class _RayScorer:
    """A Ray Data actor: loads the pipeline once, scores batches into output rows."""

    def __init__(self, job: ScoreJob) -> None:
        import torch

        from .pipeline import Pipeline

        torch.set_num_threads(1)
        self.job = job
        self.pipeline = Pipeline.load(job.pipeline, device="cpu") if job.pipeline else Pipeline.default()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        rows = _rows(self.job, batch.reset_index(drop=True), self.pipeline)
        return pd.DataFrame({"row": [json.dumps(r, ensure_ascii=False, default=str) for r in rows]})


def _score_with_ray(job: ScoreJob, workers: int, bar) -> tuple[int, int]:
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs the 'ray' package: pip install 'affectlab[grid]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        # one CPU beyond the scoring actors: Ray Data's read tasks need one too, or they wait forever
        ray.init(num_cpus=max(workers, 1) + 1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        kind = file_format(job.input)
        if kind == "csv":
            import pyarrow.csv as pacsv

            everything_text = pacsv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                   column_types=None, auto_dict_encode=False)
            data = ray.data.read_csv(job.input, convert_options=everything_text)
            data = data.map_batches(lambda b: b.astype(str), batch_format="pandas")
        elif kind == "jsonl":
            data = ray.data.read_json(job.input, lines=True)
        else:
            data = ray.data.read_parquet(job.input)
        scored = data.map_batches(_RayScorer, fn_constructor_kwargs={"job": job}, batch_size=job.chunk_size,
                                  batch_format="pandas", num_cpus=1,
                                  compute=ray.data.ActorPoolStrategy(size=max(workers, 1)))
        done = rows = 0
        for index, batch in enumerate(scored.iter_batches(batch_size=job.chunk_size, batch_format="pandas")):
            part = job.part(index)
            if part.exists():
                done += len(batch)
            else:
                temporary = part.with_name(f".{part.name}.{os.getpid()}.tmp")
                temporary.write_text("".join(line + "\n" for line in batch["row"]), encoding="utf-8")
                os.replace(temporary, part)
                rows += len(batch)
            bar.update(len(batch))
        return rows, done
    finally:
        if started_here:
            ray.shutdown()


def score_file(job: ScoreJob, workers: int = 1, progress: bool = True, backend: str = "local") -> dict:
    """Score ``job.input`` into ``job.output``; returns rows scored now and rows already done."""
    from tqdm.auto import tqdm

    if backend not in ("local", "ray"):
        raise InputError(f"backend must be local or ray, got {backend!r}")
    file_format(job.output)
    job.parts.mkdir(parents=True, exist_ok=True)
    for stale in job.parts.glob(".*.tmp"):  # left by a worker that was killed mid-write
        stale.unlink()
    done = scored = 0
    bar = tqdm(desc="scoring", unit="rows", disable=not progress)
    if backend == "ray":
        scored, done = _score_with_ray(job, workers, bar)
    elif workers <= 1:
        for index, chunk in enumerate(read_chunks(job.input, job.chunk_size)):
            if job.part(index).exists():
                done += len(chunk)
            else:
                scored += score_chunk(job, index, chunk)
            bar.update(len(chunk))
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            running = set()
            for index, chunk in enumerate(read_chunks(job.input, job.chunk_size)):
                if job.part(index).exists():
                    done += len(chunk)
                    bar.update(len(chunk))
                    continue
                running.add(pool.submit(score_chunk, job, index, chunk))
                if len(running) >= 2 * workers:  # bounded: the input is never all in memory
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        n = future.result()
                        scored += n
                        bar.update(n)
            for future in running:
                n = future.result()
                scored += n
                bar.update(n)
    bar.close()
    assemble(job)
    return {"rows_scored": scored, "rows_already_done": done, "output": job.output}


def assemble(job: ScoreJob) -> None:
    """Join the parts, in input order, into the output file (written to a temporary name first)."""
    parts = sorted(job.parts.glob("part-*.jsonl"))
    kind = file_format(job.output)
    output = Path(job.output)
    temporary = output.with_name(f".{output.name}.tmp")
    if kind == "jsonl":
        with open(temporary, "w", encoding="utf-8") as out:
            for part in parts:
                with open(part, encoding="utf-8") as handle:
                    shutil.copyfileobj(handle, out)
    else:
        frames = (pd.read_json(part, lines=True, dtype=False, precise_float=True) for part in parts)
        if kind == "csv":
            header = True
            with open(temporary, "w", encoding="utf-8", newline="") as out:
                for frame in frames:
                    frame.to_csv(out, index=False, header=header)
                    header = False
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            for frame in frames:
                for column in frame.columns:  # one type per column whatever a part holds (all-empty parts)
                    if column.startswith("p_"):
                        frame[column] = frame[column].astype("float64")
                    elif column != job.id_column:
                        frame[column] = frame[column].astype("string")
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(temporary, table.schema)
                writer.write_table(table.cast(writer.schema))
            if writer is not None:
                writer.close()
    os.replace(temporary, output)
    shutil.rmtree(job.parts)
