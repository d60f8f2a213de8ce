"""Which training rows an epoch visits when several corpora train one model.

Each group contributes ``min(rows, cap)`` rows to an epoch's budget; the budget is
shared out with p_g ∝ n_g^(1/T) — T = 1 keeps the natural proportions, larger T flattens
them towards uniform (multilingual-BERT-style temperature sampling), so a 700-row sarcasm set
is not drowned by 40,000 GoEmotions rows. A group drawn more often than it has rows repeats
rows (a fresh permutation per pass); fewer, a random subset. ``pinned`` groups (curated
examples, the engine's "seed injection" against drift) appear in full ``repeat`` times in every
epoch, outside the budget. Draws use the trainer's generator, so a resumed run draws the same.

A group is a corpus (``GroupSampler(groups)``: one id per row) or a task (``GroupSampler.of_members``:
the rows that label each task, which may overlap: a GoEmotions row labels three tasks), so the
three sarcasm corpora share one sarcasm quota instead of taking three.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class GroupSampler:
    groups: np.ndarray                       # group id per training row
    temperature: float = 1.0
    cap: int | None = None
    pinned: dict[int, int] = field(default_factory=dict)  # group id -> times each row appears per epoch

    members: dict[int, np.ndarray] | None = None  # group id -> its rows (of_members)

    @classmethod
    def of_members(cls, members: dict[int, np.ndarray], temperature: float = 1.0, cap: int | None = None,
                   pinned: dict[int, int] | None = None) -> "GroupSampler":
        """Groups given as row sets that may overlap (e.g. the rows labelling each task)."""
        return cls(np.zeros(0, dtype=int), temperature, cap, pinned or {},
                   {g: np.asarray(rows) for g, rows in members.items() if len(rows)})

    def __post_init__(self) -> None:
        self.groups = np.asarray(self.groups)
        self._rows = self.members if self.members is not None else {
            int(g): np.flatnonzero(self.groups == g) for g in np.unique(self.groups)}
        sampled = {g: rows for g, rows in self._rows.items() if g not in self.pinned}
        natural = {g: min(len(rows), self.cap) if self.cap else len(rows) for g, rows in sampled.items()}
        budget = sum(natural.values())
        weights = {g: n ** (1.0 / self.temperature) for g, n in natural.items()}
        total = sum(weights.values()) or 1.0
        self.counts = {g: int(round(budget * w / total)) for g, w in weights.items()}
        self.counts.update({g: len(self._rows[g]) * k for g, k in self.pinned.items()})

    def epoch_size(self) -> int:
        return int(sum(self.counts.values()))

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """This epoch's row indices, shuffled."""
        parts = []
        for group, count in self.counts.items():
            if count == 0:
                continue
            rows = torch.as_tensor(self._rows[group])
            passes = [rows[torch.randperm(len(rows), generator=generator)] for _ in range(-(-count // len(rows)))]
            parts.append(torch.cat(passes)[:count])
        index = torch.cat(parts)
        return index[torch.randperm(len(index), generator=generator)]
