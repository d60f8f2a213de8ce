"""Backbones over 1-channel spectrograms ([B, F, T] log-mel): a small CNN and ResNet-18.

Plain torch (torchvision's wheels do not match this torch). Both normalise their input with
a learned BatchNorm over the single channel, end in global average pooling (any clip length
works) and a dropout + linear head, so they are drop-in heads for the shared trainer.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .inputs import SPECTROGRAM, declares
from .classifiers import MODELS


def _as_image(x: torch.Tensor) -> torch.Tensor:
    """[B, F, T] → [B, 1, F, T]; 4-d inputs pass through."""
    return x.unsqueeze(1) if x.dim() == 3 else x


class ClipStandardize(nn.Module):
    """Each clip to zero mean and unit variance over its whole spectrogram. In dB a recording's
    gain is an additive offset, so this removes loudness differences between speakers and rooms
    that a corpus-wide BatchNorm keeps."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(-2, -1), keepdim=True)
        std = x.std(dim=(-2, -1), keepdim=True).clamp(min=1e-5)
        return (x - mean) / std


class FrequencyNorm(nn.Module):
    """A BatchNorm per frequency bin (as PANNs do): low and high mel bands differ in level and
    spread by tens of dB, and one scalar BatchNorm leaves the quiet high bands near zero."""

    def __init__(self, n_bins: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


INPUT_NORMS = {
    "batch": lambda n_bins: nn.BatchNorm2d(1),
    "clip": lambda n_bins: ClipStandardize(),
    "freq": FrequencyNorm,
}


class SpectrogramClassifier(nn.Module):
    """input normalisation → ``body`` → global average pool → dropout → linear."""

    def __init__(self, body: nn.Module, body_dim: int, n_classes: int, dropout: float,
                 input_norm: str = "batch", n_bins: int | None = None) -> None:
        super().__init__()
        if input_norm not in INPUT_NORMS:
            raise ConfigError(f"unknown input_norm {input_norm!r}; known: {', '.join(INPUT_NORMS)}")
        if input_norm == "freq" and not n_bins:
            raise ConfigError("input_norm 'freq' needs the number of frequency bins (input_dim)")
        self.input_norm = INPUT_NORMS[input_norm](n_bins)
        self.body = body
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(body_dim, n_classes))

    def features(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled vector before the head (used for separability analysis)."""
        return self.body(self.input_norm(_as_image(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, mask))


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2))


class BasicBlock(nn.Module):
    """ResNet v1 basic block (He et al. 2016): two 3x3 convs and an identity/projection skip."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.skip = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.skip(x))


def resnet_body(blocks: tuple[int, ...] = (2, 2, 2, 2), width: int = 64, in_channels: int = 1) -> nn.Sequential:
    """The torchvision ResNet layout (7x7 stem, max-pool, four stages) for ``in_channels`` inputs."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    c_in = width
    for stage, count in enumerate(blocks):
        c_out = width * 2 ** stage
        for i in range(count):
            layers.append(BasicBlock(c_in, c_out, stride=2 if stage > 0 and i == 0 else 1))
            c_in = c_out
    return nn.Sequential(*layers)


@MODELS.register("cnn")
def cnn(n_classes: int, hidden: int = 32, dropout: float = 0.3, depth: int = 4,
        input_norm: str = "batch", input_dim: int | None = None) -> SpectrogramClassifier:
    """Small CNN: ``depth`` conv-BN-ReLU-maxpool blocks, channels ``hidden`` doubling per block.
    ``input_norm``: ``batch`` (one learned BatchNorm over the corpus), ``freq`` (one per
    frequency bin) or ``clip`` (per clip)."""
    channels = [1] + [hidden * 2 ** i for i in range(depth)]
    body = nn.Sequential(*(_conv_block(a, b) for a, b in zip(channels, channels[1:])))
    return SpectrogramClassifier(body, channels[-1], n_classes, dropout, input_norm, input_dim)


@MODELS.register("resnet18")
def resnet18(n_classes: int, hidden: int = 64, dropout: float = 0.3, input_norm: str = "batch",
             input_dim: int | None = None) -> SpectrogramClassifier:
    """ResNet-18 for 1-channel spectrograms; ``hidden`` is the stem width (64 = the original)."""
    return SpectrogramClassifier(resnet_body((2, 2, 2, 2), hidden), hidden * 8, n_classes, dropout,
                                 input_norm, input_dim)


for _factory in (cnn, resnet18):
    declares(SPECTROGRAM)(_factory)
