"""MELD (Friends dialogues): the official ``{train,dev,test}_sent_emo.csv`` text annotations."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import DataFormatError
from ._common import choose_splits, find_dataset_dir, register, repair_text, resolve_root
from .corpus import Corpus

SPLITS = ("train", "dev", "test")
LAYOUT = "<root>/meld/{train,dev,test}_sent_emo.csv (data/MELD/ of github.com/declare-lab/MELD)"
_REQUIRED = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")
_INTS = ("Dialogue_ID", "Utterance_ID", "Season", "Episode")
#: Kept as extras; times stay MELD's "hh:mm:ss,ms" strings (positions in the episode).
_EXTRA = {"Season": "season", "Episode": "episode", "StartTime": "start_time", "EndTime": "end_time"}


def _file(split: str) -> str:
    return f"{split}_sent_emo.csv"


def locate(root: Path, splits: Sequence[str] = SPLITS) -> Path:
    """``<root>/meld`` or ``root`` itself when it already is the meld folder."""
    return find_dataset_dir(root, [root / "meld", root], [_file(s) for s in splits], LAYOUT)


def _read_split(path: Path, split: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"{path}: not a readable MELD CSV ({exc}); re-download it") from exc
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DataFormatError(
            f"{path}: missing columns {missing}; expected the header of the official "
            f"{_file(split)} (Sr No.,Utterance,Speaker,Emotion,...)"
        )
    try:
        ints = {c: raw[c].astype(int) for c in _INTS if c in raw.columns}
    except ValueError as exc:
        raise DataFormatError(f"{path}: non-integer value in {list(_INTS)} ({exc})") from exc
    dialogue, turn = ints["Dialogue_ID"], ints["Utterance_ID"]
    table = pd.DataFrame({
        "uid": [f"meld/{split}/d{d}/u{u}" for d, u in zip(dialogue, turn)],
        "text": raw["Utterance"],
        "label": raw["Emotion"].str.strip().str.lower(),
        "split": split,
        "speaker": raw["Speaker"],
        "dialogue": [f"{split}/{d}" for d in dialogue],
        "turn": turn,
        "sentiment": raw["Sentiment"].str.strip().str.lower(),
    })
    for source, column in _EXTRA.items():
        if source in raw.columns:
            table[column] = ints.get(source, raw[source])
    return table


@register("meld", locate)
def load_meld(data_root: str | Path | None = None, splits: Sequence[str] | None = None) -> Corpus:
    """Load MELD; ``splits`` restricts to some of train/dev/test.

    Dialogue ids restart in every split, so ``dialogue`` is ``"<split>/<Dialogue_ID>"``.
    Texts get C1/mojibake repair (see ``repair_text``); ``meta['repaired_texts']`` counts them.
    """
    wanted = choose_splits("MELD", splits, SPLITS)
    root = resolve_root(data_root)
    folder = locate(root, wanted)
    table = pd.concat([_read_split(folder / _file(s), s) for s in wanted], ignore_index=True)
    repaired = table["text"].map(repair_text)
    meta = {"repaired_texts": int((repaired != table["text"]).sum()), "source": str(folder)}
    table["text"] = repaired
    return Corpus("meld", table, root=folder, multi_label=False, meta=meta)
