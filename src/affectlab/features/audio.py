"""Cached audio features for a corpus: log-mel frames or openSMILE functionals per utterance.

Follows :func:`affectlab.features.text.extract_text_features`: one cache directory per
(corpus fingerprint, front-end settings, loading settings), one ``.npy`` per variant, so a
second call with the same settings reads memory-mapped arrays instead of decoding audio.

Unreadable files with ``on_error="skip"``: their rows are zeros, ``info["valid"]`` is a boolean
[N] index that is False for them, and ``info["skipped"]`` lists ``{uid, path, reason}``; drop them
with ``features.get(variant)[features.info["valid"]]`` (and the same index on the corpus table).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .._io import write_json
from ..corpora.corpus import Corpus
from ..devices import pick_device
from ..errors import ConfigError, DataFormatError, DataNotFoundError
from ..registry import Registry
from .base import FeatureSet, Variant, encoder_fingerprint
from .audio_io import RESAMPLE_QUALITY, VAD_MARGIN_S, AudioReadError, fit_length, load_audio_batch
from .cache import FeatureCache
from .logmel import LogMel
from .smile import SMILE_RATE, SmileFunctionals

Kind = Literal["frames", "functionals"]
#: Bump when loading/fitting changes in a way that changes the numbers (invalidates caches).
_LOADER_VERSION = 1


class Frontend:
    """Turns waves at ``sample_rate`` into arrays: [n, F, T] frames (equal-length waves) or [n, D]."""

    kind: ClassVar[Kind]
    sample_rate: int

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self, waves: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


FRONTENDS: Registry[Frontend] = Registry("audio front-end")


@FRONTENDS.register("logmel")
class LogMelFrontend(Frontend):
    """Batched :class:`LogMel` on ``device``; options are a preset name and/or LogMel parameters."""

    kind = "frames"

    def __init__(self, preset: str = "ravdess", device: str = "auto", **params: Any) -> None:
        try:
            self.module = LogMel.from_preset(preset, **params)
        except TypeError as exc:
            raise ConfigError(f"bad log-mel option: {exc}") from None
        self.device = pick_device(device)
        self.module = self.module.to(self.device).eval()
        self.sample_rate = self.module.sample_rate

    def settings(self) -> dict[str, Any]:
        return self.module.settings()

    @torch.inference_mode()
    def __call__(self, waves: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
        if len({w.shape[-1] for w in waves}) > 1:
            raise ConfigError("the log-mel front-end needs equal-length waves (fit them with fit_length)")
        batch = torch.from_numpy(np.stack(waves)).to(self.device)
        return self.module(batch).float().cpu().numpy()


class SmileFrontend(Frontend):
    """openSMILE functionals at 16 kHz; takes no options (``preset``/``device`` are ignored)."""

    kind = "functionals"
    feature_set: ClassVar[str]

    def __init__(self, preset: str | None = None, device: str = "auto", **options: Any) -> None:
        if options:
            raise ConfigError(f"openSMILE front-ends take no options, got {sorted(options)}")
        self.extractor = SmileFunctionals(self.feature_set)
        self.sample_rate = SMILE_RATE

    def settings(self) -> dict[str, Any]:
        return {**self.extractor.settings(), "sample_rate": self.sample_rate}

    def __call__(self, waves: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
        return self.extractor(waves, self.sample_rate, names)


@FRONTENDS.register("egemaps")
class EgemapsFrontend(SmileFrontend):
    feature_set = "eGeMAPSv02"


@FRONTENDS.register("compare")
class CompareFrontend(SmileFrontend):
    feature_set = "ComParE_2016"


def frontend_variant(frontend: str, layers: str = "avg_last4", pooling: str = "mean") -> Variant:
    """The FeatureSet key of a front-end's array: ``("logmel", "frames")``, ``("egemaps",
    "functionals")``; for a pretrained encoder (any name not in ``FRONTENDS``), ``(layers, pooling)``."""
    if frontend in FRONTENDS:
        return frontend, FRONTENDS.get(frontend).kind
    return layers, pooling


class EncoderFrontend:
    """A pretrained speech encoder (``whisper-tiny.en`` or a local HF directory) as a front-end:
    every requested (layers, pooling) variant from one forward pass, loaded only on a cache miss."""

    def __init__(self, name: str, variants: Sequence[Variant], device: str = "auto") -> None:
        from .audio_encoder import AUDIO_FINGERPRINT_FILES, resolve_audio_encoder_path

        self.name, self.variants, self.device = name, list(variants), device
        try:
            self.path = resolve_audio_encoder_path(name)
        except DataNotFoundError as exc:
            raise ConfigError(f"unknown audio front-end {name!r}: not one of {', '.join(FRONTENDS.names())} "
                              f"and not a speech encoder ({exc})") from None
        self.fingerprint = encoder_fingerprint(self.path, also=AUDIO_FINGERPRINT_FILES)
        self._encoder = None

    @property
    def encoder(self):
        if self._encoder is None:
            from .audio_encoder import AudioEncoder

            self._encoder = AudioEncoder(str(self.path), device=self.device)
        return self._encoder

    @property
    def sample_rate(self) -> int:
        from transformers import AutoFeatureExtractor

        return int(AutoFeatureExtractor.from_pretrained(self.path, local_files_only=True).sampling_rate)

    def settings(self) -> dict[str, Any]:
        return {"encoder": self.fingerprint}

    def __call__(self, waves: Sequence[np.ndarray], names: Sequence[str]) -> dict[Variant, np.ndarray]:
        return self.encoder.encode(list(waves), self.variants, progress=False)


def audio_paths(corpus: Corpus, root: str | Path | None = None, *, check: bool = True) -> list[Path]:
    """Absolute-or-root-relative audio path per row (relative ones resolved against ``root``,
    default ``corpus.root``). With ``check``, one DataNotFoundError counts the missing files."""
    base = Path(root) if root is not None else corpus.root
    values = corpus.table["audio"]
    empty = values.isna() | (values.astype(str).str.strip() == "")
    if empty.any():
        raise DataFormatError(f"corpus {corpus.name!r}: {int(empty.sum())} rows have no audio path, "
                              f"e.g. uid {corpus.table.loc[empty, 'uid'].iloc[0]!r}")
    paths = []
    for value in values.astype(str):
        path = Path(value).expanduser()
        paths.append(path if path.is_absolute() or base is None else Path(base) / path)
    if check:
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataNotFoundError(f"corpus {corpus.name!r}: {len(missing)} of {len(paths)} audio files "
                                    f"are missing, e.g. {', '.join(missing[:3])}")
    return paths


def extract_audio_features(
    corpus: Corpus,
    frontend: str = "logmel",
    *,
    preset: str = "ravdess",
    options: Mapping[str, Any] | None = None,
    max_seconds: float | None = 4.0,
    trim_silence: bool = False,
    on_error: str = "raise",
    batch_size: int = 32,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: bool = True,
    root: str | Path | None = None,
    variants: Sequence[Variant] | None = None,
) -> FeatureSet:
    """Features for every row of ``corpus`` under ``frontend_variant(frontend)``.

    Clips are resampled to the front-end's rate, optionally VAD-trimmed, and centre-cropped to
    ``max_seconds``; log-mel clips are also zero-padded to exactly ``max_seconds`` so the result
    is one [N, n_mels, T] array (openSMILE gives [N, D]). ``preset`` and ``options`` configure
    the log-mel front-end. Any ``frontend`` not in ``FRONTENDS`` is a pretrained encoder
    (``whisper-tiny.en`` or a local HF directory) giving ``variants`` ((layers, pooling) pairs)
    from one pass. See the module docstring for ``on_error="skip"``.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"unknown on_error {on_error!r}; known: raise, skip")
    fe, run, wanted, fixed_length = _build(frontend, preset, options, device, variants, max_seconds)
    settings = {"frontend": frontend, **fe.settings(), "max_seconds": max_seconds,
                "trim_silence": trim_silence, "vad_margin_s": VAD_MARGIN_S if trim_silence else None,
                "resampler": f"soxr-{RESAMPLE_QUALITY}", "loader": _LOADER_VERSION}
    cache = FeatureCache(cache_dir, {"corpus": corpus.fingerprint(), "modality": "audio", **settings})
    uids = corpus.table["uid"].tolist()
    missing = [v for v in wanted if not (use_cache and cache.has(_file(v)) and cache.has("valid"))]
    if not missing:
        arrays = {v: cache.load(_file(v)) for v in wanted}
        valid = np.asarray(cache.load("valid"), dtype=bool)
        skipped = _read_skipped(cache)
        if on_error == "raise" and skipped:
            first = skipped[0]
            raise AudioReadError(first["path"], f"{first['reason']} (cached by an earlier on_error='skip' run)")
    else:
        if isinstance(fe, EncoderFrontend):
            fe.variants = missing
        paths = audio_paths(corpus, root, check=on_error == "raise")
        computed, valid, skipped = _compute(run, fe.sample_rate, fixed_length, paths, uids, max_seconds,
                                            trim_silence, on_error, batch_size, progress,
                                            f"audio features ({frontend})")
        if use_cache:
            for variant, array in computed.items():
                cache.save(_file(variant), array)
            cache.save("valid", valid)
            write_json(cache.dir / "skipped.json", skipped)
        arrays = {v: computed[v] if v in computed else cache.load(_file(v)) for v in wanted}
    return FeatureSet(
        arrays=arrays,
        uids=uids,
        info={"frontend": frontend, "variants": [list(v) for v in wanted], "settings": settings,
              "cache_dir": str(cache.dir), "computed": [list(v) for v in missing], "skipped": skipped,
              "valid": valid},
    )


