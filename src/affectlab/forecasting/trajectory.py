"""A conversation's emotion trajectory: every turn predicted with its context, and the next
turn's forecast from the forecaster stored with the pipeline (``<pipeline>/forecaster/``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .models import Forecaster, ODEForecaster, load_forecaster
from .sequences import NextTurnSet, history_features, turn_gaps

#: where a pipeline folder keeps its forecaster
FORECASTER_DIR = "forecaster"


def forecast_task(pipeline, forecaster: Forecaster | None = None) -> str:
    """The task a conversation's trajectory follows: the forecaster's (e.g. the engine's MELD-7
    head ``meld``), otherwise the pipeline's primary task."""
    forecaster = forecaster if forecaster is not None else pipeline_forecaster(pipeline)
    task = getattr(forecaster, "task", None)
    return task if task in pipeline.tasks else pipeline.primary


def pipeline_forecaster(pipeline) -> Forecaster | None:
    """The forecaster saved beside ``pipeline`` (loaded once), or None when it has none, reads a
    task the pipeline lacks or that is not single-label, or was trained on other classes."""
    def build():
        folder = pipeline.path / FORECASTER_DIR if pipeline.path is not None else None
        if folder is None or not (folder / "forecaster.json").is_file():
            return None
        forecaster = load_forecaster(folder)
        spec = pipeline.tasks.get(forecaster.task or pipeline.primary)
        if spec is None or spec.kind != "single_label":
            return None
        n = getattr(forecaster, "n_classes", None)
        return forecaster if n in (None, len(spec.scheme.classes)) else None
    return pipeline.cached("forecaster", build)


def _task_view(prediction, task: str, primary: str) -> tuple[Any, dict[str, float]]:
    """One prediction's label and probabilities for ``task``."""
    if task == primary:
        return prediction.label, prediction.probabilities
    out = prediction.tasks[task]
    return out.get("label"), out.get("probabilities", {})


def next_turn_forecast(pipeline, predictions: Sequence, times: Sequence[float] | None = None,
                       history: int = 8) -> dict[str, Any] | None:
    """The next turn's distribution after a conversation's turns, as ``pipeline`` predicted them
    (``times``: their starts in seconds), from the pipeline's forecaster; None without one."""
    forecaster = pipeline_forecaster(pipeline)
    if forecaster is None or not len(predictions):
        return None
    task = forecast_task(pipeline, forecaster)
    classes = list(pipeline.tasks[task].scheme.classes)
    probs = np.array([[_task_view(p, task, pipeline.primary)[1][c] for c in classes] for p in predictions],
                     dtype=np.float32)
    gaps = turn_gaps(np.asarray(times, float) if times is not None else np.arange(len(probs), dtype=float))
    feats = history_features(probs, gaps)[-history:]
    x = np.zeros((1, history, feats.shape[1]), np.float32)
    x[0, :len(feats)] = feats
    data = NextTurnSet(x, np.array([len(feats)]), np.array([np.log1p(1.0)], np.float32), np.array([-1]))
    values = forecaster.predict_proba(data)[0]
    forecast: dict[str, Any] = {"method": forecaster.name, "task": task,
                                "probabilities": {c: round(float(v), 6) for c, v in zip(classes, values)}}
    if isinstance(forecaster, ODEForecaster):  # the ODE's state between the last turn and the next
        forecast["path"] = [{c: round(float(v), 6) for c, v in zip(classes, point)}
                            for point in forecaster.path(data, points=5)[0]]
    return forecast


def conversation_trajectory(pipeline, texts: Sequence[str], speakers: Sequence[str | None] | None = None,
                            times: Sequence[float] | None = None, history: int = 8) -> dict[str, Any]:
    """Per-turn label, probabilities, intensity (and the wheel state, for the engine) and the
    context the model read, for the task the forecaster follows (default: the primary one);
    then the forecast of the next turn (``times``: each turn's start in seconds; default one
    apart)."""
    if not texts:
        raise InputError("a trajectory needs at least one turn")
    speakers = list(speakers) if speakers is not None else [None] * len(texts)
    predictions = pipeline.predict_conversation(list(texts), speakers=speakers)
    task = forecast_task(pipeline)
    classes = list(pipeline.tasks[task].scheme.classes)
    window = pipeline.context_turns
    turns = []
    for i, prediction in enumerate(predictions):
        intensity = (prediction.tasks.get("intensity") or {}).get("values", {})
        label, probabilities = _task_view(prediction, task, pipeline.primary)
        turn = {"text": texts[i], "speaker": speakers[i], "label": label, "probabilities": probabilities,
                "intensity": next(iter(intensity.values()), None) if intensity else None,
                "context": list(texts[max(0, i - window):i]) if window else []}
        if "wheel" in prediction.extras:
            turn["wheel"] = prediction.extras["wheel"]
        turns.append(turn)
    forecast = next_turn_forecast(pipeline, predictions, times, history)
    return {"pipeline": pipeline.spec.get("provenance", {}).get("run_id", ""), "version": pipeline.version,
            "task": task, "classes": classes, "turns": turns, "forecast": forecast}
