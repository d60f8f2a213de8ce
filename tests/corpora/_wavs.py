"""Tiny real WAV files for the speech-loader tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_wav(path: Path, seconds: float = 0.1, rate: int = 16000, channels: int = 1,
              freq: float = 440.0) -> Path:
    """``seconds`` of a sine tone as 16-bit PCM; parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.1 * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1) if channels > 1 else tone, rate,
             subtype="PCM_16")
    return path


def write_lfs_pointer(path: Path) -> Path:
    """What a clone without ``git lfs pull`` leaves in place of a wav file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                    "size 12345\n", encoding="ascii")
    return path
