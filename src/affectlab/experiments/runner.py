"""Run one experiment: corpus → labels → features → model → trainer → reports → pipeline."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from .._io import stable_hash, write_json, write_text
from ..corpora import apply_split, check_leakage, load_corpus
from ..corpora.corpus import Corpus
from ..errors import ConfigError
from ..evaluation.metrics import tune_threshold
from ..evaluation.reports import write_run_report
from ..features.base import FeatureSet, Variant
from ..features.context import context_index, with_context
from ..features.layers import STACK_LAST4
from ..features.text import extract_text_features
from ..labels import auto_label, scheme_and_mapping
from ..labels.scheme import LabelScheme
from ..models import create_model, model_arguments, model_inputs
from ..pipeline import Pipeline, build_spec
from ..training import ArrayDataset, Trainer, TrainResult, build_loss, seed_everything
from ..training.trainer import predict_proba
from ..registry import Registry
from .config import ExperimentConfig, config_identity, dump_config
from .split_summary import print_split_summary, split_summary
from .provenance import git_commit, package_versions

console = Console(stderr=True)
SPLITS = ("train", "dev", "test")
#: Splitters that ignore who is speaking: combined with a speaker column they leak speakers.
RANDOM_SPLITTERS = {"random", "stratified_kfold"}


@dataclass
class PreparedData:
    corpus: Corpus
    scheme: LabelScheme
    y: np.ndarray
    notes: dict[str, Any]


@dataclass
class RunResult:
    run_dir: Path
    results: dict[str, Any]
    skipped: bool = False


def run_id(config: ExperimentConfig) -> str:
    """Runs are named by a hash of their resolved config (the data root is not part of it)."""
    return f"{config.name}-{stable_hash(config_identity(config), 10)}"


def prepare_data(config: ExperimentConfig, data_root: str | Path | None = None) -> PreparedData:
    """Load, split and label the corpus; rows whose label a mapping drops are removed and counted."""
    if config.data.split.options.get("fold") == "all":
        raise ConfigError("split option fold: all means cross-validation: run it with `affectlab run` "
                          "or experiments.cv.run_cross_validation, or set one fold (0, 1, ...)")
    root = data_root or config.data.data_root
    corpus = load_corpus(config.data.corpus, root, **config.data.options)
    corpus = apply_split(corpus, config.data.split.name, **config.data.split.options)  # own seed: fixed split across model seeds
    scheme, mapping = scheme_and_mapping(config.labels)  # registered or declared in the config
    table = corpus.table
    column = config.labels.column
    if config.labels.labeller:
        table = table.copy()
        column = "auto_label"
        table[column] = auto_label(table["text"].fillna("").astype(str).tolist(),
                                   config.labels.labeller, **config.labels.labeller_options)
    if column not in table.columns:
        raise ConfigError(f"label column {column!r} is not in corpus "
                          f"{corpus.name!r}; columns: {list(table.columns)}")
    raw = table[column].tolist()
    notes: dict[str, Any] = {"rows_loaded": len(table), "leakage": check_leakage(corpus)}
    if config.data.split.name in RANDOM_SPLITTERS and table["speaker"].notna().any():
        for warning in notes["leakage"]:  # a random split of a corpus with speakers: say so loudly
            console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if mapping is not None:
        if mapping.target != scheme.name:
            raise ConfigError(f"mapping {mapping.name!r} produces {mapping.target!r} labels, "
                              f"but the config asks for scheme {scheme.name!r}")
        scheme = mapping.target_scheme()  # multi-label when the mapping yields label sets
        mapped = mapping.apply(raw)
        keep = np.array([m is not None and m != () for m in mapped])
        notes["rows_dropped_by_mapping"] = int((~keep).sum())
        table = table[keep].copy()
        table["target"] = [m for m, k in zip(mapped, keep) if k]
    else:
        table = table.copy()
        table["target"] = raw
    source = "text" if config.features.modality == "text" else config.features.modality
    empty = table[source].fillna("").astype(str).str.strip() == ""
    if empty.any():
        notes[f"rows_dropped_empty_{source}"] = int(empty.sum())
        table = table[~empty]
    missing = [s for s in SPLITS if s != "dev" and s not in set(table["split"].dropna())]
    if missing:
        raise ConfigError(f"corpus {corpus.name!r} has no {missing} split after splitting with "
                          f"{config.data.split.name!r}; choose a splitter that makes train/dev/test")
    corpus = corpus.with_table(table)
    y = scheme.encode(table["target"].tolist())
    notes["splits"] = split_summary(table, y, scheme.classes)
    if config.training.progress:
        print_split_summary(notes["splits"], console)
    return PreparedData(corpus, scheme, y, notes)


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
        out[name] = ArrayDataset(inputs, data.y[index])
    return out


def build_model(config: ExperimentConfig, input_dim: int, n_classes: int):
    """The model a config describes, and the kwargs that rebuild it (stored in the pipeline).
    Settings a model does not take (an aggregator for a CNN) are left out."""
    kwargs = model_arguments(
        config.model.name, input_dim=input_dim, n_classes=n_classes, hidden=config.model.hidden,
        dropout=config.model.dropout, aggregator=config.model.aggregator,
        layer_mix=4 if config.features.layers == STACK_LAST4 else None)
    unknown = set(config.model.options) - set(model_arguments(config.model.name, **config.model.options))
    if unknown:
        raise ConfigError(f"model {config.model.name!r} takes no option(s) {sorted(unknown)}")
    kwargs.update(config.model.options)
    return create_model(config.model.name, **kwargs), kwargs


def build_augment(config: ExperimentConfig):
    """The training-batch augmentation a config asks for (stretch, then SpecAugment masks, on
    spectrograms), or None."""
    from ..training.augment import Chain, SpecAugment, SpecStretch

    spec, stretch = config.augment.spec_augment, config.augment.stretch
    steps = []
    if stretch.time or stretch.freq:
        steps.append(SpecStretch(time=stretch.time, freq=stretch.freq))
    if spec.freq_masks or spec.time_masks:
        steps.append(SpecAugment(freq_masks=spec.freq_masks, freq_width=spec.freq_width,
                                 time_masks=spec.time_masks, time_width=spec.time_width))
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else Chain(steps)


def build_loss_for(config: ExperimentConfig, y_train: np.ndarray, scheme: LabelScheme):
    options = {"label_smoothing": config.loss.label_smoothing}
    if config.loss.gamma is not None:
        options["gamma"] = config.loss.gamma
    return build_loss(config.loss.name, y_train, len(scheme), scheme.multi_label,
                      config.loss.class_weighting, config.loss.weight_clip, **options)


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


def prepare_run(config: ExperimentConfig, data_root: str | Path | None = None,
                data: PreparedData | None = None) -> PreparedRun:
    data = data or prepare_data(config, data_root)
    features = extract_for(config, data)
    data, features = _drop_skipped(data, features)
    variant = feature_variant(config)
    datasets = make_datasets(features, variant, data, config.features.context)
    if "dev" not in datasets:
        raise ConfigError("early stopping needs a 'dev' split; use a splitter with a validation part")
    shape = np.asarray(features.get(variant)).shape
    input_dim = shape[1] if model_inputs(config.model.name) == "spectrogram" else shape[-1]
    return PreparedRun(data, features, datasets, int(input_dim))


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
    data = PreparedData(data.corpus.with_table(data.corpus.table[keep]), data.scheme, data.y[keep], notes)
    features = FeatureSet({k: np.asarray(v)[keep] for k, v in features.arrays.items()},
                          [u for u, k in zip(features.uids, keep) if k],
                          None if features.mask is None else np.asarray(features.mask)[keep],
                          features.info, features.idf)
    return data, features


def is_finished(run_dir: Path) -> bool:
    return (run_dir / "results.json").is_file()


def load_results(run_dir: Path) -> dict[str, Any]:
    import json

    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def run_experiment(config: ExperimentConfig, *, data_root: str | Path | None = None,
                   out_dir: str | Path = "runs", force: bool = False,
                   prepared: PreparedRun | None = None, save_pipeline: bool = True,
                   extra: dict[str, Any] | None = None) -> RunResult:
    """Train and evaluate one configuration; write its run directory. A finished run is not
    repeated unless ``force`` (its results are returned instead)."""
    run_dir = Path(out_dir) / run_id(config)
    if is_finished(run_dir) and not force:
        return RunResult(run_dir, load_results(run_dir), skipped=True)
    started = time.perf_counter()
    prepared = prepared or prepare_run(config, data_root)
    generator = seed_everything(config.seed)
    model, model_kwargs = build_model(config, prepared.input_dim, len(prepared.data.scheme))
    loss = build_loss_for(config, prepared.datasets["train"].y, prepared.data.scheme)
    trainer = Trainer(model, loss, config.training, multi_label=prepared.data.scheme.multi_label,
                      augment=build_augment(config), generator=generator)
    fit = trainer.fit(prepared.datasets["train"], prepared.datasets["dev"])
    return finish_run(config, run_dir, prepared, trainer.model, model_kwargs, fit, started,
                      save_pipeline=save_pipeline, extra=extra)


def finish_run(config: ExperimentConfig, run_dir: Path, prepared: PreparedRun, model,
               model_kwargs: dict[str, Any], fit: TrainResult, started: float,
               save_pipeline: bool = True, extra: dict[str, Any] | None = None) -> RunResult:
    """Evaluate a trained model and write the run directory; ``results.json`` is written last,
    so a run directory without it is unfinished and will be redone."""
    data, datasets, fc = prepared.data, prepared.datasets, config.features
    multi_label = data.scheme.multi_label
    dev_probs = predict_proba(model, datasets["dev"], multi_label)
    threshold = None
    if multi_label:
        threshold = float(tune_threshold(datasets["dev"].y, dev_probs))  # validation only
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.rglob(".*.tmp"):  # left by a writer that was killed mid-write
        stale.unlink(missing_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    dev_report = write_run_report(run_dir / "dev", scheme_classes=data.scheme.classes,
                                  multi_label=multi_label, y_true=datasets["dev"].y,
                                  probs=dev_probs, split_name="dev", threshold=threshold, plots=False)
    test_probs = predict_proba(model, datasets["test"], multi_label)
    test_report = write_run_report(run_dir, scheme_classes=data.scheme.classes,
                                   multi_label=multi_label, y_true=datasets["test"].y,
                                   probs=test_probs, split_name="test", history=fit.history,
                                   threshold=threshold)
    np.save(run_dir / "dev_probs.npy", dev_probs)
    np.save(run_dir / "test_probs.npy", test_probs)
    np.save(run_dir / "test_labels.npy", np.asarray(datasets["test"].y))
    np.save(run_dir / "dev_labels.npy", np.asarray(datasets["dev"].y))  # ensembles weigh members on dev
    results = {
        "run_id": run_dir.name,
        "name": config.name,
        "status": "done",
        "seed": config.seed,
        "scheme": data.scheme.name,
        "variant": {"modality": fc.modality, "encoder": fc.encoder, "layers": fc.layers,
                    "pooling": fc.pooling, "mode": fc.mode, "context": fc.context},
        "model": config.model.name,
        "best_epoch": fit.best_epoch,
        "epochs_run": len(fit.history),
        "monitor": config.training.monitor,
        "best_val_score": fit.best_score,
        "threshold": threshold,
        "dev": dev_report,
        "test": test_report,
        "split_sizes": {k: len(v) for k, v in datasets.items()},
        "data": {"corpus": data.corpus.name, "fingerprint": data.corpus.fingerprint(), **data.notes},
        # per-row arrays (the audio valid-row index) stay out: `skipped` lists those rows by uid
        "features": {k: v for k, v in prepared.features.info.items() if not isinstance(v, np.ndarray)},
        "timing_s": {"train": fit.seconds, "total": time.perf_counter() - started},
        "versions": package_versions(),
        "git_commit": git_commit(),
        **(extra or {}),
    }
    if save_pipeline:
        spec = build_spec(features=fc.model_dump(mode="json"), model_name=config.model.name,
                          model_kwargs=model_kwargs, scheme=data.scheme, threshold=threshold or 0.5,
                          provenance={"run_id": run_dir.name, "corpus": data.corpus.name,
                                      "test_weighted_f1": test_report.get("weighted_f1"),
                                      "test_macro_f1": test_report.get("macro_f1")})
        Pipeline(spec, model.cpu(), data.scheme, prepared.features.idf).save(run_dir / "pipeline")
        results["pipeline"] = str(run_dir / "pipeline")
    write_json(run_dir / "results.json", results)
    return RunResult(run_dir, results)
