"""Any CSV/TSV/JSONL file as a corpus, by naming which of its columns mean what."""
from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping

import pandas as pd

from ..errors import ConfigError, DataFormatError
from ._common import read_lines, record_skip, register, repair_text, require_file
from .corpus import COLUMNS, Corpus

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSONL = {".jsonl", ".ndjson"}
LAYOUT = "a .csv/.tsv/.jsonl file given as path=... (relative paths are resolved against data_root)"


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> DataFormatError:
    byte = exc.object[exc.start:exc.start + 1]
    return DataFormatError(
        f"{path} is not valid {encoding} (byte {byte!r} at offset {exc.start}); pass "
        "encoding='cp1252' (Excel on Windows) or encoding='latin-1' to read it"
    )


def _read_delimited(path: Path, sep: str, encoding: str, quote: bool, skip: bool,
                    meta: dict) -> pd.DataFrame:
    options: dict[str, Any] = dict(
        sep=sep, dtype=str, keep_default_na=False, encoding=encoding, index_col=False,
        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
    )
    # index_col=False: without it pandas turns surplus fields into an index instead of a bad row.
    if skip:  # only the python engine hands bad rows to a callback
        def on_bad(fields: list[str]) -> None:
            record_skip(meta, path.name, f"{len(fields)} fields, more than the header: {fields[:3]}")
        options.update(engine="python", on_bad_lines=on_bad)
    try:
        return pd.read_csv(path, **options)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(f"{path} is empty; expected a header row and data rows") from exc
    except pd.errors.ParserError as exc:
        raise DataFormatError(
            f"{path}: malformed row ({str(exc).strip()}); fix it or pass on_bad_lines='skip'"
        ) from exc


def _read_jsonl(path: Path, encoding: str, skip: bool, meta: dict) -> pd.DataFrame:
    records: list[dict] = []
    try:
        for number, line in read_lines(path, encoding=encoding):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                if not skip:
                    raise DataFormatError(
                        f"{path}:{number}: malformed JSON line ({exc}); fix it or pass on_bad_lines='skip'"
                    ) from exc
                record_skip(meta, f"{path.name}:{number}", str(exc))
                continue
            records.append(record)
    except DataFormatError as exc:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            raise _decode_error(path, encoding, exc.__cause__) from exc.__cause__
        raise
    keys = list(dict.fromkeys(k for r in records for k in r))
    # object dtype keeps ints as ints (no 1 -> 1.0 when a value is missing).
    return pd.DataFrame({k: pd.Series([r.get(k) for r in records], dtype=object) for k in keys})


def _mapping(raw: pd.DataFrame, columns: Mapping[str, str] | None, path: Path) -> dict[str, str]:
    """Our column -> file column: same-named columns map themselves, ``columns`` overrides."""
    mapping = {c: c for c in raw.columns if c in COLUMNS}
    available = ", ".join(map(str, raw.columns))
    for ours, theirs in (columns or {}).items():
        if ours not in COLUMNS:
            raise ConfigError(f"columns: {ours!r} is not a corpus column; use one of {', '.join(COLUMNS)}")
        if theirs not in raw.columns:
            raise ConfigError(
                f"columns: {path.name} has no column {theirs!r} (for {ours}); available: {available}"
            )
        mapping[ours] = theirs
    if "text" not in mapping and "audio" not in mapping:
        raise ConfigError(
            f"{path.name}: map a text or audio column via columns={{'text': ...}}; available: {available}"
        )
    return mapping


def _label(value: Any, sep: str | None) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value)
    if sep is not None:
        return tuple(p.strip() for p in str(value).split(sep) if p.strip())
    return str(value).strip()


