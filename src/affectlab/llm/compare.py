"""Score a sample of a config's corpus with a pipeline and a chat model, side by side
(``affectlab compare-llm``): how often they agree, and each one's figures against the gold labels."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..evaluation.metrics import classification_metrics
from ..experiments.config import ExperimentConfig
from ..experiments.data import prepare_data
from ..experiments.evaluate import pipeline_task
from .client import ChatLabeler


def compare_llm(pipeline, labeler: ChatLabeler, config: ExperimentConfig, split: str = "test", limit: int = 200,
                seed: int = 0, data_root: str | Path | None = None, rows_out: str | Path | None = None,
                progress: bool = True) -> dict[str, Any]:
    """Both models on ``limit`` random rows of ``split`` (all rows if fewer); the report holds
    ``agreement`` (share of equal labels, Cohen's kappa, each model's accuracy / weighted-F1 /
    macro-F1 on the rows both labelled) and ``per_class`` F1 and predicted shares."""
    data = prepare_data(config, data_root, need=(split,))
    if data.scheme.multi_label:
        raise ConfigError("compare-llm compares single-label schemes (the chat model names one label); "
                          f"{config.labels.scheme!r} is multi-label")
    classes = list(data.scheme.classes)
    task = pipeline_task(pipeline, tuple(classes))
    rows = np.flatnonzero((data.corpus.table["split"] == split).to_numpy())
    if not len(rows):
        raise ConfigError(f"the config's corpus has no {split!r} rows")
    chosen = np.sort(np.random.default_rng(seed).choice(rows, min(limit, len(rows)), replace=False))
    table = data.corpus.table.iloc[chosen]
    gold = np.asarray(data.y)[chosen]
    ours = pipeline.predict_outputs([], table=table)[task].argmax(1)
    answers = [labeler.label(str(text), classes)
               for text in tqdm(table["text"], desc=f"asking {labeler.model}", unit="text", disable=not progress)]
    index = {c: i for i, c in enumerate(classes)}
    theirs = np.array([index[a.label] if a.label is not None else -1 for a in answers])
    sources = pd.Series([a.source for a in answers]).value_counts().to_dict()
    both = theirs >= 0
    figures = {"pipeline": classification_metrics(gold[both], ours[both], classes),
               "llm": classification_metrics(gold[both], theirs[both], classes)}
    agreement = {"agreement": float((ours[both] == theirs[both]).mean()) if both.any() else 0.0,
                 "cohen_kappa": float(cohen_kappa_score(ours[both], theirs[both], labels=list(range(len(classes)))))
                 if both.sum() > 1 else 0.0,
                 **{f"{who}_{k}": round(f[k], 4) for who, f in figures.items()
                    for k in ("accuracy", "weighted_f1", "macro_f1")}}
    per_class = {c: {"pipeline_f1": round(figures["pipeline"]["per_class"][c]["f1"], 4),
                     "llm_f1": round(figures["llm"]["per_class"][c]["f1"], 4),
                     "support": figures["pipeline"]["per_class"][c]["support"],
                     "pipeline_predicted": int((ours[both] == i).sum()), "llm_predicted": int((theirs[both] == i).sum())}
                 for i, c in enumerate(classes)}
    if rows_out is not None:
        pd.DataFrame({"uid": table["uid"].to_numpy(), "text": table["text"].to_numpy(),
                      "gold": [classes[g] for g in gold], "pipeline": [classes[o] for o in ours],
                      "llm": [classes[t] if t >= 0 else "" for t in theirs], "llm_source": [a.source for a in answers],
                      "llm_raw": [a.raw for a in answers]}).to_csv(rows_out, index=False)
    return {"model": labeler.model, "endpoint": labeler.url, "corpus": data.corpus.name, "split": split,
            "task": task, "rows": int(len(chosen)), "labelled_by_both": int(both.sum()),
            "answers_from_llm": int(sources.get("llm", 0)), "answers_from_cache": int(sources.get("cache", 0)),
            "keyword_fallback": int(sources.get("keywords", 0)), "unanswered": int((~both).sum()),
            "agreement": {k: round(float(v), 4) for k, v in agreement.items()}, "per_class": per_class}
