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
