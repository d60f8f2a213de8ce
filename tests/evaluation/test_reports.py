from __future__ import annotations

import json

import numpy as np
import pytest

from affectlab.errors import ConfigError, DataFormatError
from affectlab.evaluation import write_run_report

PNG = b"\x89PNG\r\n\x1a\n"
CLASSES = ["anger", "joy", "sadness", "neutral"]
HISTORY = [
    {"epoch": 1, "train_loss": 1.2, "val_loss": 1.1, "val_macro_f1": 0.30, "val_uar": 0.31},
    {"epoch": 2, "train_loss": 0.9, "val_loss": 1.0, "val_macro_f1": 0.42},  # a metric missing is a gap
    {"epoch": 3, "train_loss": 0.7, "val_loss": 0.95, "val_macro_f1": 0.47, "val_uar": 0.50},
]


def _is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == PNG


def test_single_label_report(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, len(CLASSES), 60)
    probs = rng.dirichlet(np.ones(len(CLASSES)), 60)
    result = write_run_report(tmp_path, scheme_classes=CLASSES, multi_label=False, y_true=y, probs=probs,
                              history=HISTORY, extra={"model": "tfidf_lr"})
    assert _is_png(tmp_path / "confusion_matrix.png")
    assert _is_png(tmp_path / "training_curves.png")
    text = (tmp_path / "cls_report.txt").read_text()
    for name in CLASSES + ["accuracy", "macro_f1", "weighted_f1", "uar", "model: tfidf_lr"]:
        assert name in text
    assert result["split"] == "test"
    assert result["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == y)))
    assert "ece" in result["calibration"]
    assert result["extra"] == {"model": "tfidf_lr"}
    json.dumps(result)  # caller writes it as results.json
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_multilabel_report(tmp_path):
    rng = np.random.default_rng(1)
    y = (rng.random((40, len(CLASSES))) < 0.3).astype(np.float32)
    probs = np.clip(y * 0.6 + rng.random(y.shape) * 0.4, 0, 1)
    result = write_run_report(tmp_path, scheme_classes=CLASSES, multi_label=True, y_true=y, probs=probs,
                              split_name="val", history=None, extra=None, threshold=0.4)
    assert _is_png(tmp_path / "confusion_matrix.png")  # per-label F1 chart under the same name
    assert not (tmp_path / "training_curves.png").exists()
    text = (tmp_path / "cls_report.txt").read_text()
    for name in CLASSES + ["micro_f1", "samples_f1", "split: val"]:
        assert name in text
    assert set(result["per_label"]) == set(CLASSES)
    assert result["threshold"] == 0.4
    assert result["files"] == ["cls_report.txt", "confusion_matrix.png"]
    json.dumps(result)


def test_report_rejects_bad_shapes(tmp_path):
    with pytest.raises(DataFormatError):
        write_run_report(tmp_path, scheme_classes=CLASSES, multi_label=False,
                         y_true=np.zeros(3, int), probs=np.full((3, 2), 0.5))
    with pytest.raises(ConfigError, match="multi-label"):
        write_run_report(tmp_path, scheme_classes=CLASSES, multi_label=False,
                         y_true=np.zeros(3, int), probs=np.full((3, 4), 0.25), threshold=0.3)
