import numpy as np
import pandas as pd
import pytest

from affectlab.corpora.corpus import Corpus
from affectlab.errors import ConfigError, DataNotFoundError
from affectlab.features.audio import FRONTENDS, audio_paths, extract_audio_features, frontend_variant
from affectlab.features.audio_io import AudioReadError
from affectlab.features.smile import SmileFunctionals
from tests.features.test_audio_io import tone, write

KW = dict(device="cpu", progress=False)


@pytest.fixture()
def corpus(tmp_path):
    """Four clips of different lengths and rates (relative paths under the corpus root)."""
    (tmp_path / "wav").mkdir()
    clips = [(1.0, 16000, 220), (2.5, 22050, 330), (0.4, 48000, 440), (5.0, 16000, 550)]
    names = [f"wav/c{i}.wav" for i in range(len(clips))]
    for name, (seconds, sr, freq) in zip(names, clips):
        write(tmp_path / name, tone(seconds, sr, freq), sr)
    table = pd.DataFrame({"uid": [f"u{i}" for i in range(4)], "audio": names, "label": ["neutral"] * 4,
                          "split": ["train", "train", "test", "test"]})
    return Corpus("toy-audio", table, root=tmp_path)


def test_logmel_shapes_and_cache_hit(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = extract_audio_features(corpus, "logmel", max_seconds=2.0, cache_dir=cache, **KW)
    variant = frontend_variant("logmel")
    assert variant == ("logmel", "frames")
    frames = first.get(variant)
    assert frames.shape == (4, 128, 1 + 2 * 22050 // 512) and frames.dtype == np.float32
    assert first.info["computed"] and first.info["valid"].all() and first.info["skipped"] == []
    assert first.info["settings"]["n_mels"] == 128 and first.uids == ["u0", "u1", "u2", "u3"]
    second = extract_audio_features(corpus, "logmel", max_seconds=2.0, cache_dir=cache, **KW)
    assert not second.info["computed"] and second.info["cache_dir"] == first.info["cache_dir"]
    np.testing.assert_array_equal(second.get(variant), frames)
    other = extract_audio_features(corpus, "logmel", max_seconds=1.0, options={"n_mels": 64}, cache_dir=cache, **KW)
    assert other.info["computed"] and other.get(variant).shape == (4, 64, 1 + 22050 // 512)


def test_skip_mode_zero_rows_and_lists_them(corpus, tmp_path):
    table = corpus.table.copy()
    (tmp_path / "wav" / "bad.wav").write_bytes(b"not audio at all")
    table.loc[1, "audio"] = "wav/bad.wav"
    table.loc[3, "audio"] = "wav/gone.wav"
    broken = corpus.with_table(table)
    cache = tmp_path / "cache"
    with pytest.raises(DataNotFoundError, match="1 of 4 audio files are missing"):
        extract_audio_features(broken, max_seconds=1.0, cache_dir=cache, **KW)
    features = extract_audio_features(broken, max_seconds=1.0, on_error="skip", cache_dir=cache, **KW)
    valid = features.info["valid"]
    assert valid.tolist() == [True, False, True, False]
    assert [s["uid"] for s in features.info["skipped"]] == ["u1", "u3"]
    assert "unreadable" in features.info["skipped"][0]["reason"]
    frames = features.get(("logmel", "frames"))
    assert not frames[~valid].any() and frames[valid].any()
    again = extract_audio_features(broken, max_seconds=1.0, on_error="skip", cache_dir=cache, **KW)
    assert not again.info["computed"] and again.info["skipped"] == features.info["skipped"]
    with pytest.raises(AudioReadError, match="bad.wav"):  # a cached skip is not silently accepted
        extract_audio_features(broken, max_seconds=1.0, cache_dir=cache, **KW)


def test_egemaps_functionals(corpus, tmp_path):
    features = extract_audio_features(corpus, "egemaps", max_seconds=None, cache_dir=tmp_path / "c", **KW)
    array = features.get(frontend_variant("egemaps"))
    assert frontend_variant("egemaps") == ("egemaps", "functionals")
    assert array.shape == (4, 88) and array.dtype == np.float32 and np.isfinite(array).all()


def test_smile_shape_and_errors_name_the_file():
    wave = np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32) * 0.3
    assert SmileFunctionals("egemaps")([wave], 16000).shape == (1, 88)
    assert SmileFunctionals("compare").dim == 6373
    with pytest.raises(AudioReadError, match="tiny.wav"):
        SmileFunctionals("egemaps")([wave[:10]], 16000, names=["tiny.wav"])


def test_paths_and_config_errors(corpus, tmp_path):
    paths = audio_paths(corpus)
    assert all(p.is_absolute() and p.is_file() for p in paths)
    assert audio_paths(corpus, root=tmp_path / "elsewhere", check=False)[0] == tmp_path / "elsewhere/wav/c0.wav"
    assert {"logmel", "egemaps", "compare"} <= set(FRONTENDS.names())
    with pytest.raises(ConfigError, match="unknown audio front-end 'mfcc'"):
        extract_audio_features(corpus, "mfcc", **KW)
    with pytest.raises(ConfigError, match="set max_seconds"):
        extract_audio_features(corpus, "logmel", max_seconds=None, **KW)
