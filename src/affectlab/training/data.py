"""Datasets the one trainer reads: batch keys are the model's forward arguments.

Two kinds share one interface (``len``, ``targets(default)``, ``batch(index, device)``):
``ArrayDataset`` holds named in-memory arrays (cached frozen features: the grids' fast path);
``CollatedDataset`` holds per-sample items that a collate function turns into a batch (token
ids stay integers and are padded per batch; media can be read per batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .objectives import target_arrays

Batch = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]


def take_targets(y, index: np.ndarray):
    """Rows ``index`` of one target array or of every named one (None stays None)."""
    if isinstance(y, Mapping):
        return {k: np.asarray(v)[index] for k, v in y.items()}
    return None if y is None else np.asarray(y)[index]


@dataclass
class ArrayDataset:
    """Named input arrays; ``y`` is one target array (task ``default``) or ``{task: array}``."""

    inputs: dict[str, np.ndarray]
    y: np.ndarray | Mapping[str, np.ndarray] | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.inputs.values()}
        lengths.update(len(v) for v in target_arrays(self.y, "label").values())
        if len(lengths) != 1:
            raise ValueError(f"inputs and labels differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def tensors(self, device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        inputs = {k: torch.as_tensor(np.asarray(v, dtype=np.float32), device=device)
                  for k, v in self.inputs.items()}
        y = None
        if self.y is not None and not isinstance(self.y, Mapping):
            y = torch.as_tensor(np.asarray(self.y), device=device)
        return inputs, y

    def take(self, index: np.ndarray) -> "ArrayDataset":
        return ArrayDataset({k: np.asarray(v)[index] for k, v in self.inputs.items()}, take_targets(self.y, index))

    def targets(self, default: str) -> dict[str, np.ndarray]:
        return target_arrays(self.y, default)

    def batch(self, index: torch.Tensor, device: torch.device, default: str) -> Batch:
        """Rows ``index`` of every array, from tensors moved to ``device`` once."""
        key = (str(device), default)
        if key not in self._cache:
            inputs, _ = self.tensors(device)
            targets = {k: torch.as_tensor(v, device=device) for k, v in self.targets(default).items()}
            self._cache.clear()
            self._cache[key] = (inputs, targets)
        inputs, targets = self._cache[key]
        index = index.to(device)
        return trim_padding({k: v[index] for k, v in inputs.items()}), {k: v[index] for k, v in targets.items()}


class CollatedDataset(torch.utils.data.Dataset):
    """Per-sample items and a ``collate`` that pads/loads them into one batch of tensors.

    ``lengths`` (e.g. token counts) lets the trainer bucket samples of similar length into
    batches (less padding); targets are named arrays like ``ArrayDataset.y``.
    """

    def __init__(self, items: Sequence[Any], collate: Callable[[list[Any]], dict[str, torch.Tensor]],
                 y: np.ndarray | Mapping[str, np.ndarray] | None = None,
                 lengths: Sequence[int] | None = None, sampler=None) -> None:
        """``sampler`` (``training.sampling.GroupSampler``) draws each training epoch's rows
        when several corpora share the dataset; without it an epoch visits every row once."""
        self.items = list(items)
        self.sampler = sampler
        self.collate = collate
        self.y = y
        self.lengths = None if lengths is None else np.asarray(lengths)
        sizes = {len(v) for v in target_arrays(y, "label").values()} | {len(self.items)}
        if len(sizes) != 1:
            raise ValueError(f"items and labels differ in length: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]

    def targets(self, default: str) -> dict[str, np.ndarray]:
        return target_arrays(self.y, default)

    def take(self, index: np.ndarray) -> "CollatedDataset":
        index = np.asarray(index)
        return CollatedDataset([self.items[i] for i in index], self.collate, take_targets(self.y, index),
                               None if self.lengths is None else self.lengths[index])

    def batch(self, index: torch.Tensor, device: torch.device, default: str) -> Batch:
        rows = index.cpu().numpy()
        inputs = {k: v.to(device) for k, v in self.collate([self.items[i] for i in rows]).items()}
        targets = {k: torch.as_tensor(np.asarray(v)[rows], device=device)
                   for k, v in self.targets(default).items()}
        return inputs, targets


def length_buckets(lengths: np.ndarray, batch_size: int, generator: torch.Generator,
                   pool: int = 50) -> list[torch.Tensor]:
    """Shuffled batches of similar length: shuffle, sort within pools of ``pool`` batches,
    cut into batches, shuffle the batch order — less padding, still random."""
    order = torch.randperm(len(lengths), generator=generator)
    batches: list[torch.Tensor] = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = order[start:start + span]
        chunk = chunk[torch.as_tensor(np.argsort(-lengths[chunk.numpy()], kind="stable"))]
        batches.extend(chunk.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffle]


def trim_padding(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cut a masked batch's unit axis (dim 1) to its longest real sequence.

    Sequences are padded to the corpus-wide maximum (a few long utterances set it), so most
    batches would spend their loops on padding. Real units come first, so dropping trailing
    all-padding positions changes no output. The unit axis is the mask's last one (a
    ``BatchedTrainer`` batch has a member axis in front); inputs of that length along it are cut.
    """
    mask = batch.get("mask")
    if mask is None or mask.dim() < 2:
        return batch
    axis = mask.dim() - 1
    steps = mask.shape[axis]
    longest = int(mask.sum(axis).max().clamp(min=1))
    if longest >= steps:
        return batch
    return {k: (v.narrow(axis, 0, longest) if v.dim() > axis and v.shape[axis] == steps else v)
            for k, v in batch.items()}
