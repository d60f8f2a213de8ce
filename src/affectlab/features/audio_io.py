"""Reading audio files robustly: one mono float32 array at a known rate, or one clear error.

Every failure a user can cause (corrupt, empty, silent or too short file) is an
:class:`AudioReadError` naming the file, so a bad clip in a corpus of thousands reads as one
line instead of a soundfile/soxr traceback; batch loading can skip such files and list them.
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, DataFormatError, DataNotFoundError

Policy = Literal["start", "center"]
OnError = Literal["raise", "skip"]

#: Peak amplitude below which a clip counts as digital silence (about -80 dBFS).
SILENCE_PEAK = 1e-4
#: Speech kept on each side of the VAD's first start / last end, in seconds.
VAD_MARGIN_S = 0.1
VAD_RATE = 16_000  # silero-vad's native rate
RESAMPLE_QUALITY = "HQ"


class AudioReadError(DataFormatError):
    """An audio file exists but cannot give usable samples; ``path`` and ``reason`` are kept apart
    so batch loaders can report them in tables."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"audio file {self.path}: {reason}")


def load_audio(
    path: str | Path,
    sample_rate: int,
    *,
    trim_silence: bool = False,
    max_seconds: float | None = None,
    min_seconds: float = 0.0,
) -> np.ndarray:
    """Read WAV/FLAC/OGG as float32 mono at ``sample_rate`` (channels averaged, soxr HQ resampling).

    ``trim_silence`` cuts leading/trailing non-speech with silero-vad (clips where it hears no
    speech are kept whole). ``min_seconds`` is checked after trimming; clips longer than
    ``max_seconds`` are cropped around their centre (like :func:`fit_length`), where the
    speech usually is.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"audio file not found: {path}")
    wave, native_rate = _read_mono(path)
    if wave.size == 0:
        raise AudioReadError(path, "empty (0 samples)")
    peak = float(np.max(np.abs(wave)))
    if not np.isfinite(peak):
        raise AudioReadError(path, "contains NaN or infinite samples")
    if peak < SILENCE_PEAK:
        raise AudioReadError(path, f"silent (peak amplitude {peak:.1e} < {SILENCE_PEAK:.0e})")
    wave = resample(wave, native_rate, sample_rate, path=path)
    if trim_silence:
        wave = trim_to_speech(wave, sample_rate)
    seconds = wave.size / sample_rate
    if seconds < min_seconds:
        raise AudioReadError(path, f"too short ({seconds:.2f} s < min_seconds={min_seconds:g} s)")
    if max_seconds is not None and wave.size > round(max_seconds * sample_rate):
        wave = fit_length(wave, round(max_seconds * sample_rate), "center")
    return wave


def _read_mono(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports corrupt/unknown formats in several exception types
        raise AudioReadError(path, f"unreadable ({_first_line(exc)})") from exc
    return np.ascontiguousarray(data.mean(axis=1, dtype=np.float32)), int(rate)


def resample(wave: np.ndarray, rate_in: int, rate_out: int, *, path: str | Path = "<array>") -> np.ndarray:
    """soxr "HQ" resampling of a mono float32 array (a no-op at equal rates)."""
    if rate_in == rate_out:
        return wave.astype(np.float32, copy=False)
    import soxr

    try:
        out = soxr.resample(wave, rate_in, rate_out, quality=RESAMPLE_QUALITY)
    except Exception as exc:
        raise AudioReadError(path, f"cannot resample {rate_in} -> {rate_out} Hz ({_first_line(exc)})") from exc
    return np.ascontiguousarray(out, dtype=np.float32)


def fit_length(wave: np.ndarray, n_samples: int, policy: Policy = "center") -> np.ndarray:
    """Crop or zero-pad to exactly ``n_samples`` so clips stack into fixed-size spectrograms.

    ``center`` keeps (or places) the middle of the clip; ``start`` keeps the beginning and pads
    at the end.
    """
    if policy not in ("start", "center"):
        raise ConfigError(f"unknown fit_length policy {policy!r}; known: center, start")
    if n_samples < 0:
        raise ConfigError(f"fit_length needs n_samples >= 0, got {n_samples}")
    size = wave.shape[-1]
    if size == n_samples:
        return wave
    offset = (abs(size - n_samples) // 2) if policy == "center" else 0
    if size > n_samples:
        return wave[..., offset : offset + n_samples]
    out = np.zeros(wave.shape[:-1] + (n_samples,), dtype=wave.dtype)
    out[..., offset : offset + size] = wave
    return out


_vad_model: Any = None
_vad_lock = threading.Lock()


def _vad() -> Any:
    """silero-vad's TorchScript model, loaded once from the copy the package ships (no network)."""
    global _vad_model
    if _vad_model is None:
        from silero_vad import load_silero_vad

        with warnings.catch_warnings():  # the loader uses deprecated importlib/jit calls; not ours to fix
            warnings.simplefilter("ignore", DeprecationWarning)
            _vad_model = load_silero_vad(onnx=False)
    return _vad_model


def speech_bounds(wave: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """[first speech start, last speech end) in samples at ``sample_rate``, or None without speech."""
    import torch
    from silero_vad import get_speech_timestamps

    at_16k = resample(wave, sample_rate, VAD_RATE)
    with _vad_lock:  # the model carries recurrent state between windows
        stamps = get_speech_timestamps(torch.from_numpy(at_16k), _vad(), sampling_rate=VAD_RATE)
    if not stamps:
        return None
    scale = sample_rate / VAD_RATE
    return int(stamps[0]["start"] * scale), int(np.ceil(stamps[-1]["end"] * scale))


def trim_to_speech(wave: np.ndarray, sample_rate: int, margin_s: float = VAD_MARGIN_S) -> np.ndarray:
    """Cut to [first speech start - margin, last speech end + margin]; unchanged if no speech is found."""
    bounds = speech_bounds(wave, sample_rate)
    if bounds is None:
        return wave
    margin = round(margin_s * sample_rate)
    start, end = max(bounds[0] - margin, 0), min(bounds[1] + margin, wave.size)
    return wave[start:end]


def load_audio_batch(
    paths: Sequence[str | Path],
    sample_rate: int,
    *,
    on_error: OnError = "raise",
    progress: bool = True,
    **load_kwargs: Any,
) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
    """Load many files (keyword arguments as for :func:`load_audio`).

    With ``on_error="skip"`` an unreadable or missing file becomes None and is listed as
    ``(path, reason)`` in the second return value; with ``"raise"`` the first one raises.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"unknown on_error {on_error!r}; known: raise, skip")
    waves: list[np.ndarray | None] = []
    failures: list[tuple[str, str]] = []
    for path in tqdm(paths, desc="loading audio", unit="file", disable=None if progress else True):
        try:
            waves.append(load_audio(path, sample_rate, **load_kwargs))
        except (AudioReadError, DataNotFoundError) as exc:
            if on_error == "raise":
                raise
            waves.append(None)
            failures.append((str(path), getattr(exc, "reason", "file not found")))
    return waves, failures


def _first_line(exc: BaseException) -> str:
    """The reason alone: libsndfile's "Error opening '<path>': " prefix would repeat the path."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text.split("': ", 1)[1] if text.startswith("Error opening '") and "': " in text else text
