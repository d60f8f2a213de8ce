"""RAVDESS (Livingstone & Russo 2018): acted North-American English speech and song.

Every label comes from the official file name ``MM-VV-EE-II-SS-RR-AA.wav``: modality (03 =
audio-only), vocal channel (01 speech, 02 song), emotion, intensity (01 normal, 02 strong),
statement (01/02), repetition (01/02) and actor (01-24; odd = male, even = female).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError, DataFormatError, DataNotFoundError
from . import _speech
from ._common import record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = ("<root>/ravdess/Actor_01..Actor_24/03-VV-EE-II-SS-RR-AA.wav (the official "
          "Audio_Speech_Actors_01-24.zip / Audio_Song_Actors_01-24.zip, unpacked into one folder "
          "or each into its own Audio_{Speech,Song}_Actors_01-24/ folder)")
#: Emotion codes 01-08, spelled exactly as the classes of the ``ravdess8`` scheme.
EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
            "06": "fearful", "07": "disgust", "08": "surprised"}
CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
#: EmoBox's speaker-independent protocol: 6 folds of 4 test actors (by actor number).
EMOBOX_FOLDS = ((1, 11, 20, 21), (2, 12, 19, 22), (3, 13, 18, 23), (4, 14, 17, 24),
                (5, 9, 15, 16), (6, 7, 8, 10))
_NAME_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR_RE = re.compile(r"^actor_\d{1,2}$", re.IGNORECASE)
_RELEASE_DIR_RE = re.compile(r"^audio_(speech|song)_actors_01-24$", re.IGNORECASE)


def actor_name(number: int) -> str:
    """The ``speaker``/``group`` value of an actor: the official folder name ``Actor_07``."""
    return f"Actor_{number:02d}"


def _actor_dirs(folder: Path) -> list[Path]:
    direct = [d for d in _speech.subdirs(folder) if _ACTOR_DIR_RE.match(d.name)]
    nested = [a for d in _speech.subdirs(folder) if _RELEASE_DIR_RE.match(d.name)
              for a in _speech.subdirs(d) if _ACTOR_DIR_RE.match(a.name)]
    return direct + nested


def locate(root: Path) -> Path:
    """``<root>/ravdess`` (or ``root`` itself) when it holds ``Actor_XX`` folders."""
    for candidate in _speech.child_named(root, "ravdess") + [root]:
        if _actor_dirs(candidate):
            return candidate
    raise DataNotFoundError(
        f"missing {root / 'ravdess' / 'Actor_01'} (data root {root}); expected layout: {LAYOUT}"
    )


def _channels(channels: Sequence[str] | str) -> set[str]:
    wanted = [channels] if isinstance(channels, str) else list(channels)
    if not wanted or any(c not in CHANNELS.values() for c in wanted):
        raise ConfigError(f"RAVDESS channels must be a non-empty subset of ['speech', 'song'], got {wanted}")
    return set(wanted)


@register("ravdess", locate)
def load_ravdess(data_root: str | Path | None = None,
                 channels: Sequence[str] | str = ("speech",)) -> Corpus:
    """Load RAVDESS audio-only files; ``channels`` picks speech and/or song (default speech).

    ``label`` is the emotion name (``ravdess8`` classes), ``text`` the statement, ``speaker``
    and ``group`` the actor as ``"Actor_01"``; extras: ``vocal_channel``, ``intensity``
    (normal/strong), ``statement`` and ``repetition`` (1/2), ``actor`` (int), ``gender``,
    ``emotion_code``. ``audio`` is relative to ``corpus.root``. Files named otherwise are
    skipped and counted in ``meta['skipped_rows']``; files of an unselected channel are
    counted in ``meta['other_channel_files']``. ``meta['folds']`` holds EmoBox's 6 folds
    (as ``group`` values) and ``meta['default_split']`` makes ``apply_split(corpus,
    "predefined")`` use ``group_folds`` fold 0.
    """
    wanted = _channels(channels)
    root = resolve_root(data_root)
    folder = locate(root)
    meta = _speech.new_meta(folder)
    meta["other_channel_files"] = 0

    def parse(path: Path, where: str) -> dict | None:
        match = _NAME_RE.match(path.stem)
        if not match:
            record_skip(meta, where, "not named MM-VV-EE-II-SS-RR-AA.wav")
            return None
        modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
        problems = [f"{what} code {code}" for what, code, known in (
            ("modality", modality, {"03"}), ("vocal channel", channel, CHANNELS),
            ("emotion", emotion, EMOTIONS), ("intensity", intensity, INTENSITIES),
            ("statement", statement, STATEMENTS), ("repetition", repetition, {"01", "02"}),
        ) if code not in known]
        if not 1 <= int(actor) <= 24:
            problems.append(f"actor code {actor}")
        if problems:
            record_skip(meta, where, "unknown " + ", ".join(problems))
            return None
        if CHANNELS[channel] not in wanted:
            meta["other_channel_files"] += 1
            return None
        number = int(actor)
        return {
            "uid": f"ravdess/{path.stem}", "text": STATEMENTS[statement],
            "label": EMOTIONS[emotion], "speaker": actor_name(number), "group": actor_name(number),
            "vocal_channel": CHANNELS[channel], "intensity": INTENSITIES[intensity],
            "statement": int(statement), "repetition": int(repetition), "actor": number,
            "gender": "male" if number % 2 else "female", "emotion_code": emotion,
        }

    files = [f for d in _actor_dirs(folder) for f in _speech.wav_files(d)]
    rows = list(_speech.parsed(files, folder, meta, parse))
    if not rows and meta["other_channel_files"]:
        raise DataFormatError(
            f"{folder}: no RAVDESS {' or '.join(sorted(wanted))} files, but "
            f"{meta['other_channel_files']} of the other vocal channel; pass channels=('speech', 'song')"
        )
    meta["channels"] = sorted(wanted)
    meta["folds"] = [[actor_name(a) for a in fold] for fold in EMOBOX_FOLDS]
    meta["default_split"] = {"name": "group_folds", "options": {"fold": 0}}
    return _speech.build("ravdess", rows, folder, meta, LAYOUT, sort=("actor", "uid"))
