import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from affectlab.errors import DataFormatError, DataNotFoundError
from affectlab.features.audio_io import AudioReadError, fit_length, load_audio, load_audio_batch

VOWEL_FORMANTS = ((700, 1220, 2600), (300, 2300, 3000), (500, 900, 2500), (400, 1900, 2600))


def tone(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def utterance(sr: int = 16000, syllables: int = 6) -> np.ndarray:
    """Speech-like enough for silero-vad: voiced syllables (harmonic source through three vowel
    formant resonators, falling pitch, syllable envelope) separated by short gaps. A steady tone
    or a steady vowel is (rightly) not speech to the VAD."""
    parts = []
    for index in range(syllables):
        n = round(0.18 * sr)
        t = np.arange(n) / sr
        f0 = (140 + 15 * (index * 7 % 3)) * (1 - 0.15 * t / t[-1])
        phase = 2 * np.pi * np.cumsum(f0) / sr
        y = sum(np.sin(k * phase) / k for k in range(1, 28))
        for formant in VOWEL_FORMANTS[index % 4]:
            r, theta = np.exp(-np.pi * 100 / sr), 2 * np.pi * formant / sr
            y = lfilter([1.0], [1, -2 * r * np.cos(theta), r * r], y)
        parts += [y * np.sin(np.pi * t / t[-1]) ** 0.5 / np.abs(y).max(), np.zeros(round(0.06 * sr))]
    return (0.3 * np.concatenate(parts)).astype(np.float32)


def write(path, wave, sr):
    sf.write(path, wave, sr)
    return path


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = tone(0.5, 16000, 300), tone(0.5, 16000, 500, amp=0.1)
    path = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000)
    wave = load_audio(path, 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    np.testing.assert_allclose(wave, (left + right) / 2, atol=1e-4)  # 16-bit PCM quantisation


@pytest.mark.parametrize("rate_in, rate_out", [(48000, 16000), (16000, 22050), (44100, 22050)])
def test_resampling_gives_the_expected_length(tmp_path, rate_in, rate_out):
    path = write(tmp_path / "tone.flac", tone(1.0, rate_in), rate_in)
    wave = load_audio(path, rate_out)
    assert abs(wave.size - rate_out) <= 1
    assert 0.25 < np.abs(wave).max() < 0.35


def test_corrupt_file_is_one_error_naming_it(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    with pytest.raises(AudioReadError, match="broken.wav: unreadable") as info:
        load_audio(path, 16000)
    assert isinstance(info.value, DataFormatError) and info.value.path == str(path)


def test_empty_silent_short_and_missing_files(tmp_path):
    with pytest.raises(AudioReadError, match=r"empty.wav: empty"):
        load_audio(write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000), 16000)
    with pytest.raises(AudioReadError, match=r"quiet.wav: silent"):
        load_audio(write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000), 16000)
    with pytest.raises(AudioReadError, match=r"short.wav: too short \(0.50 s"):
        load_audio(write(tmp_path / "short.wav", tone(0.5, 16000), 16000), 16000, min_seconds=1.0)
    with pytest.raises(DataNotFoundError, match="nowhere.wav"):
        load_audio(tmp_path / "nowhere.wav", 16000)


def test_max_seconds_keeps_the_centre(tmp_path):
    ramp = np.linspace(-0.5, 0.5, 3 * 8000, dtype=np.float32)
    wave = load_audio(write(tmp_path / "ramp.wav", ramp, 8000), 8000, max_seconds=1.0)
    np.testing.assert_allclose(wave, ramp[8000:16000], atol=1e-4)


def test_fit_length_crops_and_pads():
    wave = np.arange(1, 7, dtype=np.float32)
    np.testing.assert_array_equal(fit_length(wave, 4), [2, 3, 4, 5])
    np.testing.assert_array_equal(fit_length(wave, 4, "start"), [1, 2, 3, 4])
    np.testing.assert_array_equal(fit_length(wave, 9), [0, 1, 2, 3, 4, 5, 6, 0, 0])
    np.testing.assert_array_equal(fit_length(wave, 8, "start"), [1, 2, 3, 4, 5, 6, 0, 0])
    assert fit_length(wave, 6) is wave


def test_batch_skip_lists_bad_files_and_raise_names_the_first(tmp_path):
    good = [write(tmp_path / f"good{i}.wav", tone(0.3, 16000, 200 + 100 * i), 16000) for i in range(2)]
    corrupt = tmp_path / "corrupt.ogg"
    corrupt.write_bytes(b"OggS" + b"\x00" * 50)
    silent = write(tmp_path / "silent.wav", np.zeros(4000, np.float32), 16000)
    paths = [good[0], corrupt, silent, tmp_path / "missing.wav", good[1]]
    waves, failures = load_audio_batch(paths, 16000, on_error="skip", progress=False)
    assert [w is None for w in waves] == [False, True, True, True, False]
    assert [p for p, _ in failures] == [str(p) for p in paths[1:4]]
    assert "unreadable" in failures[0][1] and "silent" in failures[1][1] and "not found" in failures[2][1]
    with pytest.raises(AudioReadError, match="corrupt.ogg"):
        load_audio_batch(paths, 16000, progress=False)


def test_vad_leaves_a_clip_without_speech_unchanged(tmp_path):
    clip = np.concatenate([np.zeros(8000, np.float32), tone(1.0, 16000), np.zeros(8000, np.float32)])
    path = write(tmp_path / "tone.wav", clip, 16000)
    np.testing.assert_array_equal(load_audio(path, 16000, trim_silence=True), load_audio(path, 16000))


@pytest.mark.parametrize("rate", [16000, 22050])
def test_vad_trims_silence_around_speech(tmp_path, rate):
    speech = utterance(16000)
    silence = np.zeros(16000, np.float32)
    path = write(tmp_path / "speech.wav", np.concatenate([silence, speech, silence]), 16000)
    full = load_audio(path, rate)
    trimmed = load_audio(path, rate, trim_silence=True)
    speech_seconds = speech.size / 16000
    # about 0.1 s margin kept each side of the speech; the 1 s pads are mostly gone
    assert speech_seconds <= trimmed.size / rate <= speech_seconds + 0.5
    assert np.sum(trimmed.astype(np.float64) ** 2) > 0.99 * np.sum(full.astype(np.float64) ** 2)
