"""Cached text features for a corpus: flat (one vector per utterance) or hierarchical."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np

from .._io import stable_hash
from .base import FeatureSet, Variant, encoder_fingerprint, resolve_encoder_path
from .cache import FeatureCache
from .encoder import TextEncoder
from .pooling import fit_idf, get_pooler
from .sentences import split_sentences

if TYPE_CHECKING:  # a type hint only: importing corpora pulls in sklearn (seconds at start-up)
    from ..corpora.corpus import Corpus

Mode = Literal["flat", "hierarchical"]


def _variant_file(variant: Variant, idf_tag: str) -> str:
    """IDF-pooled variants also depend on which rows the IDF was fitted on."""
    name = f"{variant[0]}__{variant[1]}"
    return f"{name}__idf-{idf_tag}" if get_pooler(variant[1]).needs_idf else name


def extract_text_features(
    corpus: Corpus,
    variants: Sequence[Variant],
    *,
    encoder: str | TextEncoder = "default",
    mode: Mode = "flat",
    idf_fit_split: str | None = "train",
    max_length: int = 128,
    max_sentences: int = 8,
    batch_size: int = 64,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: bool = True,
) -> FeatureSet:
    """Features for every row of ``corpus``; only variants missing from the cache are computed,
    all of them in a single pass over the texts."""
    variants = list(dict.fromkeys((str(l), str(p)) for l, p in variants))
    enc = encoder if isinstance(encoder, TextEncoder) else None
    encoder_name = enc.name if enc else str(encoder)
    if enc is None:
        fingerprint = encoder_fingerprint(resolve_encoder_path(encoder_name))
    else:
        fingerprint = enc.fingerprint
    needs_idf = any(get_pooler(p).needs_idf for _, p in variants)
    idf_uids: list[str] = []
    if needs_idf and idf_fit_split is not None:
        idf_uids = corpus.table.loc[corpus.table["split"] == idf_fit_split, "uid"].tolist()
    key = {
        "corpus": corpus.fingerprint(),
        "encoder": fingerprint,
        "mode": mode,
        "max_length": max_length,
        "max_sentences": max_sentences if mode == "hierarchical" else None,
    }
    cache = FeatureCache(cache_dir, key)
    idf_tag = stable_hash(idf_uids, 12) if idf_uids else "all"
    idf_name = f"idf-{idf_tag}"
    missing = [v for v in variants if not (use_cache and cache.has(_variant_file(v, idf_tag)))]
    mask_name = "sentence_mask"
    if mode == "hierarchical" and use_cache and not cache.has(mask_name):
        missing = variants

    texts = corpus.table["text"].fillna("").astype(str).tolist()
    mask = None
    if missing:
        enc = enc or TextEncoder(encoder_name, device=device, max_length=max_length)
        idf = None
        if needs_idf:
            fit_texts = (
                corpus.table.loc[corpus.table["uid"].isin(set(idf_uids)), "text"].astype(str).tolist()
                if idf_uids else texts
            )
            idf = fit_idf(enc.token_ids(fit_texts), enc.vocab_size)
            if use_cache:
                cache.save(idf_name, idf)
        computed, mask = encode_texts(enc, texts, missing, mode=mode, idf=idf, batch_size=batch_size,
                                      max_sentences=max_sentences, progress=progress)
        if mask is not None and use_cache:
            cache.save(mask_name, mask)
        for variant, array in computed.items():
            if use_cache:
                cache.save(_variant_file(variant, idf_tag), array)
    arrays = {}
    for variant in variants:
        if not missing or variant not in missing:
            arrays[variant] = cache.load(_variant_file(variant, idf_tag))
        else:
            arrays[variant] = computed[variant]
    if mode == "hierarchical" and mask is None:
        mask = cache.load(mask_name)
    idf_table = None
    if needs_idf:
        idf_table = np.asarray(cache.load(idf_name)) if not missing or use_cache else idf
    return FeatureSet(
        idf=idf_table,
        arrays=arrays,
        uids=corpus.table["uid"].tolist(),
        mask=mask,
        info={"encoder": encoder_name, "encoder_fingerprint": fingerprint, "mode": mode,
              "cache_dir": str(cache.dir), "computed": [list(v) for v in missing]},
    )


def encode_texts(
    enc: TextEncoder,
    texts: Sequence[str],
    variants: Sequence[Variant],
    *,
    mode: Mode = "flat",
    idf: np.ndarray | None = None,
    batch_size: int = 64,
    max_sentences: int = 8,
    progress: bool = False,
) -> tuple[dict[Variant, np.ndarray], np.ndarray | None]:
    """Uncached encoding shared by corpus extraction and pipelines at prediction time.

    Returns the arrays and, in hierarchical mode, the [N, S] sentence mask (else None).
    """
    if mode == "flat":
        return enc.encode(texts, variants, idf=idf, batch_size=batch_size, progress=progress), None
    return _encode_hierarchical(enc, list(texts), variants, idf, batch_size, max_sentences, progress)


def _encode_hierarchical(enc, texts, variants, idf, batch_size, max_sentences, progress):
    sentences: list[str] = []
    owner: list[int] = []
    position: list[int] = []
    for row, text in enumerate(texts):
        for index, sentence in enumerate(split_sentences(text)[:max_sentences]):
            sentences.append(sentence)
            owner.append(row)
            position.append(index)
    flat = enc.encode(sentences, variants, idf=idf, batch_size=batch_size, progress=progress,
                      desc="sentence features")
    n_rows, width = len(texts), max(position) + 1 if position else 1
    mask = np.zeros((n_rows, width), dtype=np.float32)
    mask[owner, position] = 1.0
    out = {}
    for variant, array in flat.items():
        grid = np.zeros((n_rows, width) + array.shape[1:], dtype=np.float32)
        grid[owner, position] = array
        out[variant] = grid
    return out, mask
