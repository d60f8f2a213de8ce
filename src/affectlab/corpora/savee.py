"""SAVEE, Surrey Audio-Visual Expressed Emotion (Haq & Jackson 2009): 4 male speakers.

Official layout ``AudioData/<DC|JE|JK|KL>/<code><nn>.wav`` with emotion codes a (anger),
d (disgust), f (fear), h (happiness), n (neutral), sa (sadness), su (surprise): 120 files per
speaker (30 neutral, 15 of each other emotion). The flat copy ``ALL/DC_a01.wav`` found on
Kaggle is read too. The sentences are TIMIT prompts that the code does not identify, so
``text`` is None.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataNotFoundError
from . import _speech
from ._common import record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = "<root>/savee/AudioData/<DC|JE|JK|KL>/<code><nn>.wav, e.g. savee/AudioData/DC/sa01.wav"
SPEAKERS = ("DC", "JE", "JK", "KL")
#: Emotion codes -> the classes of the ``savee7`` scheme.
EMOTIONS = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral",
            "sa": "sadness", "su": "surprise"}
_CODE_RE = re.compile(r"^(sa|su|a|d|f|h|n)(\d{2})$")
_FLAT_RE = re.compile(r"^([A-Za-z]{2})_(sa|su|a|d|f|h|n)(\d{2})$", re.IGNORECASE)


def _speaker_dirs(folder: Path) -> list[Path]:
    return [d for d in _speech.subdirs(folder / "AudioData") if d.name.upper() in SPEAKERS]


def _flat_dir(folder: Path) -> Path | None:
    flat = _speech.child_named(folder, "ALL")
    return flat[0] if flat else None


def locate(root: Path) -> Path:
    """The folder holding ``AudioData/<speaker>/`` (or Kaggle's ``ALL/``): ``<root>/savee``,
    or ``root`` itself when it holds ``AudioData/<speaker>/``."""
    for candidate in _speech.child_named(root, "savee"):
        if _speaker_dirs(candidate) or _flat_dir(candidate):
            return candidate
    if _speaker_dirs(root):  # the savee folder itself given as the root
        return root
    raise DataNotFoundError(
        f"missing {root / 'savee' / 'AudioData' / 'DC'} (data root {root}); expected layout: {LAYOUT}"
    )


@register("savee", locate)
def load_savee(data_root: str | Path | None = None) -> Corpus:
    """Load SAVEE audio. ``label`` is the emotion name (``savee7`` classes), ``speaker`` and
    ``group`` the speaker initials (DC, JE, JK, KL); extras ``sentence`` (the number nn within
    the emotion), ``emotion_code`` and ``gender`` (all male). ``audio`` is relative to
    ``corpus.root``. With 4 speakers the default split is leave-one-speaker-out
    (``group_kfold`` with 4 folds, one training speaker moved to dev).
    """
    root = resolve_root(data_root)
    folder = locate(root)
    meta = _speech.new_meta(folder)

    def parse(path: Path, where: str) -> dict | None:
        if path.parent.parent.name == "AudioData":
            speaker, match = path.parent.name.upper(), _CODE_RE.match(path.stem.lower())
            code, number = (match.group(1), match.group(2)) if match else (None, None)
        else:
            flat = _FLAT_RE.match(path.stem)
            speaker, code, number = (flat.group(1).upper(), flat.group(2).lower(), flat.group(3)) \
                if flat else (None, None, None)
        if code is None or speaker not in SPEAKERS:
            record_skip(meta, where, "not named <code><nn>.wav in AudioData/<DC|JE|JK|KL>/")
            return None
        return {
            "uid": f"savee/{speaker}_{code}{number}", "text": None, "label": EMOTIONS[code],
            "speaker": speaker, "group": speaker, "sentence": int(number), "emotion_code": code,
            "gender": "male",
        }

    files = [f for d in _speaker_dirs(folder) for f in _speech.wav_files(d)]
    flat = _flat_dir(folder)
    if flat is not None:
        files += _speech.wav_files(flat)
    rows = list(_speech.parsed(files, folder, meta, parse))
    meta["default_split"] = {"name": "group_kfold",
                             "options": {"n_folds": 4, "fold": 0, "dev_fraction": 0.1}}
    return _speech.build("savee", rows, folder, meta, LAYOUT)
