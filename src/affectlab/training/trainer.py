"""One trainer for every modality: a model, a loss, named input arrays, early stopping."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from tqdm.auto import tqdm

from ..devices import pick_device
from ..evaluation.metrics import score
from .augment import Augment
from .data import ArrayDataset, trim_padding
from .mixup import mix_batch


class TrainingConfig(BaseModel):
    """Optimisation settings (AdamW); early stopping watches ``monitor`` on validation data."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(200, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    patience: int = Field(20, ge=1)
    monitor: str = "weighted_f1"
    grad_clip: float | None = 1.0
    scheduler: Literal["none", "plateau", "cosine"] = "none"
    warmup_epochs: int = Field(0, ge=0)
    balanced_sampler: bool = False
    mixup_alpha: float = Field(0.0, ge=0, description="mixup (Zhang et al. 2018): Beta(a, a) mixing of batch pairs; 0 = off")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: training forward passes autocast to bfloat16 (faster where the hardware has "
                            "bf16 units: 1.4-2.1x for the spectrogram models on a 2-core AVX512-BF16 CPU, "
                            "benchmarks/train_precision.py); weights, optimiser and evaluation stay fp32")
    device: str = "auto"
    progress: bool = True


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    seconds: float = 0.0


class Trainer:
    def __init__(self, model: nn.Module, loss: nn.Module, config: TrainingConfig,
                 multi_label: bool = False, augment: Augment | None = None,
                 generator: torch.Generator | None = None) -> None:
        self.config = config
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        self.loss = loss.to(self.device)
        self.multi_label = multi_label
        self.augment = augment
        self.generator = generator or torch.Generator().manual_seed(0)

    def _batches(self, n: int, y: torch.Tensor | None) -> list[torch.Tensor]:
        size = self.config.batch_size
        if self.config.balanced_sampler and y is not None and not self.multi_label:
            counts = torch.bincount(y.cpu(), minlength=int(y.max()) + 1).float()
            weights = (1.0 / counts.clamp(min=1))[y.cpu()]
            order = torch.multinomial(weights, n, replacement=True, generator=self.generator)
        else:
            order = torch.randperm(n, generator=self.generator)
        return list(order.split(size))

    def _schedule(self, optimizer: torch.optim.Optimizer):
        cfg = self.config
        if cfg.scheduler == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=max(cfg.patience // 3, 1))
        if cfg.scheduler == "cosine":
            def factor(epoch: int) -> float:
                if epoch < cfg.warmup_epochs:
                    return (epoch + 1) / (cfg.warmup_epochs + 1)
                progress = (epoch - cfg.warmup_epochs) / max(cfg.epochs - cfg.warmup_epochs, 1)
                return 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))
            return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return None

    def fit(self, train: ArrayDataset, val: ArrayDataset | None = None) -> TrainResult:
        """Train; with ``val`` keep the epoch that scores best on ``monitor`` and stop after
        ``patience`` epochs without improvement. The best weights are loaded at the end."""
        cfg = self.config
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = self._schedule(optimizer)
        inputs, y = train.tensors(self.device)
        result, best_state, since_best = TrainResult(), None, 0
        start = time.perf_counter()
        bar = tqdm(range(1, cfg.epochs + 1), desc="training", unit="epoch", disable=None if cfg.progress else True, leave=False)
        for epoch in bar:
            self.model.train()
            total, seen = 0.0, 0
            for index in self._batches(len(train), y):
                index = index.to(self.device)
                batch = trim_padding({k: v[index] for k, v in inputs.items()})
                if self.augment is not None:
                    batch = self.augment(batch, self.generator)
                target = y[index]
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                    if cfg.mixup_alpha > 0:
                        batch, partner, lam = mix_batch(batch, cfg.mixup_alpha, self.generator)
                        logits = self.model(**batch)
                        loss = (lam * self.loss(logits, target)
                                + (1 - lam) * self.loss(logits, target[partner.to(target.device)]))
                    else:
                        loss = self.loss(self.model(**batch), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                optimizer.step()
                total += float(loss.detach()) * len(index)
                seen += len(index)
            row = {"epoch": epoch, "train_loss": total / max(seen, 1), "lr": optimizer.param_groups[0]["lr"]}
            if val is not None and val.y is not None:
                probs, val_loss = self._evaluate(val)
                current = score(cfg.monitor, np.asarray(val.y), probs, self.multi_label)
                row.update({"val_loss": val_loss, f"val_{cfg.monitor}": current})
                if current > result.best_score:
                    result.best_score, result.best_epoch, since_best = current, epoch, 0
                    best_state = copy.deepcopy(self.model.state_dict())
                else:
                    since_best += 1
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(current)
                bar.set_postfix({cfg.monitor: f"{current:.4f}", "best": f"{result.best_score:.4f}"})
            if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step()
            result.history.append(row)
            if val is not None and since_best >= cfg.patience:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        else:
            result.best_epoch = len(result.history)
        result.seconds = time.perf_counter() - start
        return result

    @torch.inference_mode()
    def _evaluate(self, data: ArrayDataset) -> tuple[np.ndarray, float]:
        logits = self._logits(data)
        y = torch.as_tensor(np.asarray(data.y), device=self.device)
        return self._to_probs(logits), float(self.loss(logits, y))

    def _logits(self, data: ArrayDataset) -> torch.Tensor:
        return model_logits(self.model, data, self.device)

    def _to_probs(self, logits: torch.Tensor) -> np.ndarray:
        return logits_to_probs(logits, self.multi_label)

    def predict_proba(self, data: ArrayDataset) -> np.ndarray:
        return self._to_probs(self._logits(data))


@torch.inference_mode()
def model_logits(model: nn.Module, data: ArrayDataset, device: torch.device | str = "cpu",
                 batch_size: int = 1024) -> torch.Tensor:
    model.eval()
    device = torch.device(device)
    model.to(device)
    inputs, _ = data.tensors(device)
    parts = []
    for start in range(0, len(data), batch_size):
        parts.append(model(**trim_padding({k: v[start:start + batch_size] for k, v in inputs.items()})))
    return torch.cat(parts)


def logits_to_probs(logits: torch.Tensor, multi_label: bool) -> np.ndarray:
    probs = torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)
    return probs.float().cpu().numpy()


def predict_proba(model: nn.Module, data: ArrayDataset, multi_label: bool,
                  device: torch.device | str = "cpu") -> np.ndarray:
    """Probabilities of a trained model on named arrays (any modality)."""
    return logits_to_probs(model_logits(model, data, device), multi_label)
