"""GoEmotions (Reddit comments, 27 emotions + neutral, multi-label), official TSV release."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import DataFormatError
from ._common import choose_splits, find_dataset_dir, read_lines, register, require_file, resolve_root
from .corpus import Corpus

SPLITS = ("train", "dev", "test")
#: monologg's copy names the label list labels.txt, google-research's data/ folder emotions.txt.
LABEL_FILES = ("labels.txt", "emotions.txt")
LAYOUT = "<root>/goemotions/{train,dev,test}.tsv + labels.txt (text<TAB>label ids<TAB>comment id)"


def locate(root: Path, splits: Sequence[str] = SPLITS) -> Path:
    folder = root / "goemotions"
    return find_dataset_dir(root, [folder, folder / "data", root], [f"{s}.tsv" for s in splits], LAYOUT)


def _label_names(folder: Path) -> list[str]:
    path = next((folder / n for n in LABEL_FILES if (folder / n).is_file()), folder / LABEL_FILES[0])
    return [line.strip() for _, line in read_lines(require_file(path, LAYOUT)) if line.strip()]


def _read_split(path: Path, split: str, names: list[str]) -> list[dict]:
    rows = []
    for number, line in read_lines(path):
        fields = line.split("\t")
        ids = fields[1].split(",") if len(fields) == 3 else []
        if len(fields) != 3 or not all(i.strip().isdigit() for i in ids):
            raise DataFormatError(
                f"{path}:{number}: expected 'text<TAB>label ids<TAB>comment id', got {line[:80]!r}"
            )
        if any(int(i) >= len(names) for i in ids):
            raise DataFormatError(
                f"{path}:{number}: label id out of range for the {len(names)} names in the label "
                "file; the TSVs and labels.txt must come from the same folder"
            )
        rows.append({"uid": f"goemotions/{fields[2].strip()}", "text": fields[0],
                     "label": tuple(dict.fromkeys(names[int(i)] for i in ids)), "split": split})
    return rows


@register("goemotions", locate)
def load_goemotions(data_root: str | Path | None = None, splits: Sequence[str] | None = None) -> Corpus:
    """Load GoEmotions with labels as tuples of names (1-5 per comment).

    Read line by line, not with a CSV parser: texts contain unbalanced double quotes.
    """
    wanted = choose_splits("GoEmotions", splits, SPLITS)
    root = resolve_root(data_root)
    folder = locate(root, wanted)
    names = _label_names(folder)
    rows = [row for s in wanted for row in _read_split(folder / f"{s}.tsv", s, names)]
    table = pd.DataFrame(rows, columns=["uid", "text", "label", "split"])
    return Corpus("goemotions", table, root=folder, multi_label=True,
                  meta={"label_names": names, "source": str(folder)})
