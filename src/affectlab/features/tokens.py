"""Token inputs for trainable text encoders: each utterance in its dialogue context.

An utterance becomes ``[CLS] past… [SEP] current [SEP] future… [SEP]``: up to ``past`` previous
turns (and ``future`` following turns, for offline analysis), each ``"Speaker: text"`` when
speakers are known. Truncation always keeps the current utterance: it is cut only when it alone
is longer than ``max_length``; context turns fill what is left, nearest first (a past turn keeps
its end, a future turn its start). ``focus`` marks the current utterance's tokens, so pooling
can read the utterance in context rather than the whole window; ``past`` marks the previous
turns' text tokens (what a context-vs-current comparison reads). Token ids stay integers and are
padded per batch (``collate``).

A row may bring its own previous turns instead (a ``context`` column holding a list of texts,
and ``context_speakers``): MUStARD's clips, or a service request with its context.

``tags`` names columns (scenario, topic) whose value becomes one special token right after
``[CLS]`` — ``[scenario=work]`` — learned like any embedding (``tag_vocabulary`` lists them
from the training rows, plus ``[scenario=?]`` for a value never seen in training).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .context import context_index


@dataclass(frozen=True)
class DialogueWindow:
    past: int = 0
    future: int = 0
    speakers: bool = True
    max_length: int = 128
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))  # a list from JSON reads the same

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.tags:  # windows saved before tags existed read the same
            del data["tags"]
        else:
            data["tags"] = list(self.tags)
        return data


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def tag_token(column: str, value: Any) -> str:
    """``[column=value]`` (lower case, spaces as ``_``); ``[column=?]`` for a missing value."""
    text = "?" if _blank(value) else re.sub(r"\s+", "_", str(value).strip().lower())
    return f"[{column}={text}]"


def tag_vocabulary(table: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The tag tokens a table's rows use (per column, sorted), each column's ``[c=?]`` first."""
    tokens: list[str] = []
    for column in columns:
        values = table[column].tolist() if column in table.columns else []
        tokens += [tag_token(column, None)] + sorted({tag_token(column, v) for v in values if not _blank(v)})
    return tokens


def _tag_ids(tokenizer, table: pd.DataFrame, columns: Sequence[str]) -> list[list[int]]:
    """Per row, one token id per tag column; values the tokenizer does not know read as ``?``."""
    if not columns:
        return [[] for _ in range(len(table))]
    vocab = tokenizer.get_vocab()
    per_column = []
    for column in columns:
        unknown = vocab.get(tag_token(column, None))
        if unknown is None:
            raise ValueError(f"the tokenizer has no tag tokens for {column!r}: load it with the "
                             "pipeline's added tokens")
        values = table[column].tolist() if column in table.columns else [None] * len(table)
        per_column.append([vocab.get(tag_token(column, v), unknown) for v in values])
    return [list(row) for row in zip(*per_column)] if per_column else [[] for _ in range(len(table))]


def turn_text(text: str, speaker: Any, with_speaker: bool) -> str:
    speaker = "" if speaker is None or (isinstance(speaker, float) and np.isnan(speaker)) else str(speaker).strip()
    return f"{speaker}: {text}" if with_speaker and speaker else str(text)


def _future_index(table: pd.DataFrame, window: int) -> np.ndarray:
    """[N, window] row indices of the next turns (nearest first; -1 where there is none)."""
    flipped = table[["dialogue", "turn"]].copy()
    flipped["turn"] = -pd.to_numeric(flipped["turn"], errors="coerce").fillna(0)
    index, _ = context_index(flipped, window)
    return index[:, :window][:, ::-1]


