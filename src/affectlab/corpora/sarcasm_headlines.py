"""News Headlines Dataset for Sarcasm Detection (Misra & Arora 2023), v2: 28,619 headlines
from The Onion (sarcastic) and HuffPost (not sarcastic).

Layout: ``sarcasm_headlines/sarcasm_headlines.jsonl``, one JSON object per line
(``{"headline", "is_sarcastic": 0|1, "source": "samples"|"few_shot"}``, the copy shipped in
OpenAI's MIT-licensed ``evals`` package), or the author's own JSON-lines files
``Sarcasm_Headlines_Dataset_v2.json`` / ``Sarcasm_Headlines_Dataset.json`` (with
``article_link``). Licence: research data, no licence stated by the authors; cite Misra &
Arora, AI Open 4 (2023).

``label`` is ``sarcastic``/``not_sarcastic`` (scheme ``sarcasm2``). The label is the site the
headline comes from, not a judgement of each headline: a strong topic/style shortcut. When the
file has ``article_link`` it is kept with ``domain`` (its host, e.g. ``www.theonion.com``);
this copy has no links, and the site is then implied by the label, so ``domain`` stays None.
The evals ``source`` field is kept as ``upstream_file``. There is no official split (``split``
stays None): configs must choose a splitter (e.g. ``stratified_kfold`` with ``dev_fraction``).

Quirks handled: 116 verbatim duplicate headlines (no conflicting labels) are kept and counted
in ``meta['duplicate_texts']``; ``deduplicate=True`` keeps only the first of each headline
(and drops every copy of a headline listed with both labels), so a split cannot put one
headline in train and test. Texts are stripped and Windows-1252 artefacts repaired (five
headlines carry ``\\x99``/``\\x97`` for ™/—, ``meta['repaired_texts']``); headlines are already
lower case. uids are ``sarcasm_headlines/<line number>``; empty headlines are skipped.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from ..errors import DataFormatError, DataNotFoundError
from ._common import read_lines, record_skip, register, repair_text, resolve_root
from .corpus import Corpus

#: File names accepted, preferred first: this project's copy, then the author's v2 and v1.
FILES = ("sarcasm_headlines.jsonl", "Sarcasm_Headlines_Dataset_v2.json", "Sarcasm_Headlines_Dataset.json")
LAYOUT = ('<root>/sarcasm_headlines/sarcasm_headlines.jsonl (one {"headline": ..., "is_sarcastic": 0|1} '
          "per line; the author's Sarcasm_Headlines_Dataset_v2.json also works)")
LABELS = {0: "not_sarcastic", 1: "sarcastic"}


def _candidates(root: Path) -> list[Path]:
    folder = root / "sarcasm_headlines"
    return [folder, root]


def _find(root: Path) -> Path:
    """The first dataset file found (folders before file names), else one clear error."""
    for folder in _candidates(root):
        for name in FILES:
            if (folder / name).is_file():
                return folder / name
    raise DataNotFoundError(
        f"missing {_candidates(root)[0] / FILES[0]} (data root {root}); expected layout: {LAYOUT}"
    )


def locate(root: Path) -> Path:
    """The folder holding one of ``FILES``: ``<root>/sarcasm_headlines`` or ``root``."""
    return _find(root).parent


def _label(value: object) -> str | None:
    if isinstance(value, bool) or value in ("0", "1"):
        value = int(value)
    return LABELS.get(value) if isinstance(value, int) else None


def _host(link: object) -> str | None:
    return (urlparse(link).hostname or None) if isinstance(link, str) and link.strip() else None


def _read(path: Path, meta: dict) -> list[dict]:
    rows = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{path}:{number}: not a JSON object ({exc.msg}); expected {LAYOUT}") from exc
        if not isinstance(record, dict) or "headline" not in record or "is_sarcastic" not in record:
            raise DataFormatError(f"{path}:{number}: expected an object with headline and is_sarcastic, "
                                  f"got {line[:80]!r}")
        label = _label(record["is_sarcastic"])
        if label is None:
            raise DataFormatError(f"{path}:{number}: is_sarcastic is {record['is_sarcastic']!r}, expected 0 or 1")
        headline = record["headline"]
        text = headline.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(headline, str) else ""
        if not text:
            record_skip(meta, f"{path.name}:{number}", "empty headline")
            continue
        link = record.get("article_link")
        rows.append({"uid": f"sarcasm_headlines/{number}", "text": text, "label": label,
                     "article_link": link if isinstance(link, str) and link.strip() else None,
                     "domain": _host(link), "upstream_file": record.get("source")})
    return rows


@register("sarcasm_headlines", locate)
def load_sarcasm_headlines(data_root: str | Path | None = None, deduplicate: bool = False) -> Corpus:
    """Load the headlines; ``split`` stays None (use a splitter). ``deduplicate`` drops repeats.

    ``meta['dropped_duplicates']`` counts rows ``deduplicate`` removed.
    """
    root = resolve_root(data_root)
    path = _find(root)
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "source": str(path.parent), "file": path.name,
                  "dropped_duplicates": 0}
    rows = _read(path, meta)
    columns = ["uid", "text", "label", "article_link", "domain", "upstream_file"]
    table = pd.DataFrame(rows, columns=columns)
    for column in columns[3:]:  # None, not NaN, where a field is absent
        table[column] = pd.Series([row[column] for row in rows], index=table.index, dtype=object)
    repaired = table["text"].map(repair_text)
    meta["repaired_texts"] = int((repaired != table["text"]).sum())
    table["text"] = repaired
    meta["duplicate_texts"] = int(table["text"].duplicated().sum())
    conflicting = table.groupby("text")["label"].nunique() > 1
    meta["conflicting_duplicates"] = int(conflicting.sum())
    if deduplicate:
        keep = ~table["text"].duplicated() & ~table["text"].isin(conflicting[conflicting].index)
        meta["dropped_duplicates"] = int((~keep).sum())
        table = table[keep]
    return Corpus("sarcasm_headlines", table, root=path.parent, multi_label=False, meta=meta)
