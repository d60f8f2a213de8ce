"""SpecAugment (Park et al. 2019) as a trainer ``Augment`` hook: random frequency and time bands
of each training spectrogram are masked, so the model cannot lean on any one band or moment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import ConfigError


def band_mask(n_examples: int, size: int, n_masks: int, max_width: int,
              generator: torch.Generator) -> torch.Tensor:
    """[B, size] boolean: per example, ``n_masks`` bands of width U{0..max_width} at uniform starts
    (bands may overlap; a width of 0 masks nothing)."""
    max_width = min(max_width, size)
    shape = (n_examples, n_masks)
    width = torch.randint(0, max_width + 1, shape, generator=generator, device=generator.device)
    start = (torch.rand(shape, generator=generator, device=generator.device) * (size - width + 1)).long()
    position = torch.arange(size, device=generator.device)
    inside = (position >= start[..., None]) & (position < (start + width)[..., None])  # [B, n, size]
    return inside.any(dim=1)


@dataclass
class SpecAugment:
    """Mask ``batch[key]`` ([B, F, T] or [B, 1, F, T]); other inputs pass through unchanged.

    ``fill="mean"`` (default) replaces masked cells by the example's own mean, which for
    log-mel dB is a neutral level; ``"zero"`` uses 0 (right for standardised inputs). All
    randomness comes from the trainer's generator, so a seeded run repeats exactly; the input
    tensor is never modified.
    """

    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 2
    time_width: int = 20
    fill: Literal["mean", "zero"] = "mean"
    key: str = "x"

    def __post_init__(self) -> None:
        if self.fill not in ("mean", "zero"):
            raise ConfigError(f"unknown SpecAugment fill {self.fill!r}; known: mean, zero")
        if min(self.freq_masks, self.freq_width, self.time_masks, self.time_width) < 0:
            raise ConfigError("SpecAugment mask counts and widths must be >= 0")

    def mask(self, n_examples: int, n_freq: int, n_time: int, generator: torch.Generator) -> torch.Tensor:
        """[B, F, T] boolean, True where the spectrogram is masked."""
        freq = band_mask(n_examples, n_freq, self.freq_masks, self.freq_width, generator)
        time = band_mask(n_examples, n_time, self.time_masks, self.time_width, generator)
        return freq[:, :, None] | time[:, None, :]

    def __call__(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        x = batch[self.key]
        if x.dim() not in (3, 4) or (x.dim() == 4 and x.shape[1] != 1):
            raise ConfigError(f"SpecAugment expects {self.key!r} of shape [B, F, T] or [B, 1, F, T], "
                              f"got {list(x.shape)}")
        spec = x.squeeze(1) if x.dim() == 4 else x
        masked = self.mask(*spec.shape, generator).to(x.device)
        if self.fill == "mean":
            fill = spec.mean(dim=(1, 2), keepdim=True)
        else:
            fill = torch.zeros((), dtype=spec.dtype, device=spec.device)
        out = torch.where(masked, fill, spec)
        return {**batch, self.key: out.unsqueeze(1) if x.dim() == 4 else out}
