"""Execute a grid: extract features once, run configurations on a backend, resume, record.

A run is finished when its ``results.json`` exists (written last, atomically), so an
interrupted grid restarted with the same file redoes exactly the unfinished runs. A run that
raises writes ``failed.json`` (error and traceback) and the others go on; the next start
retries it.
"""
from __future__ import annotations

import fcntl
import os
import time
import traceback
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .._io import write_json, write_text
from ..errors import AffectLabError, ConfigError
from .config import ExperimentConfig, config_from_dict, config_identity, dump_config
from .grid import Grid, config_key
from .runner import (extract_for, feature_variant, finish_run, is_finished, load_results, prepare_data,
                     prepare_run, run_experiment, run_id)

console = Console(stderr=True)
Backend = Literal["local", "ray"]


@dataclass
class GridResult:
    grid_dir: Path
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---- work done in a worker ---------------------------------------------------------------------
def _record_failure(run_dir: Path, config: ExperimentConfig, error: BaseException) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    write_json(run_dir / "failed.json", {
        "status": "failed", "error": f"{type(error).__name__}: {error}",
        "traceback": traceback.format_exc(), "seed": config.seed,
    })
    return {"run_id": run_dir.name, "status": "failed", "error": f"{type(error).__name__}: {error}"}


def run_group(config_dicts: list[dict], runs_dir: str, data_root: str | None, batched: bool,
              extras: list[dict]) -> list[dict]:
    """Run the seeds of ONE configuration (same data, features and model shape).

    Top-level so process pools and Ray can ship it. Seeds go through the batched trainer
    when possible, else one by one; each run succeeds or fails on its own.
    """
    configs = [config_from_dict(d) for d in config_dicts]
    runs = Path(runs_dir)
    outcomes: list[dict] = []
    try:
        prepared = prepare_run(configs[0], data_root)
    except Exception as error:  # noqa: BLE001 - recorded per run, grid goes on
        return [_record_failure(runs / run_id(c), c, error) for c in configs]
    todo = list(zip(configs, extras))
    if batched and len(todo) > 1:
        try:
            outcomes += _run_batched(todo, runs, prepared)
            todo = []
        except _NotBatchable:
            pass
        except Exception as error:  # noqa: BLE001 - the seeds still run, one by one
            console.print(f"[yellow]batched training failed ({type(error).__name__}: {error}); "
                          "training these seeds one by one[/yellow]", highlight=False, soft_wrap=True)
    for config, extra in todo:
        outcomes.append(_settle(runs / run_id(config), config, lambda: run_experiment(
            config, out_dir=runs, prepared=prepared, extra=extra)))
    return outcomes


def _settle(run_dir: Path, config: ExperimentConfig, work: Callable[[], Any]) -> dict:
    """Do one run's remaining work; success clears an earlier failure record, an error makes one."""
    try:
        work()
    except Exception as error:  # noqa: BLE001 - recorded per run, the grid goes on
        return _record_failure(run_dir, config, error)
    (run_dir / "failed.json").unlink(missing_ok=True)
    return {"run_id": run_dir.name, "status": "done"}


class _NotBatchable(Exception):
    pass


def _run_batched(todo, runs: Path, prepared) -> list[dict]:
    from ..training import seed_everything
    from ..training.batched import BatchedTrainer
    from .runner import build_augment, build_loss_for, build_model

    config0 = todo[0][0]
    if config0.model.encoder is not None:
        raise _NotBatchable("a trainable encoder (one model per run)")
    if config0.training.balanced_sampler or config0.training.mixup_alpha or build_augment(config0):
        raise _NotBatchable("per-batch random draws (balanced sampler, mixup or augmentation)")
    if config0.training.precision != "fp32":
        raise _NotBatchable(f"precision {config0.training.precision} (the stacked trainer runs fp32)")
    started = time.perf_counter()
    models, losses, generators, kwargs = [], [], [], None
    for config, _ in todo:
        generators.append(seed_everything(config.seed))
        model, kwargs = build_model(config, prepared.input_dim, len(prepared.data.scheme))
        models.append(model)
        losses.append(build_loss_for(config, prepared.datasets["train"].y, prepared.data.scheme))
    trainer = BatchedTrainer(models, losses, config0.training, generators,
                             multi_label=prepared.data.scheme.multi_label)
    fits = trainer.fit(prepared.datasets["train"], prepared.datasets["dev"])
    outcomes = []
    for index, ((config, extra), fit) in enumerate(zip(todo, fits)):
        run_dir = runs / run_id(config)
        outcomes.append(_settle(run_dir, config, lambda: finish_run(
            config, run_dir, prepared, trainer.unstack(index), kwargs, fit, started,
            extra={**extra, "batched": bool(trainer.batched[index]), "train_path": fit.path})))
    return outcomes


