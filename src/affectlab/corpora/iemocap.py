"""IEMOCAP (acted dyadic sessions): consensus labels from EmoEvaluation, text from transcriptions,
audio from ``sentences/wav``.

Only the official release layout is read; the audio is optional (``audio`` is None for an
utterance whose wav file is absent).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import DataNotFoundError
from ._common import read_lines, record_skip, register, resolve_root
from .corpus import Corpus

LAYOUT = ("<root>/iemocap/IEMOCAP_full_release/Session{1..5}/dialog/"
          "{EmoEvaluation,transcriptions}/<dialog>.txt (audio, optional: "
          "Session{n}/sentences/wav/<dialog>/<utterance id>.wav)")
#: Codes without an emotion: "xxx" = annotators disagreed, "oth" = other.
UNLABELLED = ("xxx", "oth")
_EVAL_RE = re.compile(
    r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[\s*([\d.]+),\s*([\d.]+),\s*([\d.]+)\s*\]"
)
_TRANS_RE = re.compile(r"^(Ses\S+)\s+\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]:\s?(.*)$")


def _sessions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("Session*") if (p / "dialog" / "EmoEvaluation").is_dir())


def locate(root: Path) -> Path:
    """The folder holding Session1..5 (the release folder, the iemocap folder or root)."""
    base = root / "iemocap"
    for candidate in (base / "IEMOCAP_full_release", base, root / "IEMOCAP_full_release", root):
        if _sessions(candidate):
            return candidate
    raise DataNotFoundError(
        f"missing {base / 'IEMOCAP_full_release' / 'Session1' / 'dialog' / 'EmoEvaluation'} "
        f"(data root {root}); expected layout: {LAYOUT}"
    )


def _dialog_files(directory: Path) -> list[Path]:
    # Skips the Categorical/Attribute/Self-evaluation subfolders and macOS "._" resource forks.
    return sorted(p for p in directory.glob("*.txt") if p.is_file() and not p.name.startswith("."))


def _transcripts(session: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in _dialog_files(session / "dialog" / "transcriptions"):
        for _, line in read_lines(path, errors="replace"):
            match = _TRANS_RE.match(line.strip())
            if match:
                texts[match.group(1)] = match.group(4).strip()
    return texts


def _wav_names(session: Path) -> dict[str, set[str]]:
    """Dialog -> wav file names in ``sentences/wav/<dialog>/`` (one listing per dialog folder)."""
    base = session / "sentences" / "wav"
    if not base.is_dir():
        return {}
    return {d.name: {n for n in os.listdir(d) if n.endswith(".wav") and not n.startswith(".")}
            for d in base.iterdir() if d.is_dir()}


def _evaluations(session: Path, meta: dict) -> list[dict]:
    rows = []
    wavs = _wav_names(session)
    for path in _dialog_files(session / "dialog" / "EmoEvaluation"):
        for number, line in read_lines(path, errors="replace"):
            if not line.startswith("["):
                continue  # header, blank lines and per-annotator "C-E1:"/"A-E1:" lines
            match = _EVAL_RE.match(line)
            if not match:
                record_skip(meta, f"{path.name}:{number}", "unparsable evaluation line")
                continue
            start, end, uid, code, v, a, d = match.groups()
            dialog, turn_name = uid.rsplit("_", 1)
            rows.append({
                "uid": uid, "label": code.lower(), "speaker": f"{uid[:5]}_{turn_name[0]}",
                "group": session.name, "dialogue": dialog, "start": float(start), "end": float(end),
                "valence": float(v), "arousal": float(a), "dominance": float(d),
                "audio": (f"{session.name}/sentences/wav/{dialog}/{uid}.wav"
                          if f"{uid}.wav" in wavs.get(dialog, ()) else None),
            })
    return rows


@register("iemocap", locate)
def load_iemocap(
    data_root: str | Path | None = None,
    sessions: Sequence[int] | None = None,
    drop_unlabelled: bool = False,
) -> Corpus:
    """Load IEMOCAP rows with the raw 3-letter consensus code as label (neu, hap, exc, ...).

    ``speaker`` is ``"Ses01_F"`` (one actor per session and gender); ``group`` is the session,
    so ``leave_one_group_out`` gives the usual leave-one-session-out protocol. ``audio`` is
    ``Session{n}/sentences/wav/<dialog>/<uid>.wav`` relative to ``corpus.root`` when that file
    exists, else None (counted in ``meta['missing_audio']``). ``drop_unlabelled`` removes
    ``xxx``/``oth``; by default they stay and the label mapping decides.
    """
    root = resolve_root(data_root)
    folder = locate(root)
    found = _sessions(folder)
    if sessions is not None:
        names = {f"Session{int(s)}" for s in sessions}
        found = [s for s in found if s.name in names]
        if len(found) != len(names):
            raise DataNotFoundError(
                f"IEMOCAP sessions {sorted(names)} requested, found {[s.name for s in _sessions(folder)]} "
                f"under {folder}; expected layout: {LAYOUT}"
            )
    meta: dict = {"skipped_rows": 0, "skip_reasons": [], "source": str(folder)}
    rows = []
    for session in found:
        texts = _transcripts(session)
        for row in _evaluations(session, meta):
            row["text"] = texts.get(row["uid"])
            rows.append(row)
    table = pd.DataFrame(rows)
    meta["missing_text"] = int(table["text"].isna().sum()) if len(table) else 0
    meta["missing_audio"] = int(table["audio"].isna().sum()) if len(table) else 0
    if drop_unlabelled and len(table):
        keep = ~table["label"].isin(UNLABELLED)
        meta["dropped_unlabelled"] = int((~keep).sum())
        table = table[keep]
    if len(table):
        table = table.sort_values(["dialogue", "start", "uid"], kind="stable")
        table["turn"] = table.groupby("dialogue").cumcount()
    return Corpus("iemocap", table, root=folder, multi_label=False, meta=meta)
