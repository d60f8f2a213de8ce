"""iSarcasmEval (SemEval-2022 Task 6), English: tweets whose authors said whether they meant
them sarcastically (intended sarcasm), subtask A with its official train and test sets.

Layout: the repository github.com/iabufarha/iSarcasmEval, i.e. ``isarcasmeval/train/train.En.csv``
(unnamed index column, ``tweet, sarcastic, rephrase, sarcasm, irony, satire, understatement,
overstatement, rhetorical_question``) and ``isarcasmeval/test/task_A_En_test.csv`` (``text,
sarcastic``); ``test/task_B_En_test.csv`` (``text`` + the 6 categories) is read when present to
give the test rows their categories. Licence: the repository's MIT licence (Abu Farha 2022);
the texts are tweets (Twitter's terms apply). Cite Abu Farha et al., SemEval-2022.

``label`` is ``sarcastic``/``not_sarcastic`` (scheme ``sarcasm2``). Extras: ``rephrase``, the
author's non-sarcastic rephrase (train sarcastic rows only, else None), and the experts'
ironic-speech categories ``sarcasm irony satire understatement overstatement
rhetorical_question`` as 0/1 ints: train has them for sarcastic rows only (None for the
others, which the experts did not label); test has them for every row from task B, where
non-sarcastic rows are all 0, as in the official subtask B. ``split`` is ``train``/``test``:
there is no official dev set (as for MUStARD); carve one from train for early stopping.

Quirks handled: a real CSV parser for the multi-line quoted tweets (CRLF inside a text
becomes LF); no NA parsing (a tweet ``NA`` or ``null`` stays text); texts are stripped,
Twitter's HTML escapes ``&amp; &lt; &gt;`` are undone (``meta['unescaped_texts']``) and
Windows-1252/mojibake artefacts repaired (``repair_text``; this copy has none); the one train
row with an empty tweet is skipped (``meta['skipped_rows']``). Verbatim duplicate tweets (11 in
train, 5 texts carry both labels; 6 in test) are kept and counted in
``meta['duplicate_texts']`` and ``meta['conflicting_duplicates']``.
uids are ``isarcasmeval/train/<index column>`` and ``isarcasmeval/test/<row>`` (0-based).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import DataFormatError
from ._common import (choose_splits, find_dataset_dir, record_skip, register, repair_text,
                      resolve_root, sniff_encoding)
from .corpus import Corpus

SPLITS = ("train", "test")
FILES = {"train": "train/train.En.csv", "test": "test/task_A_En_test.csv"}
TASK_B = "test/task_B_En_test.csv"
LAYOUT = ("<root>/isarcasmeval/{train/train.En.csv, test/task_A_En_test.csv} [+ test/task_B_En_test.csv] "
          "(github.com/iabufarha/iSarcasmEval)")
#: The experts' ironic-speech categories (Leggitt & Gibbs 2000), in the files' column order.
CATEGORIES = ("sarcasm", "irony", "satire", "understatement", "overstatement", "rhetorical_question")
LABELS = {"1": "sarcastic", "0": "not_sarcastic"}
_TEXT_COLUMN = {"train": "tweet", "test": "text"}
_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ESCAPE_RE = re.compile("|".join(_ESCAPES))


def locate(root: Path, splits: Sequence[str] = SPLITS) -> Path:
    """``<root>/isarcasmeval``, or ``root`` itself when it already is that folder."""
    return find_dataset_dir(root, [root / "isarcasmeval", root], [FILES[s] for s in splits], LAYOUT)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=sniff_encoding(path))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: not a readable iSarcasmEval CSV ({exc}); re-download it") from exc


def _clean(text: str, counts: dict | None = None) -> str:
    """Stripped, LF line ends, HTML escapes undone, cp1252 artefacts repaired; ``counts``
    (``unescaped``/``repaired``) counts the texts each step changed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    unescaped = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], text)
    repaired = repair_text(unescaped)
    if counts is not None:
        counts["unescaped"] += unescaped != text
        counts["repaired"] += repaired != unescaped
    return repaired


