"""Word attributions: Integrated Gradients on the token-embedding layer (Captum).

``explain(pipeline, text)`` integrates the gradient of one output (the predicted class by
default, or any class of any task) along the straight path from a baseline — the same window
with every word token replaced by ``[PAD]``, special tokens kept — to the text's embeddings.
Token scores are summed back into the words the user typed (by character offsets). The
convergence delta (attributions' sum minus the output's change from baseline to text) says how
good the approximation is: a large one asks for more steps.

Modes: ``fast`` (8 steps, every interpolation point in one batched forward/backward pass) and
``full`` (50 steps by default, in batches of 16). Works for frozen-feature text pipelines (the
plain-torch encoder, its pooling and the head are one differentiable function) and fine-tuned
ones (the composed model).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

import torch

from .errors import InputError

MODES = {"fast": {"steps": 8, "batch": None}, "full": {"steps": 50, "batch": 16}}


@dataclass
class Explanation:
    text: str
    task: str
    target: str
    probability: float
    words: list[tuple[str, float]]
    tokens: list[tuple[str, float]] = field(default_factory=list)
    delta: float = 0.0
    mode: str = "fast"
    steps: int = 8
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [{"word": w, "attribution": round(a, 6)} for w, a in self.words]
        data["tokens"] = [{"token": t, "attribution": round(a, 6)} for t, a in self.tokens]
        return data


class _Forward:
    """``ids -> the target output`` for one pipeline input (batched over interpolation points),
    and the embedding layer IG integrates along."""

    def __init__(self, pipeline, text: str) -> None:
        from .models.text_encoder import load_tokenizer

        self.pipeline = pipeline
        kind = pipeline.input_spec["kind"]
        if pipeline.modality != "text":
            raise InputError("explanations read text pipelines; this one reads audio")
        if kind == "tokens":
            spec = pipeline.input_spec
            added = pipeline.spec["model"].get("encoders", {}).get(spec.get("name", "text"), {}).get("added_tokens", ())
            self.tokenizer = load_tokenizer(spec["encoder"], added, fast=True)
            self.prefix = spec.get("name", "text")
            encoder = pipeline.model.encoders[self.prefix]
            self.layer = encoder.input_embeddings()
            self.max_length = spec["window"].get("max_length", 128)
            self._run = self._tokens
        else:
            from .features.encoder import TextEncoder

            features = pipeline.input_spec["features"]
            if features.get("mode") != "flat" or features.get("context"):
                raise InputError("explanations of frozen pipelines cover flat inputs without context")
            self.encoder = pipeline.cached("text_encoder", lambda: TextEncoder(
                features["encoder"], device="cpu", max_length=features["max_length"], fast=True))
            from .features import bert_reader

            if not isinstance(self.encoder.model, bert_reader.BertReader):
                raise InputError("explanations of frozen pipelines need the plain-torch BERT reader "
                                 "(a BERT-family encoder with model.safetensors and tokenizer.json)")
            self.tokenizer, self.layer = self.encoder.tokenizer, self.encoder.model.word
            self.max_length = features["max_length"]
            self.variant = (features["layers"], features["pooling"])
            self._run = self._frozen
        start, end = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        encoding = self.tokenizer._tokenizer.encode(text, add_special_tokens=False)
        keep = min(len(encoding.ids), self.max_length - 2)
        self.pieces = encoding.tokens[:keep]
        self.offsets = encoding.offsets[:keep]
        self.ids = torch.tensor([[start, *encoding.ids[:keep], end]])
        self.baseline = torch.tensor([[start, *[self.tokenizer.pad_token_id] * keep, end]])
        self.mask = torch.ones_like(self.ids)

    def __call__(self, ids: torch.Tensor, task: str, index: int) -> torch.Tensor:
        from .outputs import output_probs

        outputs = self._run(ids)
        kind = self.pipeline.tasks[task].kind
        return output_probs(kind, outputs[task])[:, index]

    def _tokens(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        n = ids.shape[0]
        focus = torch.zeros(ids.shape, dtype=torch.float32)
        focus[:, 1:-1] = 1.0
        return self.pipeline.model(**{f"{self.prefix}_ids": ids, f"{self.prefix}_mask": self.mask.expand(n, -1),
                                      f"{self.prefix}_focus": focus})

    def _frozen(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        from .features.pooling import content_mask
        from .features.variants import pool_variants

        mask = self.mask.expand(ids.shape[0], -1)
        hidden = list(self.encoder.model(ids, mask))
        while len(hidden) < 4:
            hidden.insert(0, hidden[0])
        pooled = pool_variants(torch.stack(hidden[-4:], dim=1), content_mask(mask), [self.variant], ids=ids,
                               idf=self.pipeline.idf)[self.variant]
        out = self.pipeline.model(x=pooled)
        return out if isinstance(out, dict) else {self.pipeline.primary: out}


def _words(text: str, pieces: list[str], offsets: list[tuple[int, int]], scores: list[float]) -> list[tuple[str, float]]:
    """Token scores summed into the whitespace-separated words of ``text`` they overlap."""
    import re

    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    totals = [0.0] * len(words)
    for (begin, stop), score in zip(offsets, scores):
        for i, (w_begin, w_end) in enumerate(words):
            if begin < w_end and stop > w_begin:
                totals[i] += score
                break
    return [(text[b:e], totals[i]) for i, (b, e) in enumerate(words)]


def explain(pipeline, text: str, task: str | None = None, target: str | None = None, mode: str = "fast",
            steps: int | None = None) -> Explanation:
    """Integrated Gradients for one text; ``target``: a class of ``task`` (default: the
    primary task's predicted class)."""
    from captum.attr import LayerIntegratedGradients

    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(text, str) or not text.strip():
        raise InputError("give a non-empty text to explain")
    started = time.perf_counter()
    task = task or pipeline.primary
    if task not in pipeline.tasks:
        raise InputError(f"the pipeline has no task {task!r}; it has {', '.join(pipeline.tasks)}")
    spec = pipeline.tasks[task]
    if spec.scheme is None:
        raise InputError(f"task {task!r} predicts values, not classes: explain a classification task")
    forward = _Forward(pipeline, text)
    was_training = pipeline.model.training
    pipeline.model.eval()
    with torch.no_grad():
        outputs = forward._run(forward.ids)
    from .outputs import output_probs

    row = output_probs(spec.kind, outputs[task])[0]
    classes = list(spec.scheme.classes)
    if target is None:
        index = int(row.argmax())
    elif target in classes:
        index = classes.index(target)
    else:
        raise InputError(f"task {task!r} has no class {target!r}; its classes: {', '.join(classes)}")
    settings = MODES[mode]
    n_steps = int(steps or settings["steps"])
    if n_steps < 2:
        raise InputError("steps must be at least 2")
    ig = LayerIntegratedGradients(lambda ids: forward(ids, task, index), forward.layer)
    attributions, delta = ig.attribute(forward.ids, baselines=forward.baseline, n_steps=n_steps,
                                       internal_batch_size=settings["batch"] or n_steps,
                                       return_convergence_delta=True)
    pipeline.model.train(was_training)
    scores = attributions.sum(dim=-1)[0, 1:-1].tolist()
    return Explanation(text, task, classes[index], float(row[index]), _words(text, forward.pieces, forward.offsets, scores),
                       list(zip(forward.pieces, scores)), float(delta.abs().max()), mode, n_steps,
                       time.perf_counter() - started)


def to_html(explanation: Explanation) -> str:
    """A self-contained page: each word shaded by its attribution (green for, red against)."""
    import html

    peak = max((abs(a) for _, a in explanation.words), default=1.0) or 1.0
    spans = []
    for word, score in explanation.words:
        alpha = min(1.0, abs(score) / peak)
        colour = f"rgba(0,150,0,{alpha:.2f})" if score >= 0 else f"rgba(200,0,0,{alpha:.2f})"
        spans.append(f'<span title="{score:+.4f}" style="background:{colour};padding:2px 3px;border-radius:3px">'
                     f"{html.escape(word)}</span>")
    return ("<!doctype html><meta charset='utf-8'><title>AffectLab explanation</title>"
            "<body style='font-family:sans-serif;max-width:48em;margin:2em auto'>"
            f"<h1 style='font-size:1.2em'>Why <b>{html.escape(explanation.target)}</b> "
            f"({explanation.probability:.2f}, task {html.escape(explanation.task)})</h1>"
            f"<p style='font-size:1.4em;line-height:2'>{' '.join(spans)}</p>"
            f"<p style='color:#666'>Integrated Gradients, {explanation.mode} mode, {explanation.steps} steps; "
            f"convergence delta {explanation.delta:.4f}. Green pushes towards the class, red away.</p></body>")


def _bare(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


def sanity_check(pipeline, items: Sequence[tuple[str, str]], mode: str = "fast", seed: int = 0,
                 neutral: Sequence[str] = ("neutral",)) -> dict[str, Any]:
    """Do attributions point at the word that carries the emotion? ``items`` are (text, word)
    pairs, each text holding one strongly emotional ``word``. Returns the share of texts whose
    largest attribution toward the predicted class falls on that word (``top_word_rate``), and
    the mean drop of the predicted class's probability when the top-attributed word is deleted
    against deleting a random other word (``deletion_drop_top`` vs ``deletion_drop_random``).
    Toward a ``neutral`` prediction the emotional word need not lead (it argues against it), so
    the rate is also given over the texts predicted as an emotion (``top_word_rate_emotional``)."""
    rng = np.random.default_rng(seed)
    hits, drops_top, drops_random, rows = 0, [], [], []
    for text, word in items:
        result = explain(pipeline, text, mode=mode)
        words = [w for w, _ in result.words]
        scores = np.array([a for _, a in result.words])
        top = int(scores.argmax())
        hit = _bare(words[top]) == _bare(word)
        hits += hit
        index = list(pipeline.scheme.classes).index(result.target)

        def without(i: int) -> float:
            rest = " ".join(w for j, w in enumerate(words) if j != i)
            return float(pipeline.predict_proba(rest)[0, index])

        others = [i for i in range(len(words)) if i != top]
        drops_top.append(result.probability - without(top))
        drops_random.append(result.probability - without(int(rng.choice(others))) if others else 0.0)
        rows.append({"text": text, "word": word, "top_word": words[top], "hit": bool(hit), "target": result.target})
    emotional = [r for r in rows if r["target"] not in neutral]
    return {"texts": len(items), "top_word_rate": hits / max(len(items), 1),
            "emotional_texts": len(emotional),  # predicted as an emotion, not as ``neutral``
            "top_word_rate_emotional": sum(r["hit"] for r in emotional) / max(len(emotional), 1),
            "deletion_drop_top": float(np.mean(drops_top)), "deletion_drop_random": float(np.mean(drops_random)),
            "mode": mode, "rows": rows}