def _worker_init(threads: int, gpu_queue) -> None:
    import torch

    torch.set_num_threads(threads)
    try:  # die with the parent: a killed grid leaves no orphan writing run directories
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
    except OSError:
        pass
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())


# ---- the driver ------------------------------------------------------------------------------
def _feature_group_key(config: ExperimentConfig) -> str:
    """Configs that differ only in the variant (layers, pooling) or context share one extraction."""
    from .._io import stable_hash

    data = config_identity(config)
    features = {k: v for k, v in data["features"].items() if k not in ("layers", "pooling", "context")}
    return stable_hash({"data": data["data"], "labels": data["labels"], "features": features})


def extract_grid_features(configs: list[ExperimentConfig], data_root: str | None) -> None:
    """One extraction pass per distinct (data, labels, encoder settings), all variants at once."""
    from .inputs import input_kind

    groups: dict[str, list[ExperimentConfig]] = defaultdict(list)
    for config in configs:
        if input_kind(config) != "tokens":  # token windows are built per run, not cached
            groups[_feature_group_key(config)].append(config)
    for members in groups.values():
        variants = sorted({feature_variant(c) for c in members})
        data = prepare_data(members[0], data_root)
        extract_for(members[0], data, variants)


def _work_units(group: list[tuple[ExperimentConfig, dict]]) -> list[list[tuple[ExperimentConfig, dict]]]:
    """The seeds of a frozen-feature configuration stay together (they share prepared data and may
    train as one batched model); a trainable encoder's runs cannot batch, so each run is its own
    unit and workers train the seeds side by side."""
    if group[0][0].model.encoder is not None:
        return [[run] for run in group]
    return [group]


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001
        return 0


