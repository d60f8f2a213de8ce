"""TESS, the Toronto Emotional Speech Set (Dupuis & Pichora-Fuller 2010).

Two actresses (OAF = older, aged 64; YAF = younger, aged 26) say "Say the word ___" for 200
words in 7 emotions: 2800 files named ``<OAF|YAF>_<word>_<emotion>.wav`` in folders
``<OAF|YAF>_<emotion>``. Folder names vary between copies (``OAF_Fear``, ``OAF_Sad``,
``OAF_Pleasant_surprise``, ``YAF_pleasant_surprised``), and one file is misnamed
``OA_bite_neutral.wav``: the speaker then comes from its folder (``meta['repaired_names']``).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataNotFoundError
from . import _speech
from ._common import record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = ("<root>/tess/<OAF|YAF>_<emotion>/<OAF|YAF>_<word>_<emotion>.wav, e.g. "
          "tess/OAF_angry/OAF_back_angry.wav (folders may sit one or two levels deeper, as in "
          "'TESS Toronto emotional speech set data/')")
SPEAKERS = {"OAF": "older adult female (64)", "YAF": "younger adult female (26)"}
#: File-name emotion codes -> the classes of the ``tess7`` scheme.
EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
            "neutral": "neutral", "ps": "pleasant_surprise", "sad": "sad"}
#: Spellings seen in folder (and some file) names.
_EMOTION_SPELLINGS = {**{k: k for k in EMOTIONS}, "pleasant_surprise": "ps",
                      "pleasant_surprised": "ps", "pleasantsurprise": "ps", "surprise": "ps",
                      "surprised": "ps", "anger": "angry", "fearful": "fear", "happiness": "happy",
                      "sadness": "sad"}
_FILE_RE = re.compile(
    r"^(?P<speaker>[A-Za-z]+)_(?P<word>.+?)_(?P<emotion>pleasant[_ -]?surprised?|[A-Za-z]+)$", re.IGNORECASE)
_FOLDER_RE = re.compile(r"^(?P<speaker>OAF|YAF)[_ -](?P<emotion>.+)$", re.IGNORECASE)
_DEPTH = 3  # speaker-emotion folders may be nested this deep below the tess folder


def _emotion_code(raw: str) -> str | None:
    return _EMOTION_SPELLINGS.get(re.sub(r"[\s-]+", "_", raw.strip().lower()))


def _holds_data(folder: Path) -> bool:
    return (any(_FOLDER_RE.match(d.name) for d in _speech.subdirs(folder))
            or any(_FOLDER_RE.match(f.stem) for f in _speech.wav_files(folder)))


def _find_data(folder: Path, depth: int = _DEPTH) -> Path | None:
    """The shallowest folder at or below ``folder`` holding ``OAF_*``/``YAF_*`` folders (or,
    flat, such wav files). Taking one folder avoids reading Kaggle's nested copy twice."""
    level = [folder]
    for _ in range(depth + 1):
        for candidate in level:
            if _holds_data(candidate):
                return candidate
        level = [d for c in level for d in _speech.subdirs(c)]
    return None


def locate(root: Path) -> Path:
    """The folder holding the ``OAF_*``/``YAF_*`` emotion folders, under ``<root>/tess``."""
    for candidate in _speech.child_named(root, "tess") + [root]:
        found = _find_data(candidate, _DEPTH if candidate != root else 0)
        if found is not None:
            return found
    raise DataNotFoundError(
        f"missing {root / 'tess' / 'OAF_angry'} (data root {root}); expected layout: {LAYOUT}"
    )


@register("tess", locate)
def load_tess(data_root: str | Path | None = None) -> Corpus:
    """Load TESS. ``label`` is the emotion name (``tess7`` classes; ``ps`` = pleasant_surprise),
    ``text`` is "Say the word <word>", ``speaker`` and ``group`` are ``OAF``/``YAF``; extras
    ``word``, ``emotion_code``, ``age_group`` (older/younger) and ``gender`` (female).
    ``audio`` is relative to ``corpus.root`` (the folder holding the emotion folders).
    Files whose name and folder disagree on speaker or emotion are skipped and counted.
    With two speakers the default split tests on one and trains on the other; dev is 10 % of
    the training speaker's clips (it only picks the epoch; test stays speaker-independent).
    """
    root = resolve_root(data_root)
    folder = locate(root)
    meta = _speech.new_meta(folder)
    meta["repaired_names"] = []

    def parse(path: Path, where: str) -> dict | None:
        match = _FILE_RE.match(path.stem)
        folder_match = _FOLDER_RE.match(path.parent.name)
        if not match:
            record_skip(meta, where, "not named <OAF|YAF>_<word>_<emotion>.wav")
            return None
        speaker, word = match["speaker"].upper(), match["word"].lower()
        emotion = _emotion_code(match["emotion"])
        folder_speaker = folder_match["speaker"].upper() if folder_match else None
        folder_emotion = _emotion_code(folder_match["emotion"]) if folder_match else None
        if speaker not in SPEAKERS and folder_speaker and folder_speaker.startswith(speaker):
            meta["repaired_names"].append(where)  # OA_bite_neutral.wav in OAF_neutral/
            speaker = folder_speaker
        if speaker not in SPEAKERS or emotion is None:
            record_skip(meta, where, f"unknown speaker {match['speaker']!r} or emotion {match['emotion']!r}")
            return None
        if folder_match and (folder_speaker != speaker or folder_emotion != emotion):
            record_skip(meta, where, f"file name says {speaker}/{emotion}, folder {path.parent.name}")
            return None
        return {
            "uid": f"tess/{speaker}_{word}_{emotion}", "text": f"Say the word {word}",
            "label": EMOTIONS[emotion], "speaker": speaker, "group": speaker, "word": word,
            "emotion_code": emotion, "age_group": "older" if speaker == "OAF" else "younger",
            "gender": "female",
        }

    rows = list(_speech.parsed(_speech.wav_files(folder, recursive=True), folder, meta, parse))
    meta["default_split"] = {"name": "group_kfold", "options": {"n_folds": 2, "fold": 0, "dev_fraction": 0.1}}
    return _speech.build("tess", rows, folder, meta, LAYOUT)
