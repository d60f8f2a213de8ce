import librosa
import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.features.logmel import PRESETS, LogMel, mel_bands


def chirp_mix(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A rising chirp, a steady tone and a little noise: energy across the whole mel range."""
    t = np.arange(round(seconds * sr)) / sr
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (150 * t + 1500 * t**2)) + 0.2 * np.sin(2 * np.pi * 440 * t)
            + 0.01 * noise).astype(np.float32)


def librosa_logmel(y: np.ndarray, sr: int, n_fft: int, hop_length: int, n_mels: int, **_) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0)
    return librosa.power_to_db(mel, ref=1.0, top_db=80)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_matches_librosa(name):
    settings = PRESETS[name]
    sr = settings["sample_rate"]
    y = chirp_mix(1.3, sr)
    ours = LogMel.from_preset(name)(torch.from_numpy(y)).numpy()
    ref = librosa_logmel(y, sr, **settings)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-3)


def test_top_db_clips_each_clip_at_its_own_peak():
    sr = 16000
    loud, quiet = chirp_mix(0.5, sr), 0.1 * chirp_mix(0.5, sr, seed=1)
    quiet[: sr // 4] = 0  # digital silence: -100 dB without clipping
    out = LogMel(sr, 512, 128, 40)(torch.from_numpy(np.stack([loud, quiet])))
    for row, y in zip(out.numpy(), (loud, quiet)):
        np.testing.assert_allclose(row, librosa_logmel(y, sr, 512, 128, 40), rtol=1e-3, atol=1e-3)
    quiet_db = out[1].numpy()
    assert quiet_db.max() - quiet_db.min() == pytest.approx(80.0, abs=1e-3)  # floor = its own peak - 80
    assert quiet_db.max() < out[0].numpy().max() - 20  # so a batch-wide floor would differ


def test_batched_equals_one_by_one():
    module = LogMel.from_preset("ravdess")
    waves = np.stack([chirp_mix(1.0, 22050, seed=s) * (s + 1) for s in range(3)])
    batch = module(torch.from_numpy(waves))
    for index, wave in enumerate(waves):
        torch.testing.assert_close(batch[index], module(torch.from_numpy(wave)), rtol=1e-5, atol=1e-4)


def test_ravdess_preset_shape():
    module = LogMel.from_preset("ravdess")
    assert (module.sample_rate, module.n_mels, module.n_fft, module.hop_length) == (22050, 128, 1024, 512)
    out = module(torch.zeros(2, 4 * 22050))
    assert out.shape == (2, 128, 1 + 4 * 22050 // 512) == (2, 128, module.n_frames(4 * 22050))
    with pytest.raises(ConfigError, match="unknown log-mel preset"):
        LogMel.from_preset("nope")


def test_filterbank_equals_librosa():
    librosa = pytest.importorskip("librosa")
    from affectlab.features.logmel import mel_filterbank

    for sr, n_fft, n_mels, fmin, fmax in [(22050, 1024, 128, 0.0, None), (16000, 400, 64, 20.0, 7600.0)]:
        ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
        ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float32)
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("settings", [PRESETS["ravdess"], PRESETS["speech16k"],
                                      {"sample_rate": 8000, "n_fft": 64, "hop_length": 32, "n_mels": 40}])
def test_banded_filterbank_product_equals_the_dense_one(settings):
    """The CPU path multiplies only non-zero blocks; the last setting has all-zero filters."""
    module = LogMel(**settings)
    power = torch.rand(3, module.n_frames(4000), 1 + settings["n_fft"] // 2).transpose(1, 2)  # stft's layout
    dense = torch.matmul(module.filterbank, power)
    assert torch.allclose(module._mel(power), dense, rtol=1e-5, atol=1e-6)
    covered = sum((r1 - r0) for r0, r1, _, _ in mel_bands(module.filterbank.numpy()))
    assert covered == settings["n_mels"]


def test_an_all_zero_block_of_filters_gives_zero_rows():
    module = LogMel(8000, 32, 16, 16)
    bank = torch.zeros(16, 17)
    bank[8:, 3:6] = 1.0
    module.filterbank, module.bands = bank, mel_bands(bank.numpy())
    assert module.bands[0] == (0, 8, 0, 0)
    power = torch.rand(2, 5, 17).transpose(1, 2)
    assert torch.allclose(module._mel(power), torch.matmul(bank, power))