def _blank_to_none(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _turns(values: pd.Series, path: Path) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        raise DataFormatError(f"{path}: turn values must be integers, e.g. {values[bad].iloc[0]!r}")
    return numbers.astype("Int64")


@register("tabular", None)
def load_tabular(
    data_root: str | Path | None = None,
    path: str | Path | None = None,
    columns: Mapping[str, str] | None = None,
    multi_label_sep: str | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
    sep: str | None = None,
    quote: bool = True,
    on_bad_lines: Literal["error", "skip"] = "error",
    fix_text: bool = False,
) -> Corpus:
    """Load your own data. ``columns`` maps corpus columns to file columns (same names map
    themselves), e.g. ``{"audio": "path", "label": "emotion", "speaker": "actor"}``; other file
    columns are kept as extras. ``multi_label_sep`` splits labels into tuples. Rows with empty
    text are dropped (``meta['dropped_empty']``) unless they have audio, whose text becomes None;
    ``on_bad_lines='skip'`` skips rows with too many fields (``meta['skipped_rows']``).
    ``quote=False`` reads TSVs whose texts contain stray double quotes; ``fix_text`` repairs
    cp1252 artefacts as for MELD.

    ``audio`` values are kept as written: as in every loader, a relative path is relative to
    ``corpus.root``, which is the file's (absolute) folder, so ``corpus.root / audio`` opens
    it; absolute paths stay absolute. Audio files that do not exist are counted in
    ``meta['missing_audio']`` (first ones in ``meta['missing_audio_examples']``) with a warning.
    """
    if path is None:
        raise ConfigError("the tabular loader needs path=... (a .csv, .tsv or .jsonl file)")
    if on_bad_lines not in ("error", "skip"):
        raise ConfigError(f"on_bad_lines must be 'error' or 'skip', got {on_bad_lines!r}")
    file = Path(path).expanduser()
    if not file.is_absolute() and data_root is not None:
        file = Path(data_root).expanduser() / file
    require_file(file, LAYOUT)
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "dropped_empty": 0, "source": str(file)}
    skip = on_bad_lines == "skip"
    suffix = file.suffix.lower()
    if suffix in _JSONL:
        raw = _read_jsonl(file, encoding, skip, meta)
    elif sep is not None or suffix in _SEPARATORS:
        raw = _read_delimited(file, sep or _SEPARATORS[suffix], encoding, quote, skip, meta)
    else:
        raise ConfigError(f"{file.name}: unknown file type {suffix!r}; pass sep=',' or sep='\\t'")
    mapping = _mapping(raw, columns, file)
    name = name or file.stem
    table = pd.DataFrame({ours: raw[theirs] for ours, theirs in mapping.items()})
    used = set(mapping.values())
    for column in raw.columns:
        if column not in used:
            table[column if column not in COLUMNS else f"file_{column}"] = raw[column]
    for column in set(mapping) - {"text", "label", "turn"}:
        table[column] = table[column].map(_blank_to_none)
    if "uid" not in mapping:
        table["uid"] = [f"{name}/{i}" for i in range(len(table))]
    if "label" in mapping:
        table["label"] = table["label"].map(lambda v: _label(v, multi_label_sep))
    if "turn" in mapping:
        table["turn"] = _turns(table["turn"].map(_blank_to_none), file)
    if "text" in mapping:
        text = table["text"].map(lambda v: "" if v is None else str(v))
        empty = text.str.strip() == ""
        has_audio = table["audio"].notna() if "audio" in mapping else pd.Series(False, index=table.index)
        if fix_text:
            fixed = text.map(repair_text)
            meta["repaired_texts"] = int((fixed != text).sum())
            text = fixed
        table["text"] = text.astype(object).where(~empty, None)
        meta["dropped_empty"] = int((empty & ~has_audio).sum())
        table = table[~empty | has_audio]
    folder = file.absolute().parent
    if "audio" in mapping:
        table["audio"] = table["audio"].astype(object).where(table["audio"].notna(), None)
        _check_audio(table["audio"], folder, meta)
    multi = multi_label_sep is not None or any(isinstance(v, tuple) for v in table.get("label", []))
    return Corpus(name, table, root=folder, multi_label=multi, meta=meta)


def _check_audio(paths: pd.Series, folder: Path, meta: dict, keep: int = 5) -> None:
    """Count (and warn about) audio paths, relative to ``folder`` unless absolute, that are
    not files; rows keep their path so a typo stays visible."""
    missing = [p for p in paths.dropna().map(str) if not (folder / p).is_file()]
    meta["missing_audio"] = len(missing) + int(paths.isna().sum())
    meta["missing_audio_examples"] = missing[:keep]
    if missing:
        warnings.warn(
            f"{len(missing)} of {len(paths)} audio files not found (relative paths are read from "
            f"{folder}), e.g. {missing[:3]}", stacklevel=3,
        )
