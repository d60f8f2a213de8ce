"""MUStARD (TV-show sarcasm): target utterances with their dialogue context and official CV folds."""
from __future__ import annotations

import codecs
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataFormatError
from ._common import find_dataset_dir, register, require_file, resolve_root
from .corpus import Corpus

LAYOUT = "<root>/mustard/sarcasm_data.json [+ split_indices.p] (data/ of github.com/soujanyaporia/MUStARD)"
#: Upstream data_loader.py's speaker-independent setup tests on this show (its docstring says TBBT).
SPEAKER_INDEPENDENT_TEST_SHOW = "FRIENDS"


def locate(root: Path) -> Path:
    folder = root / "mustard"
    return find_dataset_dir(root, [folder, folder / "data", root], ["sarcasm_data.json"], LAYOUT)


class _FoldUnpickler(pickle.Unpickler):
    """split_indices.p only holds lists/tuples of numpy arrays; refuse anything else so a
    tampered file cannot run code."""

    _ALLOWED = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # numpy's array rebuild function, whichever module name the pickle used (numpy 1 / 2)
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
        ("_codecs", "encode"): codecs.encode,  # Python 3 pickles array bytes through it
    }

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        try:
            return self._ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"unexpected object {module}.{name} in split_indices.p"
            ) from None


def _read_folds(path: Path) -> list[tuple[list[int], list[int]]]:
    try:
        with require_file(path, LAYOUT).open("rb") as handle:
            folds = _FoldUnpickler(handle, encoding="latin1").load()
        return [(np.asarray(tr).astype(int).tolist(), np.asarray(te).astype(int).tolist())
                for tr, te in folds]
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
        raise DataFormatError(f"{path}: expected a pickled list of (train_idx, test_idx) ({exc})") from exc


def _fold_splits(folder: Path, fold: int, n_rows: int) -> list[str | None]:
    folds = _read_folds(folder / "split_indices.p")
    if not 0 <= fold < len(folds):
        raise ConfigError(f"MUStARD fold must be in 0..{len(folds) - 1}, got {fold}")
    train, test = folds[fold]
    if max(train + test, default=-1) >= n_rows:
        raise DataFormatError(
            f"{folder / 'split_indices.p'}: indices exceed the {n_rows} clips of sarcasm_data.json; "
            "use the two files from the same MUStARD release"
        )
    split: list[str | None] = [None] * n_rows
    for i in train:
        split[i] = "train"
    for i in test:
        split[i] = "test"
    return split


@register("mustard", locate)
def load_mustard(
    data_root: str | Path | None = None, fold: int | None = None, speaker_independent: bool = False
) -> Corpus:
    """Load MUStARD: one row per target utterance, label ``sarcastic``/``not_sarcastic``.

    ``fold`` (0-4) applies the paper's speaker-dependent 5-fold split from split_indices.p
    (indices follow the JSON key order); ``speaker_independent`` puts FRIENDS in test, the
    other shows in train. ``speaker`` is ``"<show>/<NAME>"`` because placeholder names
    (PERSON, PERSON1) recur across shows; the raw name is kept in ``speaker_name``.
    """
    if fold is not None and speaker_independent:
        raise ConfigError("MUStARD: choose either fold=... or speaker_independent=True, not both")
    root = resolve_root(data_root)
    folder = locate(root)
    path = folder / "sarcasm_data.json"
    try:
        clips = json.loads(path.read_text(encoding="utf-8"))
        table = pd.DataFrame([
            {"uid": f"mustard/{key}", "text": clip["utterance"],
             "label": "sarcastic" if clip["sarcasm"] else "not_sarcastic",
             "speaker": f"{clip['show']}/{clip['speaker']}", "group": clip["show"],
             "show": clip["show"], "speaker_name": clip["speaker"],
             "context": list(clip["context"]), "context_speakers": list(clip["context_speakers"])}
            for key, clip in clips.items()
        ])
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise DataFormatError(f"{path}: not the MUStARD clip dictionary ({exc!r})") from exc
    meta: dict = {"source": str(folder), "protocol": None}
    if fold is not None:
        table["split"] = _fold_splits(folder, fold, len(table))
        meta["protocol"] = f"speaker_dependent_fold{fold}"
    elif speaker_independent:
        table["split"] = np.where(table["show"] == SPEAKER_INDEPENDENT_TEST_SHOW, "test", "train")
        meta["protocol"] = "speaker_independent"
    return Corpus("mustard", table, root=folder, multi_label=False, meta=meta)