def _binary(value: str, path: Path, where: str, column: str) -> int | None:
    value = value.strip()
    if value == "":
        return None
    if value not in LABELS:
        raise DataFormatError(f"{path}: {where}: {column} is {value!r}, expected 0 or 1")
    return int(value)


def _require(raw: pd.DataFrame, path: Path, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataFormatError(f"{path}: missing columns {missing}; expected the header of the official "
                              f"{path.name} ({', '.join(columns)}, ...)")


def _test_categories(path: Path) -> dict[str, tuple[int, ...] | None]:
    """Task B's test file as text -> categories; None for a text listed with two different ones."""
    raw = _read_csv(path)
    _require(raw, path, ("text", *CATEGORIES))
    out: dict[str, tuple[int, ...] | None] = {}
    for row, (_, record) in enumerate(raw.iterrows()):
        values = tuple(_binary(record[c], path, f"row {row}", c) for c in CATEGORIES)
        if any(v is None for v in values):
            raise DataFormatError(f"{path}: row {row}: every category needs a 0 or 1")
        text = record["text"]
        out[text] = values if out.get(text, values) == values else None
    return out


def _read_split(folder: Path, split: str, meta: dict, counts: dict) -> list[dict]:
    path = folder / FILES[split]
    raw = _read_csv(path)
    text_column = _TEXT_COLUMN[split]
    _require(raw, path, (text_column, "sarcastic"))
    index = raw.columns[0] if split == "train" and raw.columns[0].startswith("Unnamed") else None
    categories = [c for c in CATEGORIES if c in raw.columns]
    task_b = None
    if split == "test" and (folder / TASK_B).is_file():
        task_b = _test_categories(folder / TASK_B)
        meta["test_categories"] = TASK_B
    rows = []
    for row, (_, record) in enumerate(raw.iterrows()):
        key = record[index].strip() if index else str(row)
        where = f"{FILES[split]} row {key}"
        label = _binary(record["sarcastic"], path, f"row {key}", "sarcastic")
        if label is None:
            raise DataFormatError(f"{path}: row {key}: sarcastic is empty, expected 0 or 1")
        text = _clean(record[text_column], counts)
        if not text:
            record_skip(meta, where, "empty text")
            continue
        item = {"uid": f"isarcasmeval/{split}/{key}", "text": text, "label": LABELS[str(label)],
                "split": split}
        rephrase = _clean(record["rephrase"]) if "rephrase" in raw.columns else ""
        item["rephrase"] = rephrase or None
        if task_b is not None:
            values = task_b.get(record[text_column])
            meta["test_without_categories"] += values is None
            item.update(zip(CATEGORIES, values or (None,) * len(CATEGORIES)))
        else:
            item.update({c: _binary(record[c], path, f"row {key}", c) if c in categories else None
                         for c in CATEGORIES})
        rows.append(item)
    return rows


@register("isarcasmeval", locate)
def load_isarcasmeval(data_root: str | Path | None = None, splits: Sequence[str] | None = None) -> Corpus:
    """Load iSarcasmEval English subtask A; ``splits`` restricts to train or test."""
    wanted = choose_splits("iSarcasmEval", splits, SPLITS)
    root = resolve_root(data_root)
    folder = locate(root, wanted)
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "source": str(folder), "test_categories": None,
                  "test_without_categories": 0}
    counts = {"unescaped": 0, "repaired": 0}
    rows = [row for s in wanted for row in _read_split(folder, s, meta, counts)]
    columns = ["uid", "text", "label", "split", "rephrase", *CATEGORIES]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("rephrase", *CATEGORIES):  # None (not NaN) where absent; ints, not floats
        table[column] = pd.Series([row[column] for row in rows], index=table.index, dtype=object)
    meta["unescaped_texts"] = counts["unescaped"]
    meta["repaired_texts"] = counts["repaired"]
    by_split = table.groupby("split")
    meta["duplicate_texts"] = {s: int(part.duplicated().sum()) for s, part in by_split["text"]}
    meta["conflicting_duplicates"] = {s: int((part.groupby("text")["label"].nunique() > 1).sum())
                                      for s, part in by_split}
    return Corpus("isarcasmeval", table, root=folder, multi_label=False, meta=meta)
