"""Berlin EmoDB (Burkhardt et al. 2005): 10 German actors, 10 sentences, 7 emotions, 535 files.

File names ``wav/03a01Fa.wav``: speaker (2 digits), text code (3 characters), emotion letter
of the German word (W Ärger/anger, L Langeweile/boredom, E Ekel/disgust, A Angst/fear,
F Freude/happiness, T Trauer/sadness, N neutral) and a version letter.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataNotFoundError
from . import _speech
from ._common import record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = "<root>/emodb/wav/<speaker><text><emotion><version>.wav, e.g. emodb/wav/03a01Fa.wav"
#: Emotion letters -> the classes of the ``emodb7`` scheme.
EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
            "T": "sadness", "N": "neutral"}
#: Speaker -> (gender, age), from the database's documentation.
SPEAKERS = {"03": ("male", 31), "08": ("female", 34), "09": ("female", 21), "10": ("male", 32),
            "11": ("male", 26), "12": ("male", 30), "13": ("female", 32), "14": ("female", 35),
            "15": ("male", 25), "16": ("female", 31)}
#: Text codes -> the German sentence (from the database's documentation).
TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
_NAME_RE = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")
_FOLDERS = ("emodb", "EmoDB", "emo-db", "EMODB")


def locate(root: Path) -> Path:
    """The folder holding ``wav/`` (``<root>/emodb``, or ``root`` itself when its ``wav/``
    holds EmoDB-named files: a data root may well have an unrelated ``wav`` folder)."""
    for candidate in _speech.child_named(root, *_FOLDERS):
        if (candidate / "wav").is_dir():
            return candidate
    if any(_NAME_RE.match(f.stem) for f in _speech.wav_files(root / "wav")):
        return root
    raise DataNotFoundError(f"missing {root / 'emodb' / 'wav'} (data root {root}); expected layout: {LAYOUT}")


@register("emodb", locate)
def load_emodb(data_root: str | Path | None = None) -> Corpus:
    """Load EmoDB. ``label`` is the emotion name (``emodb7`` classes), ``text`` the German
    sentence of the text code, ``speaker`` and ``group`` the speaker number (``"03"``); extras
    ``text_code``, ``emotion_code`` (the German letter), ``version``, ``gender``, ``age``.
    ``audio`` is relative to ``corpus.root``. No official split: ``meta['default_split']`` is a
    speaker-independent ``group_kfold`` (5 folds; whole training speakers, about 10% of the
    training rows, form dev).
    """
    root = resolve_root(data_root)
    folder = locate(root)
    meta = _speech.new_meta(folder)

    def parse(path: Path, where: str) -> dict | None:
        match = _NAME_RE.match(path.stem)
        if not match or match.group(3) not in EMOTIONS:
            record_skip(meta, where, "not named <speaker><text><emotion><version>.wav (e.g. 03a01Fa.wav)")
            return None
        speaker, text_code, letter, version = match.groups()
        gender, age = SPEAKERS.get(speaker, (None, None))
        return {
            "uid": f"emodb/{path.stem}", "text": TEXTS.get(text_code), "label": EMOTIONS[letter],
            "speaker": speaker, "group": speaker, "text_code": text_code, "emotion_code": letter,
            "version": version, "gender": gender, "age": age,
        }

    rows = list(_speech.parsed(_speech.wav_files(folder / "wav"), folder, meta, parse))
    meta["default_split"] = {"name": "group_kfold",
                             "options": {"n_folds": 5, "fold": 0, "dev_fraction": 0.1}}
    return _speech.build("emodb", rows, folder, meta, LAYOUT)
