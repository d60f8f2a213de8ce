"""One trainer for every modality and model: batches in, named outputs, per-task losses.

Frozen-feature heads (in-memory arrays) and fine-tuned encoders (token batches) go through the
same loop: early stopping on a validation metric, per-epoch or per-step schedules, parameter
groups, gradient accumulation, autocast, clipping, callbacks, and a checkpoint every epoch from
which a killed run resumes to the same result.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, Sequence

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from tqdm.auto import tqdm

from ..devices import pick_device
from ..evaluation.metrics import score
from . import checkpoint as ckpt
from . import distributed
from .augment import Augment
from .data import ArrayDataset, length_buckets, trim_padding
from .mixup import mix_batch
from .objectives import Objective, as_outputs
from .schedules import epoch_schedule, step_schedule


class TrainingConfig(BaseModel):
    """Optimisation settings (AdamW); early stopping watches ``monitor`` on validation data."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(200, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    encoder_lr: float | None = Field(None, gt=0, description="learning rate of a trainable encoder's "
                                     "parameters (the heads use lr); None = lr")
    weight_decay: float = Field(1e-2, ge=0)
    no_decay_norm_bias: bool = Field(False, description="no weight decay on biases and norm weights")
    patience: int = Field(20, ge=1)
    monitor: str = "weighted_f1"
    grad_clip: float | None = 1.0
    accumulate: int = Field(1, ge=1, description="gradient accumulation: optimiser step every N batches")
    scheduler: Literal["none", "plateau", "cosine", "linear"] = "none"
    scheduler_interval: Literal["epoch", "step"] = "epoch"
    warmup_epochs: int = Field(0, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="per-step schedules: warm-up share of all steps")
    balanced_sampler: bool = False
    bucket_by_length: bool = Field(False, description="batches of similar length (token datasets): less padding")
    mixup_alpha: float = Field(0.0, ge=0, description="mixup (Zhang et al. 2018): Beta(a, a) mixing of batch pairs; 0 = off")
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="bf16/fp16: training forward passes autocast (faster only where the hardware "
                            "has such units: benchmarks/train_precision.py, benchmarks/finetune.py); "
                            "weights, optimiser and evaluation stay fp32")
    eval_batch_size: int = Field(1024, ge=1)
    checkpoint_every: int = Field(1, ge=0, description="write a resumable checkpoint every N epochs; 0 = off")
    device: str = "auto"
    progress: bool = True


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    seconds: float = 0.0
    resumed_from: int = 0


class Callback(Protocol):
    """Hooks into the loop, e.g. a coefficient ramped up over epochs (``training.callbacks.Ramp``)."""

    def on_epoch_start(self, trainer: "Trainer", epoch: int) -> None: ...


AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Trainer:
    """``Trainer(model, objective_or_loss, config).fit(train, val)``; datasets are
    ``ArrayDataset``/``CollatedDataset`` (anything with ``len``, ``targets``, ``batch``)."""

    def __init__(self, model: nn.Module, loss: nn.Module | Objective, config: TrainingConfig,
                 multi_label: bool = False, augment: Augment | None = None,
                 generator: torch.Generator | None = None, callbacks: Sequence[Callback] = ()) -> None:
        self.config = config
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        self.objective = (loss if isinstance(loss, Objective) else Objective.single(loss, multi_label)).to(self.device)
        self.multi_label = self.objective.primary.kind == "multi_label"
        self.augment = augment
        self.generator = generator or torch.Generator().manual_seed(0)
        self.callbacks = list(callbacks)

    @property
    def loss(self) -> nn.Module:
        return self.objective.primary.loss

    # --- batches ---------------------------------------------------------------------------
    def _batches(self, n: int, y: torch.Tensor | None, lengths: np.ndarray | None = None,
                 sampler=None) -> list[torch.Tensor]:
        size = self.config.batch_size
        if sampler is not None:  # several corpora: this epoch's draw (training.sampling)
            index = sampler.draw(self.generator)
            if self.config.bucket_by_length and lengths is not None:
                return [index[b] for b in length_buckets(lengths[index.numpy()], size, self.generator)]
            return list(index.split(size))
        if self.config.balanced_sampler and y is not None and not self.multi_label:
            y = y.cpu()
            counts = torch.bincount(y[y >= 0], minlength=int(y.max()) + 1).float()
            weights = (1.0 / counts.clamp(min=1))[y.clamp(min=0)] * (y >= 0)
            order = torch.multinomial(weights, n, replacement=True, generator=self.generator)
        elif self.config.bucket_by_length and lengths is not None:
            return length_buckets(lengths, size, self.generator)
        else:
            order = torch.randperm(n, generator=self.generator)
        return list(order.split(size))

    # --- optimisation ----------------------------------------------------------------------
    def _optimizer(self) -> torch.optim.Optimizer:
        """AdamW over parameter groups: encoder vs heads (``encoder_lr``), and optionally no
        decay on biases and norm weights. A model names its encoder parameters through
        ``parameter_role(name) -> "encoder" | "head"``."""
        cfg = self.config
        role = getattr(self.model, "parameter_role", None)
        if role is None and cfg.encoder_lr is None and not cfg.no_decay_norm_bias:
            return torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        groups: dict[tuple[str, bool], list[nn.Parameter]] = {}
        for name, parameter in self.model.named_parameters():
            if not parameter.requires_grad:
                continue
            part = role(name) if role is not None else "head"
            decay = not (cfg.no_decay_norm_bias and (parameter.ndim < 2 or "norm" in name.lower()))
            groups.setdefault((part, decay), []).append(parameter)
        params = [{"params": p, "lr": (cfg.encoder_lr or cfg.lr) if part == "encoder" else cfg.lr,
                   "weight_decay": cfg.weight_decay if decay else 0.0, "name": f"{part}{'' if decay else '/no_decay'}"}
                  for (part, decay), p in groups.items()]
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _schedule(self, optimizer: torch.optim.Optimizer):
        """The per-epoch schedule (also read by ``BatchedTrainer``, which shares ``config`` only)."""
        return epoch_schedule(self.config, optimizer)

    # --- the loop --------------------------------------------------------------------------
    def fit(self, train, val=None, checkpoint_dir: str | Path | None = None) -> TrainResult:
        """Train; with ``val`` keep the epoch that scores best on ``monitor`` and stop after
        ``patience`` epochs without improvement. The best weights are loaded at the end. With
        ``checkpoint_dir`` a checkpoint is written every ``checkpoint_every`` epochs and a
        checkpoint found there is resumed."""
        cfg = self.config
        primary = self.objective.primary.name
        model = self._parallel_model()
        optimizer = self._optimizer()
        epoch_scheduler = self._schedule(optimizer)
        sampler = getattr(train, "sampler", None)
        rows = sampler.epoch_size() if sampler is not None else len(train)
        steps_per_epoch = math.ceil(math.ceil(rows / cfg.batch_size) / cfg.accumulate)
        step_scheduler = step_schedule(cfg, optimizer, steps_per_epoch * cfg.epochs)
        scaler = torch.amp.GradScaler("cuda", enabled=cfg.precision == "fp16" and self.device.type == "cuda")
        y_primary = train.targets(primary).get(primary)
        y_tensor = None if y_primary is None else torch.as_tensor(np.asarray(y_primary))
        lengths = getattr(train, "lengths", None)
        result, best_state, since_best, first_epoch = TrainResult(), None, 0, 1
        state = ckpt.load_checkpoint(checkpoint_dir) if cfg.checkpoint_every else None
        if state is not None:
            self.model.load_state_dict(state["model"], strict=False)
            optimizer.load_state_dict(state["optimizer"])
            for scheduler, key in ((epoch_scheduler, "epoch_scheduler"), (step_scheduler, "step_scheduler")):
                if scheduler is not None and state.get(key) is not None:
                    scheduler.load_state_dict(state[key])
            ckpt.restore_rng(state["rng"], self.generator)
            best_state, since_best = state["best_state"], state["since_best"]
            result.history, result.best_epoch, result.best_score = state["history"], state["best_epoch"], state["best_score"]
            first_epoch = result.resumed_from = state["epoch"] + 1
            if state.get("stopped"):
                first_epoch = cfg.epochs + 1
        start = time.perf_counter()
        quiet = not cfg.progress or not distributed.is_main()
        bar = tqdm(range(first_epoch, cfg.epochs + 1), desc="training", unit="epoch", disable=True if quiet else None,
                   leave=False, initial=first_epoch - 1, total=cfg.epochs)
        stopped = False
        for epoch in bar:
            for callback in self.callbacks:
                callback.on_epoch_start(self, epoch)
            epoch_start = time.perf_counter()
            total, seen = self._train_epoch(model, train, optimizer, step_scheduler, scaler, y_tensor, lengths, quiet)
            row = {"epoch": epoch, "train_loss": total / max(seen, 1), "lr": optimizer.param_groups[0]["lr"]}
            if val is not None and val.targets(primary).get(primary) is not None:
                outputs = self.predict_outputs(val)
                y_val, val_probs = np.asarray(val.targets(primary)[primary]), self._probs(outputs[primary])
                keep = self.objective.primary.present(torch.as_tensor(y_val)).numpy()
                if not keep.all():  # rows of corpora without the primary task
                    y_val, val_probs = y_val[keep], val_probs[keep]
                current = score(cfg.monitor, y_val, val_probs, self.multi_label)
                row.update({"val_loss": self._loss_on(outputs, val), f"val_{cfg.monitor}": current})
                if current > result.best_score:
                    result.best_score, result.best_epoch, since_best = current, epoch, 0
                    best_state = ckpt.trainable_state(self.model)
                else:
                    since_best += 1
                if isinstance(epoch_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    epoch_scheduler.step(current)
                bar.set_postfix({cfg.monitor: f"{current:.4f}", "best": f"{result.best_score:.4f}"})
            if epoch_scheduler is not None and not isinstance(epoch_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                epoch_scheduler.step()
            result.history.append(row)
            stopped = val is not None and since_best >= cfg.patience
            self._report_epoch(row, epoch, time.perf_counter() - epoch_start, quiet)
            if checkpoint_dir is not None and cfg.checkpoint_every and (epoch % cfg.checkpoint_every == 0 or stopped):
                if distributed.is_main():
                    ckpt.save_checkpoint(checkpoint_dir, {
                        "epoch": epoch, "model": ckpt.trainable_state(self.model), "optimizer": optimizer.state_dict(),
                        "epoch_scheduler": None if epoch_scheduler is None else epoch_scheduler.state_dict(),
                        "step_scheduler": None if step_scheduler is None else step_scheduler.state_dict(),
                        "rng": ckpt.rng_state(self.generator), "best_state": best_state, "since_best": since_best,
                        "history": result.history, "best_epoch": result.best_epoch, "best_score": result.best_score,
                        "stopped": stopped})
                distributed.barrier()
            if stopped:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state, strict=False)
        else:
            result.best_epoch = len(result.history)
        result.seconds = time.perf_counter() - start
        return result

    def _parallel_model(self) -> nn.Module:
        """The module batches go through: DDP around the model when torchrun started several processes."""
        if distributed.world()[1] == 1:
            return self.model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def _train_epoch(self, model, train, optimizer, step_scheduler, scaler, y, lengths, quiet) -> tuple[float, int]:
        cfg = self.config
        primary = self.objective.primary.name
        model.train()
        total, seen = 0.0, 0
        batches = self._batches(len(train), y, lengths, getattr(train, "sampler", None))
        inner = tqdm(batches, desc="batches", unit="batch", leave=False,
                     disable=True if quiet or len(batches) < 50 else None)
        log = _ProgressLog(len(batches), quiet or sys.stderr.isatty())
        for step, index in enumerate(inner, start=1):
            index, share = distributed.local_share(index)
            inputs, targets = train.batch(index, self.device, primary)
            if self.augment is not None:
                inputs = self.augment(inputs, self.generator)
            with torch.autocast(self.device.type, dtype=AUTOCAST.get(cfg.precision, torch.float32),
                                enabled=cfg.precision in AUTOCAST):
                if cfg.mixup_alpha > 0:
                    inputs, partner, lam = mix_batch(inputs, cfg.mixup_alpha, self.generator)
                    outputs = as_outputs(model(**inputs), primary)
                    partner = partner.to(self.device)
                    loss = (lam * self.objective(outputs, targets)["total"]
                            + (1 - lam) * self.objective(outputs, {k: v[partner] for k, v in targets.items()})["total"])
                else:
                    loss = self.objective(as_outputs(model(**inputs), primary), targets)["total"]
            if step % cfg.accumulate == 1 or cfg.accumulate == 1:
                optimizer.zero_grad(set_to_none=True)
            scaled = loss if share == 1.0 else loss * share
            scaler.scale(scaled / cfg.accumulate if cfg.accumulate > 1 else scaled).backward()
            if step % cfg.accumulate == 0 or step == len(batches):
                if cfg.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                if step_scheduler is not None:
                    step_scheduler.step()
            total += float(loss.detach()) * len(index)
            seen += len(index)
            log.step(step, seen, total)
        return total, seen

    def _report_epoch(self, row: dict, epoch: int, seconds: float, quiet: bool) -> None:
        """One line per epoch on a non-terminal stderr for epochs long enough to wait on (logs of
        background fine-tuning runs); the bar shows it on a terminal."""
        if quiet or sys.stderr.isatty() or seconds < 20:
            return
        values = ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "lr"))
        print(f"epoch {epoch}/{self.config.epochs} ({seconds:.0f} s): {values}", file=sys.stderr, flush=True)

    # --- evaluation ------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_outputs(self, data) -> dict[str, torch.Tensor]:
        """Raw outputs per task over a whole dataset (eval mode, no gradients)."""
        return model_outputs(self.model, data, self.device, self.config.eval_batch_size, self.objective.primary.name)

    def _loss_on(self, outputs: dict[str, torch.Tensor], data) -> float:
        primary = self.objective.primary.name
        targets = {k: torch.as_tensor(np.asarray(v), device=self.device) for k, v in data.targets(primary).items()}
        with torch.inference_mode():
            return float(self.objective(outputs, targets)["total"])

    def _probs(self, output: torch.Tensor) -> np.ndarray:
        return logits_to_probs(output, self.multi_label)

    def predict_proba(self, data) -> np.ndarray:
        """Probabilities of the primary task."""
        return self._probs(self.predict_outputs(data)[self.objective.primary.name])


