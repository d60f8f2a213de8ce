"""Any CSV/TSV/JSONL file as a corpus, by naming which of its columns mean what."""
from __future__ import annotations

import csv
import glob
import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, Union

import pandas as pd

from ..errors import ConfigError, DataFormatError, DataNotFoundError
from ._common import (looks_like_utf16, read_lines, record_skip, register, repair_text, require_file,
                      sniff_encoding)
from .corpus import COLUMNS, Corpus
from .splits import canonical_split

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSONL = {".jsonl", ".ndjson"}
LAYOUT = ("a .csv/.tsv/.jsonl file, glob or list of them given as data.options.path, or per-split "
          "files as data.options.paths: {train: ..., dev: ..., test: ...} (relative paths are "
          "resolved against the data root when one is given, else the working directory)")
#: Several speakers of one row (a JSON list, or ``speaker_sep``-separated text) become one
#: speaker value: the names sorted and joined with this.
SPEAKER_JOIN = " + "
#: Corpus columns a list of file columns may fill (joined with "/" into one key).
KEY_COLUMNS = ("uid", "dialogue", "group")
#: A file, a glob, or a list of files/globs.
PathSpec = Union[str, Path, Sequence[Union[str, Path]]]


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> DataFormatError:
    byte = exc.object[exc.start:exc.start + 1]
    utf16 = looks_like_utf16(exc.object[:4096]) if isinstance(exc.object, bytes) else None
    advice = (f"it looks like UTF-16 without a byte-order mark: set data.options.encoding: {utf16}"
              if utf16 else "set data.options.encoding in the config to the file's encoding, e.g. "
              "cp1252 (Excel on Windows) or latin-1")
    return DataFormatError(
        f"{path} is not valid {encoding} (byte {byte!r} at offset {exc.start}); {advice}"
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
            f"{path}: malformed row ({str(exc).strip()}); fix it, or set data.options.on_bad_lines: "
            "skip to leave such rows out"
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
                        f"{path}:{number}: malformed JSON line ({exc}); fix it, or set "
                        "data.options.on_bad_lines: skip to leave such lines out"
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


def _mapping(raw: pd.DataFrame, columns: Mapping[str, Any] | None, path: Path) -> dict[str, Any]:
    """Our column -> file column (or list of file columns for a key): same-named columns map
    themselves, ``columns`` overrides."""
    mapping: dict[str, Any] = {c: c for c in raw.columns if c in COLUMNS}
    available = ", ".join(map(str, raw.columns))
    if columns is not None and not isinstance(columns, Mapping):
        raise ConfigError(f"data.options.columns must map corpus columns to file columns, got {columns!r}")
    for ours, theirs in (columns or {}).items():
        if ours not in COLUMNS:
            raise ConfigError(f"data.options.columns: {ours!r} is not a corpus column; use one of "
                              f"{', '.join(COLUMNS)}")
        if isinstance(theirs, (list, tuple)):
            if ours not in KEY_COLUMNS:
                raise ConfigError(f"data.options.columns: {ours} takes one file column, got {list(theirs)}; "
                                  f"only {', '.join(KEY_COLUMNS)} may join several")
            if not theirs:
                raise ConfigError(f"data.options.columns: {ours} is an empty list")
            theirs = list(theirs)
        for column in theirs if isinstance(theirs, list) else [theirs]:
            if column not in raw.columns:
                raise ConfigError(f"data.options.columns: {path.name} has no column {column!r} (for "
                                  f"{ours}); available: {available}")
        mapping[ours] = theirs[0] if isinstance(theirs, list) and len(theirs) == 1 else theirs
    if "text" not in mapping and "audio" not in mapping:
        raise ConfigError(
            f"{path.name}: name the text (or audio) column with data.options.columns: {{text: <column>}}; "
            f"available: {available}"
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


def _each(values: pd.Series, function: Any) -> pd.Series:
    """``function`` per cell into an object column that keeps None (``Series.map`` turns None
    into NaN)."""
    return pd.Series([function(v) for v in values], index=values.index, dtype=object)


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
    path: PathSpec | None = None,
    paths: Mapping[str, PathSpec] | PathSpec | None = None,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    multi_label_sep: str | None = None,
    speaker_sep: str | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
    sep: str | None = None,
    quote: bool = True,
    on_bad_lines: Literal["error", "skip"] = "error",
    fix_text: bool = False,
) -> Corpus:
    """Load your own data from one or more CSV/TSV/JSONL files.

    Files: ``path`` is a file, a glob (``data/*.csv``) or a list of them, read into one table
    (a ``split`` column then says which rows are train/dev/test); ``paths`` gives per-split
    files, ``{"train": ..., "dev": ..., "test": ...}`` (each a path, glob or list; ``val``,
    ``valid`` and ``validation`` mean dev), and sets each row's split from its file. Relative
    paths are resolved against ``data_root`` when given. Split values in a ``split`` column are
    read the same way (any case: ``Train``, ``VAL`` -> dev).

    ``columns`` maps corpus columns to file columns (same names map themselves), e.g.
    ``{"audio": "path", "label": "emotion", "speaker": "actor"}``; ``uid``, ``dialogue`` and
    ``group`` may name several columns (``{"dialogue": ["season", "episode", "scene"]}``), whose
    values are joined with "/" into one key (a row with any of them blank has no key). Other
    file columns are kept as extras. ``multi_label_sep`` splits labels into tuples.

    Speakers: a row spoken by several people — a list in JSONL (``["A", "B"]``) or text split
    by ``speaker_sep`` (``"A;B"`` with ``speaker_sep=";"``) — gets the names sorted and joined
    with ``" + "`` as its ``speaker`` (``"A + B"``, one unit for speaker-independent splits;
    map ``group`` yourself for another rule) and every row the tuple of its names in
    ``speakers``; ``meta['multi_speaker_rows']`` counts them.

    Rows with empty text are dropped (``meta['dropped_empty']``) unless they have audio, whose
    text becomes None; ``on_bad_lines='skip'`` skips rows with too many fields
    (``meta['skipped_rows']``). ``quote=False`` reads TSVs whose texts contain stray double
    quotes; ``fix_text`` repairs cp1252 artefacts as for MELD. A UTF-8/16/32 byte-order mark
    decides the encoding; otherwise ``encoding`` (default utf-8) is used.

    ``audio`` values are kept as written: as in every loader, a relative path is relative to
    ``corpus.root``, the (absolute) folder of the file — with several files, their common
    folder, and relative audio paths are rewritten to stay relative to it — so
    ``corpus.root / audio`` opens it; absolute paths stay absolute. Audio files that do not
    exist are counted in ``meta['missing_audio']`` (first ones in
    ``meta['missing_audio_examples']``) with a warning.
    """
    if on_bad_lines not in ("error", "skip"):
        raise ConfigError(f"data.options.on_bad_lines must be error or skip, got {on_bad_lines!r}")
    sources = _sources(path, paths, data_root)
    files = [file for file, _ in sources]
    root = Path(os.path.commonpath([str(f.absolute().parent) for f in files]))
    single = len(files) == 1
    name = name or _default_name(files, root)
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "dropped_empty": 0,
                  "source": str(files[0]) if single else str(root)}
    if not single:
        meta["files"] = [{"path": str(f), "split": split} for f, split in sources]
    skip = on_bad_lines == "skip"
    frames, mappings = [], []
    for file, split in sources:
        raw = _read(file, sep, encoding, quote, skip, meta)
        mapping = _mapping(raw, columns, file)
        frame = _frame(raw, mapping, file, meta)
        if "audio" in mapping:
            frame["audio"] = _rebase_audio(frame["audio"], file.absolute().parent, root)
        if split is not None:  # per-split files: ids that restart per file stay apart
            frame["split"] = _file_split(frame, "split" in mapping, split, file)
            if "dialogue" in mapping:
                frame["dialogue"] = _each(frame["dialogue"],
                                          lambda d: None if _blank_to_none(d) is None else f"{split}/{d}")
        if "uid" not in mapping:
            tag = "" if single else _tag(file, root, files)
            frame["uid"] = [f"{name}/{tag}{i}" for i in range(len(frame))]
        frames.append(frame)
        mappings.append(mapping)
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    table = table.astype(object).where(table.notna(), None)
    mapped = set().union(*mappings)
    if "split" in mapped or any(split for _, split in sources):
        table["split"] = _each(table["split"], _split_value)
    if "label" in mapped:
        table["label"] = _each(table["label"], lambda v: _label(v, multi_label_sep))
    if "speaker" in mapped:
        _speakers(table, speaker_sep, meta)
    if "turn" in mapped:
        table["turn"] = _turns(table["turn"].map(_blank_to_none), files[0] if single else root)
    if "text" in mapped:
        text = table["text"].map(lambda v: "" if v is None else str(v))
        empty = text.str.strip() == ""
        has_audio = table["audio"].notna() if "audio" in mapped else pd.Series(False, index=table.index)
        if fix_text:
            fixed = text.map(repair_text)
            meta["repaired_texts"] = int((fixed != text).sum())
            text = fixed
        table["text"] = text.astype(object).where(~empty, None)
        meta["dropped_empty"] = int((empty & ~has_audio).sum())
        table = table[~empty | has_audio]
    if "audio" in mapped:
        table["audio"] = table["audio"].astype(object).where(table["audio"].notna(), None)
        _check_audio(table["audio"], root, meta)
    multi = multi_label_sep is not None or any(isinstance(v, tuple) for v in table.get("label", []))
    return Corpus(name, table, root=root, multi_label=multi, meta=meta)


