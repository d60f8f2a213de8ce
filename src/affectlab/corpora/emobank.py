"""EmoBank (Buechel & Hahn 2017): 10,062 English sentences rated for valence, arousal and
dominance, with the official train/dev/test split (8062/1000/1000, stratified by genre).

Layout: ``corpus/`` of github.com/JULIELab/EmoBank, i.e. ``emobank/emobank.csv``
(``id,split,V,A,D,text``: the weighted reader+writer average, the file the authors say to use
by default) and, optionally, ``emobank/meta.tsv`` (``id, document, category, subcategory``).
Licence: CC BY-SA 4.0 (texts from MASC and the SemEval-2007 Task 14 headlines); cite Buechel &
Hahn, EACL 2017.

``valence``, ``arousal``, ``dominance`` are floats on the original 1-5 SAM scale (3 = neutral;
scores cluster near 3, sd 0.2-0.35), for a regression task such as
``tasks: {vad: {values: [valence, arousal, dominance]}}``; (x - 1) / 4 maps them to [0, 1].
An empty V/A/D cell is NaN (left out of that task's loss); a value that is not a number or lies
outside 1-5 is an error. EmoBank has no categorical label, so ``label`` stays None; a config
needs another primary target (e.g. ``labels: {column: domain, ...}`` or a labeller).

From meta.tsv: ``domain`` (genre: fiction, letters, newspaper, blog, SemEval = news headlines,
essays, travel-guides), ``subdomain`` (nyt, wsj, ... or None) and ``document`` (the source
document; sentences of one document occur in several splits). Without meta.tsv these are None
(with a warning).

Quirks handled: the CSV is read with no NA parsing, so the one sentence that is the word
``None`` stays that text (pandas' default reads it as missing); fragments such as two dots
and a quote mark are CSV-quoted and read as such; texts are stripped, CRLF becomes LF and Windows-1252/mojibake
artefacts are repaired (``repair_text``; this copy has none); rows with an empty text are
skipped (``meta['skipped_rows']``).
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataFormatError
from ._common import (choose_splits, find_dataset_dir, record_skip, register, repair_text,
                      resolve_root, sniff_encoding)
from .corpus import Corpus
from .splits import canonical_split

SPLITS = ("train", "dev", "test")
LAYOUT = "<root>/emobank/emobank.csv (id,split,V,A,D,text) [+ meta.tsv] (corpus/ of github.com/JULIELab/EmoBank)"
_REQUIRED = ("id", "split", "V", "A", "D", "text")
#: emobank.csv column -> corpus column.
DIMENSIONS = {"V": "valence", "A": "arousal", "D": "dominance"}
#: The SAM scale every V/A/D score lies on.
SCALE = (1.0, 5.0)
_META_COLUMNS = ("id", "document", "category", "subcategory")


def locate(root: Path) -> Path:
    """``<root>/emobank``, its ``corpus/`` subfolder (a clone of the repository), or ``root``."""
    folder = root / "emobank"
    return find_dataset_dir(root, [folder, folder / "corpus", root], ["emobank.csv"], LAYOUT)


def _read_csv(path: Path, sep: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, quoting=quoting,
                           encoding=sniff_encoding(path))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: not a readable EmoBank file ({exc}); re-download it") from exc


def _scores(raw: pd.DataFrame, path: Path) -> dict[str, np.ndarray]:
    """V/A/D columns as floats; blank cells NaN; anything else that is no 1-5 number an error."""
    out = {}
    for source, column in DIMENSIONS.items():
        cells = raw[source].str.strip()
        values = pd.to_numeric(cells.where(cells != ""), errors="coerce")
        bad = values.isna() & (cells != "")
        if bad.any():
            raise DataFormatError(f"{path}: {source} of id {raw['id'][bad].iloc[0]!r} is "
                                  f"{cells[bad].iloc[0]!r}, not a number")
        outside = (values < SCALE[0]) | (values > SCALE[1])
        if outside.any():
            raise DataFormatError(
                f"{path}: {source} of id {raw['id'][outside].iloc[0]!r} is {values[outside].iloc[0]}, "
                "outside the 1-5 SAM scale; expected emobank.csv's raw scores, not rescaled ones"
            )
        out[column] = values.to_numpy(dtype=float)
    return out


def _genres(folder: Path) -> dict[str, tuple[str | None, str | None, str | None]] | None:
    """meta.tsv as id -> (domain, subdomain, document), or None when the file is absent."""
    path = folder / "meta.tsv"
    if not path.is_file():
        warnings.warn(f"EmoBank: no {path}; loading without domain/document columns", stacklevel=3)
        return None
    raw = _read_csv(path, sep="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in _META_COLUMNS if c not in raw.columns]
    if missing:
        raise DataFormatError(f"{path}: missing columns {missing}; expected {'<TAB>'.join(_META_COLUMNS)}")

    def cell(value: str) -> str | None:  # subcategory is a single space for most rows
        return value.strip() or None

    return {i.strip(): (cell(c), cell(s), cell(d))
            for i, d, c, s in zip(raw["id"], raw["document"], raw["category"], raw["subcategory"])}


@register("emobank", locate)
def load_emobank(data_root: str | Path | None = None, splits: Sequence[str] | None = None) -> Corpus:
    """Load EmoBank's emobank.csv; ``splits`` restricts to some of train/dev/test.

    ``meta['missing_meta']`` counts sentences that meta.tsv does not describe.
    """
    wanted = choose_splits("EmoBank", splits, SPLITS)
    root = resolve_root(data_root)
    folder = locate(root)
    path = folder / "emobank.csv"
    raw = _read_csv(path)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DataFormatError(f"{path}: missing columns {missing}; expected the header {','.join(_REQUIRED)}")
    split = raw["split"].map(canonical_split)
    if split.isna().any():
        odd = sorted(set(raw.loc[split.isna(), "split"]))
        raise DataFormatError(f"{path}: split values {odd[:5]} are not train/dev/test")
    table = pd.DataFrame({
        "uid": "emobank/" + raw["id"].str.strip(),
        "text": raw["text"].str.replace("\r\n", "\n").str.replace("\r", "\n").str.strip(),
        "label": None,
        "split": split,
        **_scores(raw, path),
    })
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "source": str(folder),
                  "scale": {"valence": SCALE, "arousal": SCALE, "dominance": SCALE}}
    table = table[table["split"].isin(wanted)]
    empty = table["text"] == ""
    for uid in table.loc[empty, "uid"]:
        record_skip(meta, path.name, f"{uid} has an empty text")
    table = table[~empty].copy()
    repaired = table["text"].map(repair_text)
    meta["repaired_texts"] = int((repaired != table["text"]).sum())
    table["text"] = repaired
    genres = _genres(folder)
    ids = table["uid"].str.removeprefix("emobank/")
    found = [None if genres is None else genres.get(i) for i in ids]
    meta["missing_meta"] = sum(f is None for f in found)
    for k, column in enumerate(("domain", "subdomain", "document")):
        table[column] = pd.Series([None if f is None else f[k] for f in found], index=table.index, dtype=object)
    return Corpus("emobank", table, root=folder, multi_label=False, meta=meta)