def _own_context(tokenizer, table: pd.DataFrame, window: DialogueWindow) -> dict[int, list[list[int]]]:
    """Rows that carry their previous turns themselves (a ``context`` column of lists of texts,
    optional ``context_speakers``; MUStARD, or a request with ``context``): row → its last
    ``window.past`` turns tokenised, nearest first. They take the place of a dialogue lookup."""
    if "context" not in table.columns:
        return {}
    speakers = table["context_speakers"] if "context_speakers" in table.columns else [None] * len(table)
    rows, texts = [], []
    for i, (turns, names) in enumerate(zip(table["context"], speakers)):
        if not isinstance(turns, (list, tuple, np.ndarray)) or len(turns) == 0:
            continue
        turns = list(turns)[-window.past:]
        names = list(names)[-len(turns):] if isinstance(names, (list, tuple, np.ndarray)) and len(names) else [None] * len(turns)
        names = [None] * (len(turns) - len(names)) + names
        rows.append((i, len(turns)))
        texts += [turn_text(str(t), n, window.speakers) for t, n in zip(turns, names)]
    if not texts:
        return {}
    ids = iter(tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"])
    return {i: [next(ids) for _ in range(n)][::-1] for i, n in rows}


def special_ids(tokenizer) -> tuple[int, int]:
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return int(start), int(end)


def token_items(tokenizer, table: pd.DataFrame, window: DialogueWindow) -> list[dict[str, Any]]:
    """One item per row of ``table`` (columns ``text``, optional ``speaker``/``dialogue``/``turn``):
    ``{"ids": [...], "focus": (first, last + 1)}``, plus ``"past": [(start, stop), ...]`` (each
    previous turn's text tokens) when the window holds any."""
    table = table.reset_index(drop=True)
    speakers = table["speaker"] if "speaker" in table.columns else pd.Series([None] * len(table))
    if "speaker_name" in table.columns:  # the name as said (MUStARD keys speakers by show/NAME)
        speakers = table["speaker_name"].where(table["speaker_name"].notna(), speakers)
    texts = [turn_text(t, s, window.speakers) for t, s in zip(table["text"].astype(str), speakers)]
    pieces = tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    has_dialogue = ("dialogue" in table.columns and bool(window.past or window.future)
                    and table["dialogue"].notna().any() and table["dialogue"].dropna().duplicated().any())
    if has_dialogue:
        frame = table[["dialogue"]].assign(turn=table["turn"] if "turn" in table.columns else 0)
        past = context_index(frame, window.past)[0][:, :window.past] if window.past else None
        future = _future_index(frame, window.future) if window.future else None
    own_context = _own_context(tokenizer, table, window) if window.past else {}
    start, end = special_ids(tokenizer)
    tags = _tag_ids(tokenizer, table, window.tags)
    items = []
    for i, current in enumerate(pieces):
        budget = window.max_length - 3 - len(tags[i])  # [CLS] tags… … [SEP] current [SEP]
        current = current[:window.max_length - 2 - len(tags[i])]
        budget -= len(current)
        before: list[list[int]] = []
        after: list[list[int]] = []
        if i in own_context or (has_dialogue and past is not None):
            earlier = own_context[i] if i in own_context else [pieces[j] for j in past[i][::-1] if j >= 0]
            for previous in earlier:  # nearest first
                if budget <= 1:
                    break
                piece = previous[-(budget - 1):] if len(previous) > budget - 1 else previous
                before.insert(0, piece)
                budget -= len(piece) + 1
        if has_dialogue and future is not None:
            for j in future[i]:
                if j < 0 or budget <= 1:
                    break
                piece = pieces[j][:budget - 1]
                after.append(piece)
                budget -= len(piece) + 1
        items.append(_item(start, end, tags[i], before, current, after))
    return items


def independent_token_items(tokenizer, texts: Sequence[str], speakers: Sequence[Any] | None,
                            window: DialogueWindow) -> list[dict[str, Any]]:
    """``token_items`` for texts that have no context (one-turn dialogues, no tag values): the
    same items without building a table, the serving path for a lone request."""
    speakers = speakers if speakers is not None else [None] * len(texts)
    pieces = tokenizer([turn_text(t, s, window.speakers) for t, s in zip(texts, speakers)],
                       add_special_tokens=False, truncation=False)["input_ids"]
    start, end = special_ids(tokenizer)
    tags = (_tag_ids(tokenizer, pd.DataFrame(index=range(len(texts))), window.tags) if window.tags
            else [[] for _ in texts])  # every tag reads as unknown
    return [_item(start, end, tags[i], [], current[:window.max_length - 2 - len(tags[i])], [])
            for i, current in enumerate(pieces)]


def _item(start: int, end: int, tags: list[int], before: list[list[int]], current: list[int],
          after: list[list[int]]) -> dict[str, Any]:
    """``[CLS] tags… past [SEP]… current [SEP] future [SEP]…``; without context or tags
    ``[CLS] current [SEP]``, the frozen encoder's input."""
    ids = [start, *tags]
    spans = []
    for piece in before:
        spans.append((len(ids), len(ids) + len(piece)))
        ids += piece + [end]
    first = len(ids)
    ids += current
    focus = (first, len(ids))
    ids.append(end)
    for piece in after:
        ids += piece + [end]
    item = {"ids": ids, "focus": focus}
    if any(stop > begin for begin, stop in spans):
        item["past"] = [(begin, stop) for begin, stop in spans if stop > begin]
    return item


class TokenCollate:
    """Pads a list of items to the batch's longest: ``{prefix}_ids``, ``_mask``, ``_focus``, and
    ``_past`` (previous turns' tokens) when any item in the batch has context."""

    def __init__(self, pad_id: int, prefix: str = "text") -> None:
        self.pad_id = int(pad_id)
        self.prefix = prefix

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        longest = max(len(item["ids"]) for item in items)
        ids = torch.full((len(items), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), longest), dtype=torch.long)
        focus = torch.zeros((len(items), longest), dtype=torch.float32)
        for row, item in enumerate(items):
            n = len(item["ids"])
            ids[row, :n] = torch.as_tensor(item["ids"], dtype=torch.long)
            mask[row, :n] = 1
            first, stop = item["focus"]
            focus[row, first:stop] = 1.0
            if stop <= first:  # an empty utterance: pool over everything real
                focus[row, :n] = 1.0
        batch = {f"{self.prefix}_ids": ids, f"{self.prefix}_mask": mask, f"{self.prefix}_focus": focus}
        if any(item.get("past") for item in items):
            past = torch.zeros((len(items), longest), dtype=torch.float32)
            for row, item in enumerate(items):
                for begin, stop in item.get("past", ()):
                    past[row, begin:stop] = 1.0
            batch[f"{self.prefix}_past"] = past
        return batch
