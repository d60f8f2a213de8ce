"""Device selection shared by encoders and trainers."""
from __future__ import annotations

import torch


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` → CUDA, else MPS, else CPU; any other string is passed to ``torch.device``."""
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
