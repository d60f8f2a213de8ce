"""Log-mel front-end speed: the batched torch LogMel (CPU, and GPU when there is one) against
librosa computing the same log-mel one clip at a time, same machine, same run.

    python benchmarks/audio_frontend.py [--data-root ../shared/data] [--clips 200] [--batch-size 32] [--repeats 10]

Uses the first ``--clips`` RAVDESS WAVs when ``<data-root>/ravdess`` exists (else random
synthetic clips), loaded, resampled and fitted to ``--seconds`` before timing: only the
front-end is timed. Prints clips/s, the speed-up over librosa and the largest difference.
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
import torch

from affectlab.features.audio_io import fit_length, load_audio_batch
from affectlab.features.logmel import PRESETS, LogMel
from _timing import speedup, timed  # benchmarks/ is on sys.path when run as a script


def clips(data_root: Path, n: int, sr: int, seconds: float) -> tuple[np.ndarray, str]:
    """[n, seconds * sr] float32 waves and a sentence saying where they came from."""
    length = round(seconds * sr)
    files = sorted((data_root / "ravdess").glob("Actor_*/*.wav"))[:n]
    if files:
        waves, failures = load_audio_batch(files, sr, on_error="skip", progress=False)
        kept = [fit_length(w, length) for w in waves if w is not None]
        return np.stack(kept), f"{len(kept)} RAVDESS clips ({len(failures)} unreadable) from {data_root / 'ravdess'}"
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((n, length))).astype(np.float32), f"{n} synthetic random clips (no RAVDESS)"


def torch_runner(module: LogMel, waves: np.ndarray, batch_size: int, device: torch.device) -> Callable[[], np.ndarray]:
    module = module.to(device)
    data = torch.from_numpy(waves).to(device)

    @torch.inference_mode()
    def run() -> np.ndarray:
        parts = [module(data[i : i + batch_size]) for i in range(0, len(data), batch_size)]
        out = torch.cat(parts)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out.cpu().numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--preset", default="ravdess", choices=sorted(PRESETS))
    parser.add_argument("--repeats", type=int, default=10, help="best of this many timed runs per side")
    args = parser.parse_args()

    settings = PRESETS[args.preset]
    waves, source = clips(Path(args.data_root), args.clips, settings["sample_rate"], args.seconds)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), librosa {librosa.__version__}")
    print(f"input: {source}; {args.seconds:g} s at {settings['sample_rate']} Hz; preset {args.preset} {settings}")

    def librosa_run() -> np.ndarray:
        return np.stack([librosa.power_to_db(librosa.feature.melspectrogram(
            y=w, sr=settings["sample_rate"], n_fft=settings["n_fft"], hop_length=settings["hop_length"],
            n_mels=settings["n_mels"], power=2.0), ref=1.0, top_db=80) for w in waves])

    ref = timed(librosa_run, args.repeats)  # best of the repeats after a warm-up (FFT plans, buffers)
    reference = ref.result
    n = len(waves)
    print(f"{'librosa, one clip at a time':34s}: {n / ref.best:9.1f} clips/s; {ref.spread()}")
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        run = torch_runner(LogMel.from_preset(args.preset), waves, args.batch_size, device)
        batched = timed(run, args.repeats)
        out = batched.result
        label = f"torch LogMel, batches of {args.batch_size}, {device.type}"
        if device.type == "cuda":
            label += f" ({torch.cuda.get_device_name()})"
        close = np.allclose(out, reference, rtol=1e-3, atol=1e-3)  # relative, except near 0 dB
        print(f"{label:34s}: {n / batched.best:9.1f} clips/s  (vs librosa {speedup(ref, batched)}; max abs diff "
              f"{np.abs(out - reference).max():.2e} dB, within rtol 1e-3: {'yes' if close else 'NO'}); "
              f"{batched.spread()}")


if __name__ == "__main__":
    main()
