"""Model inputs for a loaded pipeline, one builder per declared input kind.

Each builder turns raw inputs (texts or audio paths) into batches for the model and yields
``(batch, rows)``: ``rows`` says which inputs the batch holds, so builders may reorder (token
windows are batched by length) and ``Pipeline.predict_outputs`` puts results back in order.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from .errors import InputError
from .registry import Registry

Batches = Iterator[tuple[dict[str, torch.Tensor], np.ndarray]]
INPUT_KINDS: Registry[Batches] = Registry("pipeline input kind")


def _dialogue_table(texts: Sequence[str], conversation: bool,
                    speakers: Sequence[str | None] | None, tags: Mapping[str, Any] | None = None,
                    table: "pd.DataFrame | None" = None) -> "pd.DataFrame":
    """Independent texts are one-turn dialogues; a conversation is one dialogue in order.
    ``tags`` gives each tag column one value for every text, or a list of one per text. A
    ``table`` (a corpus's rows: text, speaker, dialogue, turn, ...) is used as it is."""
    import pandas as pd  # here, not at import: a cold single prediction does not need it

    if table is not None:
        return table.reset_index(drop=True)

    n = len(texts)
    table = pd.DataFrame({"text": list(texts),
                          "speaker": list(speakers) if speakers is not None else [None] * n,
                          "dialogue": ["conversation"] * n if conversation else [None] * n,
                          "turn": range(n) if conversation else [0] * n})
    for column, value in (tags or {}).items():
        values = [value] * n if value is None or isinstance(value, str) else list(value)
        if len(values) != n:
            raise InputError(f"tag {column!r} has {len(values)} values for {n} texts: give one value, or one per text")
        table[column] = values
    return table


@INPUT_KINDS.register("vectors")
@INPUT_KINDS.register("spectrogram")
def frozen_features(pipeline, texts: list[str], *, batch_size: int, progress: bool,
                    conversation: bool, speakers=None, tags=None, table=None) -> Batches:
    """Frozen-encoder vectors (text or audio) or spectrograms, with optional turn context
    (speakers and tags are not read: these models were trained without them)."""
    spec = pipeline.input_spec
    features = spec["features"]
    if spec.get("modality", pipeline.modality) == "audio":
        from .features.audio import featurize_files, frontend_variant

        audio = features.get("audio", {})
        x = featurize_files(texts, features["encoder"],
                            variant=frontend_variant(features["encoder"], features["layers"], features["pooling"]),
                            preset=audio.get("preset", "ravdess"), max_seconds=audio.get("max_seconds"),
                            trim_silence=audio.get("trim_silence", False), batch_size=min(batch_size, 16),
                            device=features.get("device", "auto"), progress=progress)
        yield {"x": torch.as_tensor(np.asarray(x), dtype=torch.float32)}, np.arange(len(texts))
        return
    from .features.context import context_index, with_context
    from .features.encoder import TextEncoder
    from .features.text import encode_texts

    encoder = pipeline.cached("text_encoder", lambda: TextEncoder(
        features["encoder"], device=features.get("device", "auto"), max_length=features["max_length"], fast=True))
    variant = (features["layers"], features["pooling"])
    with pipeline._lock:  # one tokenizer, shared by threads
        arrays, mask = encode_texts(encoder, texts, [variant], mode=features["mode"], idf=pipeline.idf,
                                    batch_size=batch_size, max_sentences=features["max_sentences"],
                                    progress=progress)
    x = arrays[variant]
    window = int(features.get("context", 0))
    if window:
        index, mask = context_index(_dialogue_table(texts, conversation, None, table=table), window)
        x = with_context(x, index, mask)
    batch = {"x": torch.as_tensor(x, dtype=torch.float32)}
    if mask is not None:
        batch["mask"] = torch.as_tensor(mask, dtype=torch.float32)
    yield batch, np.arange(len(texts))


@INPUT_KINDS.register("tokens")
def token_windows(pipeline, texts: list[str], *, batch_size: int, progress: bool,
                  conversation: bool, speakers=None, tags=None, table=None) -> Batches:
    """Token windows for a trainable encoder, as in training (context, speakers, tags), by
    length. A tag the model was not trained with is not read; a missing one reads as unknown."""
    from .features.tokens import DialogueWindow, TokenCollate, independent_token_items, token_items
    from .models.text_encoder import load_tokenizer

    spec = pipeline.input_spec
    added = pipeline.spec["model"].get("encoders", {}).get(spec.get("name", "text"), {}).get("added_tokens", ())
    tokenizer = pipeline.cached("tokenizer", lambda: load_tokenizer(spec["encoder"], added, fast=True))
    window = DialogueWindow(**spec["window"])
    independent = table is None and not tags and (not conversation or len(texts) == 1)
    if not independent:
        table = _dialogue_table(texts, conversation, speakers, tags, table)
    with pipeline._lock:
        items = (independent_token_items(tokenizer, texts, speakers, window) if independent
                 else token_items(tokenizer, table, window))
    collate = TokenCollate(tokenizer.pad_token_id, prefix=spec.get("name", "text"))
    order = np.argsort([len(item["ids"]) for item in items], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        yield collate([items[i] for i in rows]), rows
