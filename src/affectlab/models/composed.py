"""Models made of parts: an encoder per input → (fusion) → a head per task.

The batch names each input's fields ``{input}_{field}`` (``text_ids``, ``text_mask``,
``text_focus``); every encoder reads its own input's fields and returns one vector per sample;
fusion (concatenation for now) joins them; every head turns the joint vector into one task's
logits or values. ``forward`` returns ``{task: output}`` — what objectives and pipelines read.
"""
from __future__ import annotations

import torch
from torch import nn


class ComposedModel(nn.Module):
    def __init__(self, encoders: dict[str, nn.Module], heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.heads = nn.ModuleDict(heads)

    @property
    def out_dim(self) -> int:
        return sum(int(e.out_dim) for e in self.encoders.values())

    def represent(self, **batch: torch.Tensor) -> torch.Tensor:
        """The joint vector the heads read (also what separability analysis and probes use)."""
        vectors = []
        for name, encoder in self.encoders.items():
            prefix = f"{name}_"
            fields = {k[len(prefix):]: v for k, v in batch.items() if k.startswith(prefix)}
            vectors.append(encoder(**fields))
        return vectors[0] if len(vectors) == 1 else torch.cat(vectors, dim=-1)

    def forward(self, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        joint = self.represent(**batch)
        return {task: head(joint) for task, head in self.heads.items()}

    def parameter_role(self, name: str) -> str:
        """Encoder parameters train with ``training.encoder_lr``, the rest with ``lr``."""
        return "encoder" if name.startswith("encoders.") else "head"
