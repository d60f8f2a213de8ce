"""Reading texts to predict from a user's file: txt, CSV/TSV or JSONL."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import DataFormatError, DataNotFoundError, InputError


def read_texts(path: str | Path, column: str | None = None) -> list[str]:
    """One text per line (txt) or per row (CSV/TSV/JSONL, column ``text`` unless named).

    Blank lines are skipped; an empty text in a table is an error naming its row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv"}:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str,
                                keep_default_na=False)
        elif suffix in {".jsonl", ".ndjson"}:
            rows = []
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise DataFormatError(f"{path}:{number} is not valid JSON: {error.msg}") from None
            frame = pd.DataFrame(rows)
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
            texts = [line.strip() for line in lines if line.strip()]
            if not texts:
                raise InputError(f"{path} holds no text")
            return texts
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path} is not UTF-8 ({error.reason} at byte {error.start}); "
                              "re-save it as UTF-8") from None
    except pd.errors.ParserError as error:
        raise DataFormatError(f"{path} is not a well-formed table: {error}") from None
    name = column or "text"
    if name not in frame.columns:
        raise InputError(f"{path} has no column {name!r} (columns: {list(frame.columns)}); "
                         "name the text column with --column")
    texts = frame[name].fillna("").astype(str).tolist()
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise InputError(f"{path}: empty text in row(s) {empty[:10]}")
    return texts
