"""Spectrogram augmentations as trainer ``Augment`` hooks.

SpecAugment (Park et al. 2019) masks random frequency and time bands, so the model cannot lean on
any one band or moment; SpecStretch resamples each spectrogram along time (a speaking-rate
change, like speed perturbation) and along frequency (a vocal-tract-length change, like VTLP,
Jaitly & Hinton 2013), so a few dozen speakers look like more. ``Chain`` applies several in turn.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch
import torch.nn.functional as F

from ..errors import ConfigError


def _as_spectrogram(batch: dict[str, torch.Tensor], key: str, name: str) -> tuple[torch.Tensor, bool]:
    """``batch[key]`` as [B, F, T], and whether it came with a channel axis."""
    x = batch[key]
    if x.dim() not in (3, 4) or (x.dim() == 4 and x.shape[1] != 1):
        raise ConfigError(f"{name} expects {key!r} of shape [B, F, T] or [B, 1, F, T], got {list(x.shape)}")
    return (x.squeeze(1), True) if x.dim() == 4 else (x, False)


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
        spec, channel = _as_spectrogram(batch, self.key, "SpecAugment")
        masked = self.mask(*spec.shape, generator).to(spec.device)
        if self.fill == "mean":
            fill = spec.mean(dim=(1, 2), keepdim=True)
        else:
            fill = torch.zeros((), dtype=spec.dtype, device=spec.device)
        out = torch.where(masked, fill, spec)
        return {**batch, self.key: out.unsqueeze(1) if channel else out}


@dataclass
class SpecStretch:
    """Stretch each spectrogram of ``batch[key]`` by its own random factors.

    Time is resampled by a factor in [1 - time, 1 + time] and frequency by one in
    [1 - freq, 1 + freq], both anchored at the origin (the clip's start, the lowest band), with
    bilinear interpolation. What a shrink leaves uncovered is filled with the example's minimum,
    its silence level; what a stretch pushes past the end is dropped. Shapes are unchanged.
    """

    time: float = 0.15
    freq: float = 0.06
    key: str = "x"

    def __post_init__(self) -> None:
        if not (0 <= self.time < 1 and 0 <= self.freq < 1):
            raise ConfigError("SpecStretch factors must lie in [0, 1): they are the largest relative change")

    def factors(self, n_examples: int, generator: torch.Generator) -> torch.Tensor:
        """[B, 2]: per example, the (time, freq) stretch factors."""
        unit = torch.rand((n_examples, 2), generator=generator, device=generator.device) * 2 - 1
        limits = torch.tensor([self.time, self.freq], device=unit.device)
        return 1 + unit * limits

    def __call__(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        spec, channel = _as_spectrogram(batch, self.key, "SpecStretch")
        scale = 1 / self.factors(len(spec), generator).to(spec.device, torch.float32)
        theta = torch.zeros(len(spec), 2, 3, device=spec.device)
        # affine_grid maps output to input coordinates in [-1, 1] (x = time, y = frequency);
        # input index = output index / factor, so the origin -1 stays where it is.
        theta[:, 0, 0], theta[:, 0, 2] = scale[:, 0], scale[:, 0] - 1
        theta[:, 1, 1], theta[:, 1, 2] = scale[:, 1], scale[:, 1] - 1
        image = spec.float().unsqueeze(1)
        floor = image.amin(dim=(1, 2, 3), keepdim=True)
        grid = F.affine_grid(theta, list(image.shape), align_corners=True)
        out = F.grid_sample(image - floor, grid, mode="bilinear", padding_mode="zeros", align_corners=True) + floor
        out = out.to(spec.dtype)
        return {**batch, self.key: out if channel else out.squeeze(1)}


Augment = Callable[[dict[str, torch.Tensor], torch.Generator], dict[str, torch.Tensor]]


@dataclass
class Chain:
    """Apply augmentations in order, all drawing from the trainer's one generator."""

    steps: Sequence[Augment]

    def __call__(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        for step in self.steps:
            batch = step(batch, generator)
        return batch