def featurize_files(paths: Sequence[str | Path], frontend: str = "logmel", *, variant: Variant | None = None,
                    preset: str = "ravdess", options: Mapping[str, Any] | None = None,
                    max_seconds: float | None = 4.0, trim_silence: bool = False, batch_size: int = 32,
                    device: str = "auto", progress: bool = False) -> np.ndarray:
    """Features of loose audio files (no corpus, no cache), read exactly as
    :func:`extract_audio_features` reads a corpus: what a pipeline runs at prediction time.
    A bad file raises one ``AudioReadError`` naming it; a missing one ``DataNotFoundError``."""
    paths = [Path(p).expanduser() for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"audio file not found: {', '.join(missing[:3])}")
    fe, run, wanted, fixed_length = _build(frontend, preset, options, device,
                                           [variant] if variant else None, max_seconds)
    computed, _, _ = _compute(run, fe.sample_rate, fixed_length, paths, [str(p) for p in paths], max_seconds,
                              trim_silence, "raise", batch_size, progress, f"audio features ({frontend})")
    return computed[wanted[0]]


def _build(frontend: str, preset: str, options: Mapping[str, Any] | None, device: str,
           variants: Sequence[Variant] | None, max_seconds: float | None):
    """(front-end, run(waves, names) -> {variant: array}, variants it yields, fixed-length?)."""
    if frontend in FRONTENDS:
        fe = FRONTENDS.create(frontend, preset=preset, device=device, **dict(options or {}))
        wanted = [frontend_variant(frontend)]
        if fe.kind == "frames" and max_seconds is None:
            raise ConfigError(f"front-end {frontend!r} makes fixed-size spectrograms: set max_seconds")
        return fe, (lambda waves, names: {wanted[0]: fe(waves, names)}), wanted, fe.kind == "frames"
    # a pretrained encoder: one pass gives every requested (layers, pooling) variant
    wanted = list(dict.fromkeys(variants or [frontend_variant(frontend)]))
    fe = EncoderFrontend(frontend, wanted, device)
    return fe, fe, wanted, False


