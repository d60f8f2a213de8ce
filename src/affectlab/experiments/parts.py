"""Build a run's parts from its config: model, loss (objective) and batch augmentation."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..features.layers import STACK_LAST4
from ..labels.scheme import LabelScheme
from ..models import create_model, model_arguments
from ..training import build_loss
from .config import ExperimentConfig

def build_model(config: ExperimentConfig, input_dim: int, n_classes: int,
                further_tasks: dict[str, int] | None = None, added_tokens: list[str] | None = None):
    """The model a config describes, and the kwargs that rebuild it (stored in the pipeline).
    Settings a model does not take (an aggregator for a CNN) are left out. With
    ``model.encoder`` the model is composed: the trainable encoder, then one head
    ``model.name`` over its vector per task (``label``, then ``further_tasks``: name → outputs);
    ``added_tokens`` (dialogue tags) get embedding rows in the encoder."""
    if config.model.encoder is not None:
        return build_composed(config, {"label": n_classes, **(further_tasks or {})}, added_tokens=added_tokens)
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


def build_objective(config: ExperimentConfig, prepared):
    """The loss of the primary task alone, or an ``Objective`` over it and every further task
    (``tasks:``), each task's class weights from its own labelled training rows."""
    from ..training.objectives import Objective, Task
    from .tasks import PRIMARY, labelled, objective_task

    data = prepared.data
    train = prepared.datasets["train"]
    kind = "multi_label" if data.scheme.multi_label else "single_label"
    primary = train.targets(PRIMARY)[PRIMARY]
    loss = build_loss_for(config, primary[labelled(kind, primary)], data.scheme)  # rows of other corpora may lack it
    dissonance = config.model.dissonance
    if not data.tasks and not data.sources and dissonance is None:
        return loss
    train_index = np.flatnonzero(data.corpus.table["split"].to_numpy() == "train")
    from torch import nn

    from ..models.composed import DISSONANCE

    extra = [Task(DISSONANCE, "score", nn.Identity(), dissonance.weight)] if dissonance is not None else []
    return Objective([Task(PRIMARY, kind, loss),
                      *(objective_task(config, t, train_index) for t in data.tasks.values()), *extra])


def build_callbacks(config: ExperimentConfig, model) -> list:
    """Per-epoch hooks a config implies: the strength of every adversarial head's gradient
    reversal, ramped from 0 to its ``coefficient`` over ``ramp_epochs``."""
    from ..training.callbacks import Ramp

    callbacks = []
    for name, task in config.tasks.items():
        if task.adversarial and task.ramp_epochs:
            reversal = model.heads[name].reversal
            callbacks.append(Ramp(lambda value, r=reversal: setattr(r, "coefficient", value),
                                  epochs=task.ramp_epochs, end=task.coefficient))
    return callbacks


def build_loss_for(config: ExperimentConfig, y_train: np.ndarray, scheme: LabelScheme):
    """The primary task's loss; the default ``ce`` means per-label BCE on a multi-label scheme."""
    options = {"label_smoothing": config.loss.label_smoothing}
    if config.loss.gamma is not None:
        options["gamma"] = config.loss.gamma
    name = "bce" if scheme.multi_label and config.loss.name == "ce" else config.loss.name
    return build_loss(name, y_train, len(scheme), scheme.multi_label,
                      config.loss.class_weighting, config.loss.weight_clip, **options)



def build_composed(config: ExperimentConfig, tasks: dict[str, int], weights_dir=None,
                   added_tokens: list[str] | None = None):
    """Encoder (``model.encoder``) → one head ``model.name`` per task; returns the model and the
    spec that rebuilds it (each part's own config)."""
    from ..models.composed import ComposedModel
    from ..models.inputs import TOKENS
    from ..models.adversary import AdversarialHead
    from ..models.text_encoder import TrainableTextEncoder

    encoder = TrainableTextEncoder(config.model.encoder, weights_dir, added_tokens or ())
    heads, head_specs = {}, {}
    for task, n_out in tasks.items():
        kwargs = model_arguments(config.model.name, input_dim=encoder.out_dim, n_classes=n_out,
                                 hidden=config.model.hidden, dropout=config.model.dropout)
        kwargs.update(config.model.options)
        heads[task] = create_model(config.model.name, **kwargs)
        head_specs[task] = {"name": config.model.name, "kwargs": kwargs}
        if task in config.tasks and config.tasks[task].adversarial:
            heads[task] = AdversarialHead(heads[task], coefficient=0.0 if config.tasks[task].ramp_epochs
                                          else config.tasks[task].coefficient)
            head_specs[task]["adversarial"] = True
    spec = {"name": "composed", "encoders": {TOKENS.name: encoder.spec()}, "heads": head_specs}
    dissonance = None
    if config.model.dissonance is not None:
        from ..models.dissonance import DissonanceHead

        dissonance = DissonanceHead(encoder.out_dim, config.model.dissonance.hidden)
        spec["dissonance"] = {"input": TOKENS.name, **dissonance.spec()}
    return ComposedModel({TOKENS.name: encoder}, heads, dissonance, TOKENS.name), spec
