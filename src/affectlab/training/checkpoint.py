"""Per-epoch training checkpoints: everything a killed run needs to carry on as if never stopped.

A checkpoint holds the trainable weights (a frozen encoder is rebuilt from its own files), the
best epoch's weights, optimiser, schedulers, every random-number state the loop draws from and
the history. It is written to a temporary file and renamed, so a kill mid-write leaves the
previous checkpoint intact.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FILE = "last.pt"


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """State entries that training can change: parameters with gradients and every buffer."""
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k not in frozen}


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"generator": generator.get_state(), "torch": torch.get_rng_state(),
             "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | Path, state: dict[str, Any]) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / FILE
    temporary = directory / f".{FILE}.{os.getpid()}.tmp"
    torch.save(state, temporary)
    os.replace(temporary, target)
    return target


def load_checkpoint(directory: str | Path | None) -> dict[str, Any] | None:
    if directory is None or not (Path(directory) / FILE).is_file():
        return None
    return torch.load(Path(directory) / FILE, map_location="cpu", weights_only=False)


def remove_checkpoint(directory: str | Path | None) -> None:
    """A finished run needs no checkpoint (fine-tuned encoders make them large)."""
    if directory is not None:
        (Path(directory) / FILE).unlink(missing_ok=True)
