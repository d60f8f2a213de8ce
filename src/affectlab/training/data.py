"""In-memory datasets of named arrays: the batch keys are the model's forward arguments."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ArrayDataset:
    inputs: dict[str, np.ndarray]
    y: np.ndarray | None = None

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.inputs.values()}
        if self.y is not None:
            lengths.add(len(self.y))
        if len(lengths) != 1:
            raise ValueError(f"inputs and labels differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def tensors(self, device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        inputs = {k: torch.as_tensor(np.asarray(v, dtype=np.float32), device=device)
                  for k, v in self.inputs.items()}
        y = None
        if self.y is not None:
            y = torch.as_tensor(np.asarray(self.y), device=device)
        return inputs, y

    def take(self, index: np.ndarray) -> "ArrayDataset":
        return ArrayDataset({k: np.asarray(v)[index] for k, v in self.inputs.items()},
                            None if self.y is None else np.asarray(self.y)[index])


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