def _sources(path: Any, paths: Any, data_root: str | Path | None) -> list[tuple[Path, str | None]]:
    """(file, split from ``paths`` or None) for every file the options name, in order."""
    if path is None and paths is None:
        raise ConfigError("the tabular loader needs data.options.path (a .csv/.tsv/.jsonl file, a glob "
                          "or a list) or per-split files as data.options.paths: {train: ..., dev: ..., test: ...}")
    if path is not None and paths is not None:
        raise ConfigError("give data.options.path (files with a split column) or data.options.paths "
                          "(per-split files), not both")
    if path is not None:
        sources = [(f, None) for f in _expand(path, data_root, "path")]
    elif isinstance(paths, Mapping):
        if not paths:
            raise ConfigError("data.options.paths is empty; give {train: ..., dev: ..., test: ...}")
        sources = []
        for key, spec in paths.items():
            split = canonical_split(key)
            if split is None:
                raise ConfigError(f"data.options.paths: {key!r} is not a split name; use train, dev "
                                  "(or val/valid/validation) and test")
            sources += [(f, split) for f in _expand(spec, data_root, f"paths.{key}")]
    else:
        sources = [(f, None) for f in _expand(paths, data_root, "paths")]
    seen: dict[Path, str | None] = {}
    for file, split in sources:
        key = file.resolve()
        if key in seen:
            where = "" if split is None and seen[key] is None else f" (as {seen[key]} and {split})"
            raise ConfigError(f"{file} is given twice{where}; list each file once")
        seen[key] = split
    return sources


