"""What the acted-speech loaders (RAVDESS, CREMA-D, TESS, SAVEE, EmoDB) share.

These corpora encode every label in the file name, so a loader is: find the wav files, parse
each name, skip (and count) what does not parse. Conventions common to all of them:

* ``audio`` is the file's path relative to ``corpus.root`` in POSIX form, so
  ``corpus.root / audio`` opens it (as for IEMOCAP) and the corpus fingerprint does not
  depend on where the data root lives;
* ``uid`` is ``"<corpus>/<file stem>"``; a second file with the same stem (a duplicated copy
  of the tree) is left out and counted in ``meta['duplicate_files']``;
* Git LFS pointer files (a clone without ``git lfs pull``) and empty files are skipped and
  counted; a tree holding nothing but pointers is an error that says what to run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from ..errors import DataFormatError
from ._common import record_skip
from .corpus import Corpus

_LFS_HEAD = b"version https://git-lfs"


def new_meta(folder: Path) -> dict:
    return {"skipped_rows": 0, "skip_reasons": [], "duplicate_files": 0, "lfs_pointers": 0,
            "source": str(folder)}


def wav_files(folder: Path, recursive: bool = False) -> list[Path]:
    """``*.wav`` files (any case) in ``folder``, sorted; hidden files and macOS ``._`` forks
    are ignored. ``recursive`` walks sub-folders too (skipping hidden ones)."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    walker: Iterable[tuple[str, list[str], list[str]]]
    walker = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for directory, subdirs, names in walker:
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(".wav") and not name.startswith("."):
                path = Path(directory) / name
                if path.is_file():
                    found.append(path)
    return found


def subdirs(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder``, sorted by name (empty when it is not a folder)."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def child_named(folder: Path, *names: str) -> list[Path]:
    """Sub-folders of ``folder`` whose name equals one of ``names`` ignoring case, in the
    order of ``names`` (a case-sensitive file system may hold ``tess`` and ``TESS``)."""
    wanted = [n.lower() for n in names]
    children = subdirs(folder)
    return [c for n in wanted for c in children if c.name.lower() == n]


def unreadable(path: Path, meta: dict, where: str) -> bool:
    """True (and counted as a skip) for an empty file or a Git LFS pointer."""
    size = path.stat().st_size
    if size == 0:
        record_skip(meta, where, "empty file")
        return True
    if size < 1024:
        with open(path, "rb") as handle:
            if handle.read(len(_LFS_HEAD)) == _LFS_HEAD:
                meta["lfs_pointers"] += 1
                record_skip(meta, where, "Git LFS pointer, not audio (run `git lfs pull`)")
                return True
    return False


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def parsed(files: Iterable[Path], root: Path, meta: dict, parse) -> Iterator[dict]:
    """Rows from ``parse(path, where) -> dict | None`` for each readable, not yet seen file;
    ``parse`` records its own skips. Adds ``audio`` and de-duplicates by ``uid``."""
    seen: dict[str, str] = {}
    for path in files:
        where = relative(path, root)
        if unreadable(path, meta, where):
            continue
        row = parse(path, where)
        if row is None:
            continue
        if row["uid"] in seen:
            meta["duplicate_files"] += 1
            continue
        seen[row["uid"]] = where
        row["audio"] = where
        yield row


def build(name: str, rows: list[dict], folder: Path, meta: dict, layout: str,
          sort: Iterable[str] = ("speaker", "uid")) -> Corpus:
    """The corpus, or one clear error when nothing usable was found."""
    if not rows:
        if meta["lfs_pointers"]:
            raise DataFormatError(
                f"{folder}: the {meta['lfs_pointers']} wav files are Git LFS pointers, not audio; "
                "run `git lfs pull` in the dataset repository"
            )
        reasons = "; ".join(meta["skip_reasons"][:3])
        raise DataFormatError(
            f"{folder}: no {name} audio files found ({meta['skipped_rows']} skipped"
            f"{': ' + reasons if reasons else ''}); expected layout: {layout}"
        )
    table = pd.DataFrame(rows).sort_values(list(sort), kind="stable")
    table["split"] = None
    return Corpus(name, table, root=folder, multi_label=False, meta=meta)