@torch.inference_mode()
def model_outputs(model: nn.Module, data, device: torch.device | str = "cpu", batch_size: int = 1024,
                  default: str = "label") -> dict[str, torch.Tensor]:
    """Every named output of ``model`` over ``data``, in dataset order."""
    model.eval()
    device = torch.device(device)
    model.to(device)
    lengths = getattr(data, "lengths", None)  # token windows: batch similar lengths (less padding)
    order = torch.arange(len(data)) if lengths is None else torch.as_tensor(np.argsort(lengths, kind="stable"))
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(data), batch_size):
        inputs, _ = data.batch(order[start:start + batch_size], device, default)
        for name, value in as_outputs(model(**inputs), default).items():
            parts.setdefault(name, []).append(value.float())
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    return {name: torch.cat(values)[inverse.to(values[0].device)] for name, values in parts.items()}


def model_logits(model: nn.Module, data: ArrayDataset, device: torch.device | str = "cpu",
                 batch_size: int = 1024) -> torch.Tensor:
    """Outputs of a single-output model (a frozen-feature head) over named arrays."""
    model.eval()
    device = torch.device(device)
    model.to(device)
    inputs, _ = data.tensors(device)
    parts = []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            parts.append(model(**trim_padding({k: v[start:start + batch_size] for k, v in inputs.items()})))
    return torch.cat(parts)


