"""Explanations beside live predictions.

Integrated Gradients hooks the embedding layer while it runs, so it must not share a model with
requests being predicted at the same time; each served pipeline gets its own torch copy, loaded
from its directory on first use (the ONNX backends have no gradients to follow) and explained
one request at a time. A reload serves new copies: the cache is keyed by the pipeline object.
"""
from __future__ import annotations

import threading
import weakref

from ..pipeline import Pipeline


class Explainers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copies: "weakref.WeakKeyDictionary[Pipeline, tuple[Pipeline, threading.Lock]]" = weakref.WeakKeyDictionary()

    def _copy(self, served: Pipeline) -> tuple[Pipeline, threading.Lock]:
        with self._lock:
            found = self._copies.get(served)
            if found is None:
                path = served.path
                copy = Pipeline.load(path, device="cpu") if path is not None else served
                found = self._copies[served] = (copy, threading.Lock())
            return found

    def explain(self, served: Pipeline, text: str, **options):
        copy, lock = self._copy(served)
        with lock:
            return copy.explain(text, **options)