def _file(variant: Variant) -> str:
    return f"{variant[0]}__{variant[1]}"


def _read_skipped(cache: FeatureCache) -> list[dict[str, str]]:
    path = cache.dir / "skipped.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


Run = Callable[[Sequence[np.ndarray], Sequence[str]], "dict[Variant, np.ndarray]"]


def _compute(run: Run, sample_rate: int, fixed_length: bool, paths: list[Path], uids: list[str],
             max_seconds: float | None, trim_silence: bool, on_error: str, batch_size: int, progress: bool,
             desc: str) -> tuple[dict[Variant, np.ndarray], np.ndarray, list[dict[str, str]]]:
    """Load and transform ``batch_size`` files at a time (bounded memory); rows of skipped files stay zero."""
    n = len(paths)
    if n == 0:
        raise DataNotFoundError("the corpus has no rows to extract audio features from")
    target = round(max_seconds * sample_rate) if max_seconds is not None else None
    out: dict[Variant, np.ndarray] | None = None
    valid = np.zeros(n, dtype=bool)
    skipped: list[dict[str, str]] = []
    with tqdm(total=n, desc=desc, unit="clip", disable=None if progress else True) as bar:
        for start in range(0, n, batch_size):
            chunk = paths[start : start + batch_size]
            waves, failures = load_audio_batch(chunk, sample_rate, on_error=on_error, progress=False,
                                               trim_silence=trim_silence, max_seconds=max_seconds)
            if fixed_length:
                waves = [None if w is None else fit_length(w, target, "center") for w in waves]
            reasons = dict(failures)
            rows, values = _transform(run, waves, [str(p) for p in chunk], on_error, reasons)
            for i in sorted(set(range(len(chunk))) - set(rows)):
                skipped.append({"uid": uids[start + i], "path": str(chunk[i]), "reason": reasons[str(chunk[i])]})
            if rows:
                if out is None:
                    out = {k: np.zeros((n,) + v.shape[1:], dtype=np.float32) for k, v in values.items()}
                index = start + np.asarray(rows)
                for key, value in values.items():
                    out[key][index] = value
                valid[index] = True
            bar.update(len(chunk))
    if out is None:
        raise DataFormatError(f"none of the {n} audio files could be used; first: "
                              f"{skipped[0]['path']}: {skipped[0]['reason']}")
    return out, valid, skipped


def _transform(run: Run, waves: list[np.ndarray | None], names: list[str], on_error: str,
               reasons: dict[str, str]) -> tuple[list[int], dict[Variant, np.ndarray] | None]:
    """Run the front-end on the loaded waves of a chunk; in skip mode a front-end failure drops
    only its own file (the chunk is retried one file at a time)."""
    rows = [i for i, w in enumerate(waves) if w is not None]
    if not rows:
        return [], None
    try:
        return rows, run([waves[i] for i in rows], [names[i] for i in rows])
    except AudioReadError:
        if on_error == "raise":
            raise
    kept, parts = [], []
    for i in rows:
        try:
            parts.append(run([waves[i]], [names[i]]))
            kept.append(i)
        except AudioReadError as exc:
            reasons[names[i]] = exc.reason
    if not parts:
        return kept, None
    return kept, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