def logits_to_probs(logits: torch.Tensor, multi_label: bool) -> np.ndarray:
    probs = torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)
    return probs.float().cpu().numpy()


def predict_proba(model: nn.Module, data, multi_label: bool, device: torch.device | str = "cpu") -> np.ndarray:
    """Probabilities of a trained single-output model (any modality)."""
    if isinstance(data, ArrayDataset):
        return logits_to_probs(model_logits(model, data, device), multi_label)
    outputs = model_outputs(model, data, device)
    return logits_to_probs(next(iter(outputs.values())), multi_label)


class _ProgressLog:
    """Within-epoch progress as a line on a non-terminal stderr every ``every`` seconds (a log
    of a background fine-tuning run says how far it is and how fast, where no bar is drawn)."""

    def __init__(self, steps: int, silent: bool, every: float = 300.0) -> None:
        self.steps, self.silent, self.every = steps, silent, every
        self.start = self.last = time.perf_counter()

    def step(self, step: int, rows: int, loss_sum: float) -> None:
        now = time.perf_counter()
        if self.silent or now - self.last < self.every or step == self.steps:
            return
        self.last = now
        rate = rows / (now - self.start)
        left = (now - self.start) * (self.steps - step) / step
        print(f"  batch {step}/{self.steps} ({step / self.steps:.0%}), {rate:.1f} rows/s, "
              f"loss {loss_sum / rows:.4f}, ~{left / 60:.0f} min left in this epoch", file=sys.stderr, flush=True)