def _expand(spec: Any, data_root: str | Path | None, key: str) -> list[Path]:
    """Files named by a path, a glob or a list of them (globs sorted by name)."""
    items = [spec] if isinstance(spec, (str, Path)) else spec
    if not isinstance(items, (list, tuple)) or not items:
        raise ConfigError(f"data.options.{key} must be a path, a glob or a list of them, got {spec!r}")
    files: list[Path] = []
    for item in items:
        if not isinstance(item, (str, Path)):
            raise ConfigError(f"data.options.{key}: {item!r} is not a path or glob")
        file = Path(item).expanduser()
        if not file.is_absolute() and data_root is not None:
            file = Path(data_root).expanduser() / file
        if any(c in str(item) for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(file), recursive=True) if Path(m).is_file())
            if not matches:
                raise DataNotFoundError(f"data.options.{key}: no file matches {str(item)!r} "
                                        f"(looked for {file})")
            files += matches
        else:
            files.append(require_file(file, LAYOUT))
    return files


def _read(file: Path, sep: str | None, encoding: str, quote: bool, skip: bool, meta: dict) -> pd.DataFrame:
    encoding = sniff_encoding(file, encoding)
    if not encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32")):
        with open(file, "rb") as handle:
            utf16 = looks_like_utf16(handle.read(4096))
        if utf16:
            raise DataFormatError(f"{file} looks like UTF-16 text without a byte-order mark; set "
                                  f"data.options.encoding: {utf16} in the config")
    suffix = file.suffix.lower()
    if suffix in _JSONL:
        return _read_jsonl(file, encoding, skip, meta)
    if sep is not None or suffix in _SEPARATORS:
        return _read_delimited(file, sep or _SEPARATORS[suffix], encoding, quote, skip, meta)
    raise ConfigError(f"{file.name}: unknown file type {suffix!r}; name it .csv/.tsv/.jsonl or set "
                      "data.options.sep (',' or '\\t')")


