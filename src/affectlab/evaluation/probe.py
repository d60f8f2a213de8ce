"""Linear probes: how much of a property a frozen representation still carries.

A logistic regression is fitted on the representation of training rows and scored on held-out
rows. For the engine's adversarial domain head the property is the source corpus: with gradient
reversal working, the probe's accuracy falls towards the majority baseline; without it, a
text's corpus is read off its vector almost perfectly.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 seed: int = 0) -> dict[str, Any]:
    """Accuracy and balanced accuracy of a standardised logistic regression, beside chance
    (the majority class of the test rows, and 1 / classes for balanced accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(train_x, train_y)
    predicted = probe.predict(test_x)
    classes, counts = np.unique(test_y, return_counts=True)
    return {"accuracy": float((predicted == test_y).mean()),
            "balanced_accuracy": float(balanced_accuracy_score(test_y, predicted)),
            "majority_baseline": float(counts.max() / counts.sum()),
            "chance_balanced": 1.0 / len(classes),
            "train_rows": int(len(train_y)), "test_rows": int(len(test_y))}
