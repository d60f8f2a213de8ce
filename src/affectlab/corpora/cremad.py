"""CREMA-D (Cao et al. 2014): 91 actors, 12 sentences, 6 emotions at up to 4 intensity levels.

Labels come from the official file name ``<ActorID>_<sentence>_<emotion>_<level>.wav`` in
``AudioWAV/`` of github.com/CheyneyComputerScience/CREMA-D (Git LFS: run ``git lfs pull``).
Gender and age come from ``VideoDemographics.csv`` next to ``AudioWAV/`` when it is there.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataFormatError
from . import _speech
from ._common import find_dataset_dir, record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = "<root>/crema-d/AudioWAV/<ActorID>_<sentence>_<emotion>_<level>.wav, e.g. 1001_DFA_ANG_XX.wav"
#: Emotion codes -> the classes of the ``cremad6`` scheme.
EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
            "SAD": "sad"}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
#: Known misnamings (CREMA-D issue #6: ``1040_ITH_SAD_X.wav``, fixed upstream in 2022).
_LEVEL_REPAIRS = {"X": "XX"}
_FOLDERS = ("crema-d", "CREMA-D", "cremad", "CREMA_D")


def locate(root: Path) -> Path:
    """The folder holding ``AudioWAV/`` (``<root>/crema-d`` or ``root`` itself)."""
    candidates = [root / "crema-d"] + _speech.child_named(root, *_FOLDERS) + [root]
    return find_dataset_dir(root, candidates, ["AudioWAV"], LAYOUT)


def _demographics(folder: Path) -> dict[str, dict]:
    path = folder / "VideoDemographics.csv"
    if not path.is_file():
        return {}
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"{path}: not a readable CSV ({exc})") from exc
    if "ActorID" not in table.columns:
        raise DataFormatError(f"{path}: no ActorID column; expected ActorID,Age,Sex,Race,Ethnicity")
    info = {}
    for record in table.to_dict("records"):
        age = str(record.get("Age", "")).strip()
        info[str(record["ActorID"]).strip()] = {
            "gender": str(record.get("Sex", "")).strip().lower() or None,
            "age": int(age) if age.isdigit() else None,
        }
    return info


@register("cremad", locate)
def load_cremad(data_root: str | Path | None = None) -> Corpus:
    """Load CREMA-D audio. ``label`` is the emotion name (``cremad6`` classes), ``text`` the
    sentence, ``speaker`` and ``group`` the actor id (``"1001"``); extras ``sentence_code``,
    ``emotion_code``, ``intensity`` (low/medium/high/unspecified) and, with
    VideoDemographics.csv, ``gender`` and ``age``. ``audio`` is relative to ``corpus.root``.
    No official split: ``meta['default_split']`` is a speaker-independent ``group_kfold``.
    """
    root = resolve_root(data_root)
    folder = locate(root)
    meta = _speech.new_meta(folder)
    meta["repaired_names"] = []
    people = _demographics(folder)

    def parse(path: Path, where: str) -> dict | None:
        parts = path.stem.split("_")
        if len(parts) != 4 or not (parts[0].isdigit() and len(parts[0]) == 4):
            record_skip(meta, where, "not named <ActorID>_<sentence>_<emotion>_<level>.wav")
            return None
        actor, sentence, emotion, level = parts[0], parts[1].upper(), parts[2].upper(), parts[3].upper()
        if level in _LEVEL_REPAIRS:
            meta["repaired_names"].append(path.name)
            level = _LEVEL_REPAIRS[level]
        problems = [f"{what} code {code!r}" for what, code, known in (
            ("sentence", sentence, SENTENCES), ("emotion", emotion, EMOTIONS), ("level", level, LEVELS),
        ) if code not in known]
        if problems:
            record_skip(meta, where, "unknown " + ", ".join(problems))
            return None
        person = people.get(actor, {})
        return {
            "uid": f"cremad/{actor}_{sentence}_{emotion}_{level}", "text": SENTENCES[sentence],
            "label": EMOTIONS[emotion], "speaker": actor, "group": actor,
            "sentence_code": sentence, "emotion_code": emotion, "intensity": LEVELS[level],
            "gender": person.get("gender"), "age": person.get("age"),
        }

    rows = list(_speech.parsed(_speech.wav_files(folder / "AudioWAV"), folder, meta, parse))
    meta["default_split"] = {"name": "group_kfold",
                             "options": {"n_folds": 5, "fold": 0, "dev_fraction": 0.1}}
    corpus = _speech.build("cremad", rows, folder, meta, LAYOUT)
    if not people:
        corpus.table = corpus.table.drop(columns=["gender", "age"])
    return corpus
