"""Model inputs from what the model declares it reads: cached frozen features (vectors,
spectrograms) or token windows for a trainable encoder — one builder per input kind."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from ..errors import ConfigError
from ..features.base import FeatureSet, Variant
from ..features.context import context_index, with_context
from ..features.text import extract_text_features
from ..models import model_input_kind
from ..registry import Registry
from ..models.inputs import TOKENS
from ..training import ArrayDataset, CollatedDataset
from .config import ExperimentConfig
from .data import SPLITS, PreparedData, prepare_data
from .tasks import PRIMARY, labelled

console = Console(stderr=True)

def make_datasets(features: FeatureSet, variant, data: PreparedData,
                  context: int = 0) -> dict[str, ArrayDataset]:
    """Train/dev/test arrays for one feature variant; ``mask`` marks real sentences
    (hierarchical) or real previous turns (``context`` > 0)."""
    split = data.corpus.table["split"].to_numpy()
    x = np.asarray(features.get(variant), dtype=np.float32)
    turn_mask = None
    if context:
        if features.mask is not None:
            raise ConfigError("dialogue context works on flat features; set features.context: 0 "
                              "for hierarchical mode")
        index, turn_mask = context_index(data.corpus.table, context)
        x = with_context(x, index, turn_mask)
    out = {}
    for name in SPLITS:
        index = np.flatnonzero(split == name)
        if len(index) == 0:
            continue
        inputs = {"x": x[index]}
        if features.mask is not None:
            inputs["mask"] = np.asarray(features.mask)[index]
        elif turn_mask is not None:
            inputs["mask"] = turn_mask[index]
        out[name] = ArrayDataset(inputs, data.targets(index))
    return out


@dataclass
class PreparedRun:
    """Everything a config needs before training; shared by all seeds of one configuration."""

    data: PreparedData
    features: FeatureSet
    datasets: dict[str, ArrayDataset]
    input_dim: int


EXTRACTORS: Registry[FeatureSet] = Registry("modality")


@EXTRACTORS.register("text")
def _text_features(config: ExperimentConfig, data: PreparedData, variants: list[Variant]) -> FeatureSet:
    fc = config.features
    return extract_text_features(
        data.corpus, variants, encoder=fc.encoder, mode=fc.mode,
        max_length=fc.max_length, max_sentences=fc.max_sentences, batch_size=fc.batch_size,
        device=fc.device, cache_dir=fc.cache_dir, progress=config.training.progress,
    )


@EXTRACTORS.register("audio")
def _audio_features(config: ExperimentConfig, data: PreparedData, variants: list[Variant]) -> FeatureSet:
    from ..features.audio import extract_audio_features

    fc, audio = config.features, config.features.audio
    return extract_audio_features(
        data.corpus, fc.encoder, variants=variants, preset=audio.preset, max_seconds=audio.max_seconds,
        trim_silence=audio.trim_silence, on_error=audio.on_error, batch_size=fc.batch_size,
        device=fc.device, cache_dir=fc.cache_dir, progress=config.training.progress)


def feature_variant(config: ExperimentConfig) -> Variant:
    """The feature array a config trains on: (layers, pooling) for encoders; spectrogram and
    functional front-ends have one array each, named by the front-end."""
    fc = config.features
    if fc.modality == "audio":
        from ..features.audio import frontend_variant

        return frontend_variant(fc.encoder, fc.layers, fc.pooling)
    return (fc.layers, fc.pooling)


def extract_for(config: ExperimentConfig, data: PreparedData,
                variants: list[Variant] | None = None) -> FeatureSet:
    return EXTRACTORS.get(config.features.modality)(config, data, variants or [feature_variant(config)])


def input_kind(config: ExperimentConfig) -> str:
    """The kind of input the configured model declares: a trainable encoder reads tokens; a
    registered head reads what its registry entry says (vectors, spectrograms)."""
    if config.model.encoder is not None:
        return TOKENS.kind
    return model_input_kind(config.model.name)


#: How each kind of model input is built from prepared data (``prepare_run`` dispatches on it).
INPUT_BUILDERS: Registry[PreparedRun] = Registry("input kind")


@INPUT_BUILDERS.register("vectors")
@INPUT_BUILDERS.register("spectrogram")
def _feature_inputs(config: ExperimentConfig, data: PreparedData) -> PreparedRun:
    """Cached frozen features → in-memory arrays (the fast path of grids)."""
    features = extract_for(config, data)
    data, features = _drop_skipped(data, features)
    variant = feature_variant(config)
    datasets = make_datasets(features, variant, data, config.features.context)
    shape = np.asarray(features.get(variant)).shape
    input_dim = shape[1] if model_input_kind(config.model.name) == "spectrogram" else shape[-1]
    return PreparedRun(data, features, datasets, int(input_dim))


@INPUT_BUILDERS.register("tokens")
def _token_inputs(config: ExperimentConfig, data: PreparedData) -> PreparedRun:
    """Token windows (utterance + dialogue context) for a trainable encoder, padded per batch."""
    from ..features.tokens import TokenCollate, tag_vocabulary, token_items
    from ..models.text_encoder import load_tokenizer

    fc = config.features
    if fc.mode != "flat":
        raise ConfigError("a trainable encoder reads flat token windows; set features.mode: flat")
    window = token_window(config)
    table = data.corpus.table
    missing = [c for c in window.tags if c not in table.columns]
    if missing:
        raise ConfigError(f"features.tags {missing} are not columns of corpus {data.corpus.name!r}; "
                          f"columns: {list(table.columns)}")
    added = tag_vocabulary(table[table["split"] == "train"], window.tags)  # values seen in training
    tokenizer = load_tokenizer(config.model.encoder.path, added)
    items = token_items(tokenizer, table, window)
    collate = TokenCollate(tokenizer.pad_token_id, prefix=TOKENS.name)
    split = table["split"].to_numpy()
    datasets = {}
    for name in SPLITS:
        index = np.flatnonzero(split == name)
        if len(index):
            datasets[name] = CollatedDataset([items[i] for i in index], collate, data.targets(index),
                                             lengths=[len(items[i]["ids"]) for i in index],
                                             sampler=source_sampler(config, data, index) if name == "train" else None)
    info = {"window": window.to_dict(), "mean_tokens": float(np.mean([len(i["ids"]) for i in items])),
            **({"added_tokens": added} if added else {})}
    return PreparedRun(data, FeatureSet({}, list(table["uid"]), None, info), datasets, 0)


def source_sampler(config: ExperimentConfig, data: PreparedData, index: np.ndarray):
    """Several corpora: how each epoch draws training rows from them (``sampling``, pinned
    ``oversample`` sources); None for one corpus (every row once per epoch)."""
    if not data.sources:
        return None
    from ..training.sampling import GroupSampler

    ids = {name: i for i, name in enumerate(data.sources)}
    groups = data.corpus.table["source"].map(ids).to_numpy()[index]
    pinned = {ids[s.source_name]: s.oversample for s in config.sources if s.oversample}
    sampling = config.sampling
    if sampling.by == "corpus":
        return GroupSampler(groups, sampling.temperature, sampling.cap, pinned)
    # by task: pinned corpora stay whole; every other row counts for each task it labels
    free = ~np.isin(groups, list(pinned))
    members = {g: np.flatnonzero(groups == g) for g in pinned}
    primary = "multi_label" if data.scheme.multi_label else "single_label"
    labelled_by = {PRIMARY: labelled(primary, data.y[index]),
                   **{name: task.present(index) for name, task in data.tasks.items()
                      if not config.tasks[name].adversarial}}
    for offset, (name, present) in enumerate(labelled_by.items()):
        members[len(ids) + offset] = np.flatnonzero(present & free)
    return GroupSampler.of_members(members, sampling.temperature, sampling.cap, pinned)


def token_window(config: ExperimentConfig):
    from ..features.tokens import DialogueWindow

    fc = config.features
    return DialogueWindow(past=fc.context, future=fc.future, speakers=fc.speakers, max_length=fc.max_length,
                          tags=tuple(fc.tags))


def prepare_run(config: ExperimentConfig, data_root: str | Path | None = None,
                data: PreparedData | None = None) -> PreparedRun:
    data = data or prepare_data(config, data_root)
    prepared = INPUT_BUILDERS.get(input_kind(config))(config, data)
    if "dev" not in prepared.datasets:
        raise ConfigError("early stopping needs a 'dev' split: for a train/test release carve one from train "
                          "with data.split.options.dev_fraction: 0.1 (predefined), or use a splitter with a "
                          "validation part")
    return prepared


def _drop_skipped(data: PreparedData, features: FeatureSet) -> tuple[PreparedData, FeatureSet]:
    """Rows whose media could not be read (``on_error: skip``) leave the run, counted in notes."""
    skipped = {item["uid"] for item in features.info.get("skipped", [])}
    if not skipped:
        return data, features
    keep = ~data.corpus.table["uid"].isin(skipped).to_numpy()
    notes = {**data.notes, "rows_dropped_unreadable_media": int((~keep).sum())}
    console.print(f"[yellow]warning:[/yellow] skipped {int((~keep).sum())} unreadable file(s), e.g. "
                  f"{features.info['skipped'][0]['path']}: {features.info['skipped'][0]['reason']}",
                  highlight=False, soft_wrap=True)
    data = data.take(keep, notes)
    features = FeatureSet({k: np.asarray(v)[keep] for k, v in features.arrays.items()},
                          [u for u, k in zip(features.uids, keep) if k],
                          None if features.mask is None else np.asarray(features.mask)[keep],
                          features.info, features.idf)
    return data, features

