"""Models made of parts: an encoder per input → (fusion) → a head per task.

The batch names each input's fields ``{input}_{field}`` (``text_ids``, ``text_mask``,
``text_focus``); every encoder reads its own input's fields and returns one vector per sample;
fusion (concatenation for now) joins them; every head turns the joint vector into one task's
logits or values. ``forward`` returns ``{task: output}`` — what objectives and pipelines read.
An optional ``dissonance`` head (``models.dissonance``) compares a text input's current turn
with its context and adds output ``dissonance``.
"""
from __future__ import annotations

import torch
from torch import nn

#: The output (and task) name of the dissonance head.
DISSONANCE = "dissonance"


class ComposedModel(nn.Module):
    def __init__(self, encoders: dict[str, nn.Module], heads: dict[str, nn.Module],
                 dissonance: nn.Module | None = None, dissonance_input: str = "text") -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.heads = nn.ModuleDict(heads)
        self.dissonance = dissonance
        self.dissonance_input = dissonance_input

    @property
    def out_dim(self) -> int:
        return sum(int(e.out_dim) for e in self.encoders.values())

    def _encode(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The joint vector and, with a dissonance head, its score."""
        vectors, score = [], None
        for name, encoder in self.encoders.items():
            prefix = f"{name}_"
            fields = {k[len(prefix):]: v for k, v in batch.items() if k.startswith(prefix)}
            if self.dissonance is not None and name == self.dissonance_input:
                utterance, context, has_context = encoder.with_context(**fields)
                score = self.dissonance(context, utterance, has_context)
                vectors.append(utterance)
            else:
                vectors.append(encoder(**fields))
        joint = vectors[0] if len(vectors) == 1 else torch.cat(vectors, dim=-1)
        return joint, score

    def represent(self, **batch: torch.Tensor) -> torch.Tensor:
        """The joint vector the heads read (also what separability analysis and probes use)."""
        return self._encode(batch)[0]

    def forward(self, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        joint, score = self._encode(batch)
        outputs = {task: head(joint) for task, head in self.heads.items()}
        if score is not None:
            outputs[DISSONANCE] = score
        return outputs

    def parameter_role(self, name: str) -> str:
        """Encoder parameters train with ``training.encoder_lr``, the rest with ``lr``."""
        return "encoder" if name.startswith("encoders.") else "head"
