"""A tiny labelled conversation table and the base config that trains on it (shared by tests)."""
from pathlib import Path

import pandas as pd

from tests.conftest import CORPUS

LABELS = ["surprise", "joy", "anger", "surprise", "sadness", "joy", "anger", "joy", "disgust",
          "fear", "surprise", "neutral"]


def write_toy_csv(folder: Path) -> Path:
    rows = [{"id": f"{rep}-{i}", "utterance": text, "emotion": label,
             "part": ["train", "train", "dev", "test"][rep], "conv": f"c{rep}-{i // 4}", "idx": i % 4}
            for rep in range(4) for i, (text, label) in enumerate(zip(CORPUS, LABELS))]
    path = folder / "toy.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def toy_config(csv: Path, encoder: Path, cache: Path, **sections) -> dict:
    """Base config as a dict; ``sections`` like ``model={"hidden": 8}`` update a section."""
    data = {
        "name": "toy",
        "data": {"corpus": "tabular", "options": {"path": str(csv), "columns": {
            "uid": "id", "text": "utterance", "label": "emotion", "split": "part",
            "dialogue": "conv", "turn": "idx"}}},
        "labels": {"scheme": "meld7"},
        "features": {"encoder": str(encoder), "cache_dir": str(cache), "device": "cpu"},
        "model": {"name": "mlp", "hidden": 16},
        "training": {"epochs": 5, "patience": 3, "progress": False, "device": "cpu"},
    }
    for section, values in sections.items():
        data[section] = {**data[section], **values}
    return data