def _frame(raw: pd.DataFrame, mapping: dict[str, Any], file: Path, meta: dict) -> pd.DataFrame:
    """Our columns from one file's columns; unused file columns kept as extras."""
    table = pd.DataFrame(index=raw.index)
    for ours, theirs in mapping.items():
        table[ours] = _joined(raw, theirs, ours, meta) if isinstance(theirs, list) else raw[theirs]
    used = {c for theirs in mapping.values() for c in (theirs if isinstance(theirs, list) else [theirs])}
    for column in raw.columns:
        if column not in used:
            table[column if column not in COLUMNS else f"file_{column}"] = raw[column]
    for column in set(mapping) - {"text", "label", "turn", "speaker"}:
        table[column] = _each(table[column], _blank_to_none)
        several = table[column].map(lambda v: isinstance(v, (list, tuple, dict))).astype(bool)
        if several.any():
            raise DataFormatError(
                f"{file}: column {mapping[column]!r} ({column}) holds lists, e.g. "
                f"{table[column][several].iloc[0]!r}; only label and speaker cells may hold several values")
    return table


def _joined(raw: pd.DataFrame, theirs: list[str], ours: str, meta: dict) -> pd.Series:
    """One key from several columns, parts joined with "/"; None where any part is blank."""
    parts = [_each(raw[c], _key_part) for c in theirs]
    keys = pd.Series(["/".join(p) if all(x is not None for x in p) else None for p in zip(*parts)],
                     index=raw.index, dtype=object)
    incomplete = int(keys.isna().sum() - pd.concat(parts, axis=1).isna().all(axis=1).sum())
    if incomplete:
        meta.setdefault("incomplete_keys", {})
        meta["incomplete_keys"][ours] = meta["incomplete_keys"].get(ours, 0) + incomplete
        warnings.warn(f"{incomplete} rows have some but not all of {theirs} ({ours}); they get no {ours}",
                      stacklevel=4)
    return keys


def _key_part(value: Any) -> str | None:
    value = _blank_to_none(value)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _speakers(table: pd.DataFrame, sep: str | None, meta: dict) -> None:
    """List-valued (or ``sep``-separated) speaker cells -> one joined speaker + ``speakers``."""
    def names(value: Any) -> tuple[str, ...]:
        if isinstance(value, (list, tuple)):
            items = [str(v) for v in value if v is not None]
        elif value is None or (isinstance(value, float) and pd.isna(value)):
            items = []
        else:
            items = str(value).split(sep) if sep else [str(value)]
        return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))

    listed = _each(table["speaker"], names)
    several = listed.map(len) > 1
    table["speaker"] = _each(listed, lambda n: SPEAKER_JOIN.join(sorted(n)) if n else None)
    meta["multi_speaker_rows"] = int(several.sum())
    if several.any():
        if "speakers" in table.columns:
            table["file_speakers"] = table["speakers"]
        table["speakers"] = _each(listed, lambda n: n or None)


def _split_value(value: Any) -> Any:
    """train/dev/test under any of their usual spellings; other values are kept (and refused
    by the predefined splitter with a list of what it accepts)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip():
        return None
    return canonical_split(value) or str(value).strip()


def _file_split(frame: pd.DataFrame, has_column: bool, split: str, file: Path) -> list[str]:
    if has_column:
        own = _each(frame["split"], _split_value)
        other = own.notna() & (own != split)
        if other.any():
            raise ConfigError(
                f"{file} is given as the {split} file (data.options.paths) but its split column says "
                f"{own[other].iloc[0]!r} for {int(other.sum())} rows; drop that column mapping or "
                "use data.options.path with the split column")
    return [split] * len(frame)


def _rebase_audio(audio: pd.Series, folder: Path, root: Path) -> pd.Series:
    """Relative audio paths of a file in ``folder`` made relative to the corpus ``root``."""
    prefix = folder.relative_to(root)
    if prefix == Path("."):
        return audio
    return _each(audio, lambda a: a if _blank_to_none(a) is None or Path(str(a)).is_absolute()
                 else (prefix / str(a)).as_posix())


def _tag(file: Path, root: Path, files: list[Path]) -> str:
    """What generated uids of one of several files start with: its stem, or its path under the
    common folder when two files share a stem."""
    stems = [f.stem for f in files]
    if stems.count(file.stem) == 1:
        return f"{file.stem}/"
    return file.absolute().relative_to(root).with_suffix("").as_posix() + "/"


def _default_name(files: list[Path], root: Path) -> str:
    return files[0].stem if len(files) == 1 else (root.name or "tabular")


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
