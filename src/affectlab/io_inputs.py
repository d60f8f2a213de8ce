"""Reading what a user gives ``affectlab predict``: texts from txt, CSV/TSV (any separator) or
JSONL files and standard input, and audio paths from files, folders and globs.

Light on purpose (standard library only): input errors are reported before torch is imported.
Every row keeps its other columns (or one chosen id column) so predictions can be matched to
the input by more than row order.
"""
from __future__ import annotations

import csv
import glob
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from .errors import DataFormatError, DataNotFoundError, InputError

#: Audio files a folder or glob yields (what the speech pipelines read through soundfile).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
#: Separators a plain-text file is checked for (see :func:`looks_delimited`).
CANDIDATE_SEPS = ("\t", ";", "|", ",")
_SEP_NAMES = {"\\t": "\t", "tab": "\t", "TAB": "\t", "\t": "\t", "comma": ",", "semicolon": ";",
              "pipe": "|", "space": " "}
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}


@dataclass
class Inputs:
    """What to predict, in order: ``items`` (texts or audio paths) and, per item, the input
    columns kept for the output (``columns[i]`` belongs to ``items[i]``)."""

    items: list[str]
    columns: list[dict[str, Any]] = field(default_factory=list)
    #: True when the items came from one file, a folder or a glob (JSON output is then a list).
    many: bool = False

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [{} for _ in self.items]

    def __len__(self) -> int:
        return len(self.items)


def parse_sep(value: str | None) -> str | None:
    """``--sep`` as typed: one character, or ``\\t`` / ``tab``, ``comma``, ``semicolon``, ``pipe``."""
    if value is None:
        return None
    sep = _SEP_NAMES.get(value, value)
    if len(sep) != 1:
        raise InputError(f"--sep must be one character (or \\t, tab), not {value!r}")
    return sep


def _show_sep(sep: str) -> str:
    return "\\t" if sep == "\t" else sep


# ---- texts -------------------------------------------------------------------------------
def read_texts(path: str | Path, column: str | None = None) -> list[str]:
    """One text per line (txt) or per row (CSV/TSV/JSONL, column ``text`` unless named).

    Blank lines are skipped; an empty text in a table is an error naming its row."""
    return read_inputs(path, column=column).items


