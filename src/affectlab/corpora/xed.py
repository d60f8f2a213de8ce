"""XED (movie subtitles, Plutchik's 8 emotions, multi-label) plus its optional neutral file."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ._common import find_dataset_dir, read_lines, record_skip, register, resolve_root
from .corpus import Corpus

#: XED's label ids (README of github.com/Helsinki-NLP/XED).
EMOTIONS = {1: "anger", 2: "anticipation", 3: "disgust", 4: "fear",
            5: "joy", 6: "sadness", 7: "surprise", 8: "trust"}
#: The README says neutral is 0; neu_en.txt actually uses 9. Accept both.
NEUTRAL_IDS = {"0", "9"}
LAYOUT = "<root>/xed/<lang>-annotated.tsv [+ neu_<lang>.txt] (AnnotatedData/ of github.com/Helsinki-NLP/XED)"


def _annotated(language: str) -> str:
    return f"{language}-annotated.tsv"


def locate(root: Path, language: str = "en") -> Path:
    folder = root / "xed"
    return find_dataset_dir(root, [folder, folder / "AnnotatedData", root], [_annotated(language)], LAYOUT)


def _parse_ids(field: str) -> tuple[str, ...] | None:
    """"1, 4, 7" -> ("anger", "fear", "surprise"); None when any id is not 1-8."""
    names: list[str] = []
    for part in field.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) not in EMOTIONS:
            return None
        names.append(EMOTIONS[int(part)])
    return tuple(dict.fromkeys(names)) or None


def _read_annotated(path: Path, language: str, meta: dict) -> list[dict]:
    rows = []
    for number, line in read_lines(path):
        fields = line.split("\t")
        where = f"{path.name}:{number}"
        if len(fields) != 2 or not fields[0].strip():
            record_skip(meta, where, f"expected 'sentence<TAB>ids', got {len(fields)} field(s)")
            continue
        labels = _parse_ids(fields[1])
        if labels is None:
            record_skip(meta, where, f"label ids {fields[1]!r} are not in 1-8")
            continue
        rows.append({"uid": f"xed/{language}/{number}", "text": fields[0], "label": labels,
                     "source": "annotated"})
    return rows


def _read_neutral(path: Path, language: str, meta: dict) -> list[dict]:
    rows = []
    for number, line in read_lines(path):
        fields = line.split("\t")
        where = f"{path.name}:{number}"
        # 7 rows of neu_en.txt have trailing empty fields, one is only tabs: skipped as malformed.
        if len(fields) != 2 or not fields[1].strip():
            record_skip(meta, where, f"expected 'label<TAB>sentence', got {len(fields)} field(s)")
            continue
        if fields[0].strip() not in NEUTRAL_IDS:
            record_skip(meta, where, f"neutral label {fields[0]!r} is not 9 (or 0)")
            continue
        rows.append({"uid": f"xed/{language}/neutral/{number}", "text": fields[1],
                     "label": ("neutral",), "source": "neutral"})
    return rows


@register("xed", locate)
def load_xed(
    data_root: str | Path | None = None, language: str = "en", include_neutral: bool = True
) -> Corpus:
    """Load XED as multi-label tuples of emotion names; neutral rows get ``("neutral",)``.

    There is no official split (``split`` stays None; use a splitter). Malformed rows are
    skipped, counted in ``meta['skipped_rows']`` and explained in ``meta['skip_reasons']``.
    """
    root = resolve_root(data_root)
    folder = locate(root, language)
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "source": str(folder)}
    rows = _read_annotated(folder / _annotated(language), language, meta)
    neutral = folder / f"neu_{language}.txt"
    meta["neutral_file"] = None
    if include_neutral:
        if neutral.is_file():
            rows += _read_neutral(neutral, language, meta)
            meta["neutral_file"] = neutral.name
        else:
            warnings.warn(f"XED: no neutral file {neutral}; loading annotated rows only", stacklevel=2)
    table = pd.DataFrame(rows, columns=["uid", "text", "label", "source"])
    return Corpus("xed" if language == "en" else f"xed_{language}", table, root=folder,
                  multi_label=True, meta=meta)
