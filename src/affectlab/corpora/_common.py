"""Helpers every loader shares: the loader registry, locating dataset folders, text repair.

Kept in one place so each loader's error messages and repairs behave the same way.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import ConfigError, DataFormatError, DataNotFoundError
from ..registry import Registry
from .corpus import Corpus

#: Environment variable consulted when no ``data_root`` is given.
DATA_ROOT_ENV = "AFFECTLAB_DATA_ROOT"

#: name -> ``loader(data_root=None, **options) -> Corpus``.
LOADERS: Registry[Corpus] = Registry("corpus loader")

Locator = Callable[[Path], Path]


def register(name: str, locate: Locator | None) -> Callable[[Callable[..., Corpus]], Callable[..., Corpus]]:
    """Register a loader and attach ``locate`` (root -> dataset dir) so ``corpus_status``
    can probe for a dataset without loading it. ``None`` = no fixed location."""

    def decorator(loader: Callable[..., Corpus]) -> Callable[..., Corpus]:
        loader.locate = locate  # type: ignore[attr-defined]
        return LOADERS.register(name)(loader)

    return decorator


def resolve_root(data_root: str | Path | None) -> Path:
    """The explicit root, else ``$AFFECTLAB_DATA_ROOT``; one clear error when neither is set."""
    if data_root is None:
        data_root = os.environ.get(DATA_ROOT_ENV)
        if not data_root:
            raise DataNotFoundError(
                f"no data root given: pass --data-root (or data.data_root in the config, data_root=... "
                f"in Python) or set {DATA_ROOT_ENV} to the folder "
                "that holds the dataset folders (meld/, xed/, ...)"
            )
    return Path(data_root).expanduser()


def find_dataset_dir(
    root: Path, candidates: Iterable[Path], markers: Iterable[str], layout: str
) -> Path:
    """First candidate directory holding every marker file; else a one-line error that names
    the first missing file under the preferred candidate and the expected layout."""
    candidates = list(candidates)
    markers = list(markers)
    for candidate in candidates:
        if all((candidate / marker).exists() for marker in markers):
            return candidate
    preferred = candidates[0]
    missing = next((m for m in markers if not (preferred / m).exists()), markers[0])
    raise DataNotFoundError(
        f"missing {preferred / missing} (data root {root}); expected layout: {layout}"
    )


def require_file(path: Path, layout: str) -> Path:
    """``path`` if it is a file, else a one-line error naming it and the expected layout."""
    if not path.is_file():
        raise DataNotFoundError(f"missing {path}; expected layout: {layout}")
    return path


def choose_splits(dataset: str, splits: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    """Validate a ``splits=`` option against the dataset's official split names."""
    wanted = list(known if splits is None else [splits] if isinstance(splits, str) else splits)
    if not wanted or any(s not in known for s in wanted):
        raise ConfigError(f"{dataset} splits must be a non-empty subset of {list(known)}, got {wanted}")
    return wanted


#: Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def sniff_encoding(path: Path, encoding: str = "utf-8") -> str:
    """The encoding a byte-order mark declares (``utf-16``/``utf-32``/``utf-8-sig``, codecs
    that read the mark and drop it), else ``encoding``. A BOM is unambiguous, so it wins over
    the encoding asked for."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return next((declared for mark, declared in _BOMS if head.startswith(mark)), encoding)


def looks_like_utf16(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the bytes look like BOM-less UTF-16 text (every other
    byte NUL, as for mostly-ASCII text), else None."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def read_lines(
    path: Path, encoding: str = "utf-8", errors: str = "strict"
) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without CR/LF). Splits on LF only: ``str.splitlines``
    would also split on U+0085/U+2028 that can occur inside subtitle text. A UTF-8/16/32
    byte-order mark decides the encoding (:func:`sniff_encoding`)."""
    encoding = sniff_encoding(path, encoding)
    try:
        text = path.read_text(encoding=encoding, errors=errors)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{path}: not valid {encoding} at byte {exc.start} ({exc.reason}); "
            "the file is damaged or was re-saved in another encoding"
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line.rstrip("\r")


# --- text repair -----------------------------------------------------------------------------
# Windows-1252 bytes 0x80-0x9F decoded as Latin-1 end up as C1 control code points U+0080-U+009F.
# We map them to their cp1252 meaning (0x92 -> U+2019 ’, not ASCII ') because MELD's clean rows
# already use the typographic characters; this keeps one spelling per word. The five bytes
# cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) carry no text and are dropped.
_C1 = {chr(b): bytes([b]).decode("cp1252", errors="ignore") for b in range(0x80, 0xA0)}
_C1_RE = re.compile("[\x80-\x9f]")


def _byte_of(char: str) -> int | None:
    if ord(char) < 0x100:
        return ord(char)
    try:
        encoded = char.encode("cp1252")
    except UnicodeEncodeError:
        return None
    return encoded[0] if len(encoded) == 1 else None


# Chars standing for a UTF-8 continuation byte 0x80-0xBF after a cp1252/Latin-1 mis-decode.
_CONT = "".join(
    sorted({chr(b) for b in range(0x80, 0xC0)}
           | {bytes([b]).decode("cp1252", errors="ignore") for b in range(0x80, 0xC0)} - {""})
)
_CONT_CLASS = "[" + re.escape(_CONT) + "]"
_MOJIBAKE_RE = re.compile(
    f"[\u00c2-\u00df]{_CONT_CLASS}|[\u00e0-\u00ef]{_CONT_CLASS}{{2}}|[\u00f0-\u00f4]{_CONT_CLASS}{{3}}"
)


def _undo_mojibake(match: re.Match[str]) -> str:
    raw = bytes(_byte_of(c) for c in match.group())  # type: ignore[misc]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return match.group()


def repair_text(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 mojibake (``â€™``/``â\\x80\\x99`` -> ``’``), then translate
    stray C1 code points via cp1252 (``\\x92`` -> ``’``). Clean text comes back unchanged."""
    if not text or text.isascii():
        return text
    text = _MOJIBAKE_RE.sub(_undo_mojibake, text)
    return _C1_RE.sub(lambda m: _C1[m.group()], text)


def record_skip(meta: dict, where: str, reason: str, keep: int = 50) -> None:
    """Count a skipped row in ``meta['skipped_rows']`` and keep the first reasons."""
    meta["skipped_rows"] = meta.get("skipped_rows", 0) + 1
    reasons = meta.setdefault("skip_reasons", [])
    if len(reasons) < keep:
        reasons.append(f"{where}: {reason}")