def read_inputs(path: str | Path, *, column: str | None = None, sep: str | None = None,
                id_column: str | None = None, header: bool = True, default_column: str = "text",
                warn: Callable[[str], None] | None = None, stream: TextIO | None = None) -> Inputs:
    """Texts (or audio paths) to predict from a file, or from ``stream`` (standard input, ``path``
    then only names it in messages).

    - ``.jsonl``/``.ndjson``: one JSON object per line, the text under ``column``.
    - ``.csv`` (``,``), ``.tsv`` (tab), or any file with ``sep``: a delimited table whose first
      line names the columns (``header=False``: columns are numbered 1, 2, …, text in column 1
      unless ``column`` names another).
    - anything else without ``sep``: one text per line; ``warn`` is told when the lines look
      like a delimited table, so the user can pass ``--sep``.

    Kept columns: ``id_column`` alone if given, else every column but the text (for plain lines,
    the line number as ``line``)."""
    name = Path(str(path))
    suffix = name.suffix.lower() if stream is None else ""
    if stream is None and not name.is_file():
        what = "a folder" if name.is_dir() else "not found"
        raise DataNotFoundError(f"input file {what}: {name}")
    try:
        content = stream.read() if stream is not None else name.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{name} is not UTF-8 ({error.reason} at byte {error.start}); "
                              "re-save it as UTF-8") from None
    content = content.lstrip("\ufeff")
    if suffix in JSONL_SUFFIXES:
        if sep is not None:
            raise InputError(f"--sep does not apply to JSON lines ({name}); name the field with --column")
        columns, rows = _jsonl_rows(content, name)
        return _select(columns, rows, name, column or default_column, id_column, header=True)
    if sep is None and suffix in TABLE_SUFFIXES:
        sep = TABLE_SUFFIXES[suffix]
    if sep is not None:
        columns, rows = _delimited_rows(content, name, sep, header)
        text_column = column or (default_column if header else "1")
        try:
            return _select(columns, rows, name, text_column, id_column, header=header)
        except InputError:
            other = [c for c in CANDIDATE_SEPS if c != sep and c in columns[0]] if len(columns) == 1 else []
            if header and other:
                raise InputError(f"{name} has no column {text_column!r}; its header {columns[0]!r} looks "
                                 f"{_show_sep(other[0])!r}-separated: pass --sep {_show_sep(other[0])!r}") from None
            raise
    if column is not None or id_column is not None:
        flag = "--column" if column is not None else "--id-column"
        raise InputError(f"{flag} needs a table: {name} is read as one text per line; give its "
                         "separator with --sep (e.g. --sep ';' or --sep '\\t')")
    lines = content.splitlines()
    numbered = [(i, line.strip()) for i, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise InputError(f"{name} holds no text")
    guess = looks_delimited([text for _, text in numbered])
    if guess and warn is not None:
        shown = _show_sep(guess[0])
        warn(f"most lines of {name} split on {shown!r} into {guess[1]} fields but are read as whole "
             f"texts; if it is a table pass --sep {shown!r} (with --column NAME, or --no-header "
             "--column N when it has no header line)")
    return Inputs([t for _, t in numbered], [{"line": i} for i, _ in numbered], many=True)


def looks_delimited(lines: Iterable[str], min_share: float = 0.8) -> tuple[str, int] | None:
    """(separator, fields) when most lines split on one of ``CANDIDATE_SEPS`` into the same
    number (≥ 2) of fields, else None. ``;`` and ``|`` need ≥ 2 lines; commas, common in prose,
    ≥ 5 lines and 90 % of them."""
    sample = [line for line in lines if line.strip()][:500]
    if not sample:
        return None
    for sep in CANDIDATE_SEPS:
        counts = Counter(len(next(csv.reader([line], delimiter=sep))) if sep in line else 1
                         for line in sample)
        fields, hits = counts.most_common(1)[0]
        share = hits / len(sample)
        if sep == ",":
            if len(sample) >= 5 and fields >= 2 and share >= 0.9:
                return sep, fields
        elif fields >= 2 and share >= min_share and (sep == "\t" or len(sample) >= 2):
            return sep, fields
    return None


def _jsonl_rows(content: str, name: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    rows, columns = [], {}
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{name}:{number} is not valid JSON: {error.msg}") from None
        if not isinstance(row, dict):
            raise DataFormatError(f"{name}:{number} is not a JSON object (one object per line)")
        columns.update(dict.fromkeys(row))
        rows.append((number, row))
    if not rows:
        raise InputError(f"{name} holds no rows")
    return list(columns), rows


def _delimited_rows(content: str, name: Path, sep: str, header: bool) -> tuple[list[str], list[tuple[int, dict]]]:
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=sep)
    records = []
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                records.append((reader.line_num, fields))
    except csv.Error as error:
        raise DataFormatError(f"{name}:{reader.line_num} is not a well-formed table: {error}") from None
    if not records:
        raise InputError(f"{name} holds no rows")
    if header:
        _, columns = records.pop(0)
        columns = [c.strip() for c in columns]
        duplicated = [c for c, n in Counter(columns).items() if n > 1]
        if duplicated:
            raise DataFormatError(f"{name}: the header names column(s) {duplicated} twice")
        if not records:
            raise InputError(f"{name} has a header line but no rows")
    else:
        columns = [str(i) for i in range(1, max(len(f) for _, f in records) + 1)]
    rows = []
    for line, fields in records:
        if header and len(fields) != len(columns):
            raise DataFormatError(
                f"{name}:{line} has {len(fields)} fields but the header has {len(columns)} "
                f"(separator {_show_sep(sep)!r}); quote fields that contain it, or pass the right --sep")
        rows.append((line, dict(zip(columns, fields))))
    return columns, rows


def _select(columns: list[str], rows: list[tuple[int, dict]], name: Path, text_column: str,
            id_column: str | None, header: bool) -> Inputs:
    hint = "name the text column with --column, or pass --no-header if the first line is not a header"
    if not header:
        hint = f"without a header the columns are numbered 1-{len(columns)}"
    if text_column not in columns:
        raise InputError(f"{name} has no column {text_column!r} (columns: {columns}); {hint}")
    if id_column is not None and id_column not in columns:
        raise InputError(f"{name} has no id column {id_column!r} (columns: {columns})")
    items, kept, empty = [], [], []
    for number, (line, row) in enumerate(rows, 1):
        value = row.get(text_column)
        text = "" if value is None else str(value)
        if not text.strip():
            empty.append(number)
        items.append(text.strip())
        if id_column is not None:
            kept.append({id_column: row.get(id_column)})
        else:
            kept.append({k: v for k, v in row.items() if k != text_column})
    if empty:
        raise InputError(f"{name}: empty text in row(s) {empty[:10]}"
                         + (f" and {len(empty) - 10} more" if len(empty) > 10 else ""))
    return Inputs(items, kept, many=True)


def read_stdin(**options: Any) -> Inputs:
    """Standard input read like a file: one text per line, or a table with ``sep``."""
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("give a text, --file FILE, or pipe texts on standard input (one per line)")
    try:
        return read_inputs("<stdin>", stream=sys.stdin, **options)
    except InputError as error:
        if "holds no" in str(error):
            raise InputError("standard input held no text") from None
        raise


# ---- audio -------------------------------------------------------------------------------
def _is_glob(text: str) -> bool:
    return glob.has_magic(text)


def audio_files(arguments: Iterable[str | Path]) -> tuple[list[str], bool]:
    """Audio paths from files, folders (searched recursively, hidden entries skipped, sorted)
    and glob patterns (expanded here, so they may be quoted; ``**`` matches sub-folders).

    Returns (paths in order without repeats, whether any argument was a folder or glob).
    A named file is returned even if missing (the reader reports it); an empty folder or a
    pattern matching no audio file is an error."""
    paths: list[str] = []
    expanded = False
    for argument in arguments:
        text = str(argument)
        path = Path(text).expanduser()
        if path.is_dir():
            expanded = True
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES
                           and p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise DataNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in folder {text}")
            paths.extend(str(p) for p in found)
        elif not path.exists() and _is_glob(text):
            expanded = True
            found = sorted(p for p in glob.glob(str(path), recursive=True)
                           if Path(p).is_file() and Path(p).suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise DataNotFoundError(f"no audio files match {text!r}")
            paths.extend(found)
        else:
            paths.append(str(path))
    return list(dict.fromkeys(paths)), expanded


def audio_inputs(arguments: Iterable[str | Path]) -> Inputs:
    """:func:`audio_files` as :class:`Inputs` (no other columns)."""
    paths, expanded = audio_files(arguments)
    if not paths:
        raise InputError("give audio files, folders or globs: affectlab predict --audio clip.wav [DIR] ['*.wav']")
    return Inputs(paths, many=expanded or len(paths) > 1)


def audio_table_inputs(path: str | Path, **options: Any) -> Inputs:
    """Audio paths listed in a CSV/TSV/JSONL file (column ``audio`` unless named); relative
    paths are taken relative to the file's folder."""
    inputs = read_inputs(path, default_column="audio", **options)
    base = Path(str(path)).parent
    inputs.items = [str(p if (p := Path(item).expanduser()).is_absolute() else base / p) for item in inputs.items]
    return inputs