def run_grid(grid: Grid, *, out_dir: str | Path = "runs/grids", data_root: str | None = None,
             workers: int = 1, backend: Backend = "local", batched: bool = True,
             tracking_uri: str | None = None, track: bool = True,
             on_outcome: Callable[[dict], None] | None = None) -> GridResult:
    """Run every unfinished run of ``grid``; safe to interrupt and call again."""
    grid_dir = Path(out_dir) / grid.name
    runs_dir = grid_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    lock = open(grid_dir / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigError(f"grid {grid.name!r} is already running in another process ({grid_dir})") from None
    started = time.perf_counter()
    configs = grid.expand()
    write_json(grid_dir / "grid.json", {"name": grid.name, "axes": grid.axes, "seeds": grid.seeds,
                                         "overrides": grid.overrides, "base": grid.base,
                                         "n_runs": len(configs)})
    result = GridResult(grid_dir)
    pending: dict[str, list[tuple[ExperimentConfig, dict]]] = defaultdict(list)
    for config in configs:
        rid = run_id(config)
        if is_finished(runs_dir / rid):
            result.skipped.append(rid)
            continue
        pending[config_key(config)].append(
            (config, {"axes": grid.axes_of(config), "config_key": config_key(config), "grid": grid.name}))
    total = sum(len(v) for v in pending.values())
    console.print(f"grid [bold]{grid.name}[/bold]: {len(configs)} runs, {len(result.skipped)} already "
                  f"finished, {total} to do ({len(pending)} configurations) on {backend} x {workers}")
    tracker = _tracker(grid_dir, tracking_uri) if track else None
    if tracker is not None:
        for rid in result.skipped:
            tracker(runs_dir / rid)
    if total:
        extract_grid_features([c for group in pending.values() for c, _ in group], data_root)
        tasks = [([c.model_dump(mode="json") for c, _ in part], str(runs_dir), data_root, batched,
                  [e for _, e in part]) for group in pending.values() for part in _work_units(group)]
        # single runs go seed by seed: every point gets its first seed before any gets its third,
        # so a grid cut short still covers the whole space
        tasks.sort(key=lambda task: grid.seeds.index(task[0][0]["seed"]) if len(task[0]) == 1 else -1)
        execute = _execute_ray if backend == "ray" else _execute_local
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            bar = progress.add_task(grid.name, total=total)
            for outcome in execute(tasks, workers):
                if outcome["status"] == "done":
                    result.done.append(outcome["run_id"])
                    if tracker is not None:
                        tracker(runs_dir / outcome["run_id"])
                    progress.console.print(_status_line(runs_dir / outcome["run_id"]), highlight=False,
                                           soft_wrap=True)
                else:
                    result.failed[outcome["run_id"]] = outcome["error"]
                    progress.console.print(f"[red]failed[/red] {outcome['run_id']}: {outcome['error']}",
                                           highlight=False, soft_wrap=True)
                if on_outcome is not None:
                    on_outcome(outcome)
                progress.advance(bar)
    result.seconds = time.perf_counter() - started
    write_json(grid_dir / "status.json", {"done": len(result.done) + len(result.skipped),
                                           "failed": result.failed, "seconds_this_call": result.seconds})
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    return result


def _short(axis: str) -> str:
    """``features.pooling`` → ``pooling``; ``model.name`` → ``model`` (as in the grid report)."""
    parts = axis.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def _status_line(run_dir: Path) -> str:
    """One line per finished run: which point of the grid, which seed, how it scored."""
    results = load_results(run_dir)
    point = " ".join(f"{_short(k)}={v}" for k, v in results.get("axes", {}).items())
    test, dev = results.get("test", {}), results.get("dev", {})
    metric = results.get("monitor", "weighted_f1")
    return (f"[green]done[/green] {run_dir.name} {point} seed={results.get('seed')} "
            f"dev {metric}={dev.get(metric, float('nan')):.4f} test {metric}={test.get(metric, float('nan')):.4f} "
            f"({results.get('epochs_run')} epochs)")


def _execute_local(tasks: list[tuple], workers: int):
    if workers <= 1:
        for task in tasks:
            yield from run_group(*task)
        return
    gpus = _gpu_count()
    queue = None
    context = get_context("spawn")
    if gpus:
        queue = context.Queue()
        for index in range(workers):
            queue.put(index % gpus)
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                             initargs=(threads, queue)) as pool:
        futures = {pool.submit(run_group, *task) for task in tasks}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                yield from future.result()


def _execute_ray(tasks: list[tuple], workers: int):
    try:
        import ray
    except ImportError:
        raise ConfigError("the Ray backend needs the 'ray' package: pip install 'affectlab[grid]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1)(run_group)
        pending = [remote.remote(*task) for task in tasks]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            for ref in finished:
                yield from ray.get(ref)
    finally:
        if started_here:
            ray.shutdown()


def _tracker(grid_dir: Path, tracking_uri: str | None):
    """Log each finished run to MLflow (local SQLite store under the grid by default)."""
    try:
        from .tracking import MLflowTracker
    except ImportError:
        return None
    tracker = MLflowTracker(tracking_uri or f"sqlite:///{(grid_dir / 'mlflow.db').resolve()}", grid_dir.name,
                            artifact_root=grid_dir / "mlartifacts")
    return tracker.log_run if tracker.available else None


def collect_results(grid_dir: str | Path) -> list[dict[str, Any]]:
    """Results of every run in a grid directory, failed runs included (status 'failed')."""
    import json

    runs_dir = Path(grid_dir) / "runs"
    if not runs_dir.is_dir():
        raise AffectLabError(f"{grid_dir} is not a grid directory (no runs/ inside)")
    out = []
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        if is_finished(run_dir):
            results = load_results(run_dir)
            if "config_key" not in results and (run_dir / "config.yaml").is_file():
                # an `affectlab run` run beside grid runs: the same config groups with them
                from .config import load_config

                results["config_key"] = config_key(load_config(run_dir / "config.yaml"))
            out.append(results)
        elif (run_dir / "failed.json").is_file():
            failure = json.loads((run_dir / "failed.json").read_text())
            out.append({"run_id": run_dir.name, **failure})
    return out
