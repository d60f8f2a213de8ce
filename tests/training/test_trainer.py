import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.models import create_model
from affectlab.training import ArrayDataset, Trainer, TrainingConfig, build_loss, class_weights, seed_everything
from affectlab.training.losses import FocalLoss


def _blobs(n=300, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, d)).astype(np.float32) + np.eye(k, d)[y] * 3
    return ArrayDataset({"x": x}, y)


def test_focal_with_gamma_zero_is_cross_entropy():
    logits, target = torch.randn(10, 4), torch.randint(0, 4, (10,))
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, target), ce, atol=1e-6)
    assert FocalLoss(gamma=2.0)(logits, target) < ce  # easy examples down-weighted


def test_class_weights_favour_rare_classes_and_are_clipped():
    w = class_weights(np.array([0] * 98 + [1] * 2), 3, clip=10.0)
    assert w[1] > w[0] and w.max() <= 10.0


def test_loss_and_scheme_kind_must_match():
    with pytest.raises(ConfigError):
        build_loss("bce", np.zeros(3, dtype=int), 3, multi_label=False)
    with pytest.raises(ConfigError):
        build_loss("focal", np.zeros((3, 2)), 2, multi_label=True)


def test_trainer_learns_and_keeps_the_best_epoch():
    data = _blobs()
    gen = seed_everything(0)
    model = create_model("mlp", input_dim=8, n_classes=3, hidden=16)
    cfg = TrainingConfig(epochs=30, patience=5, progress=False, device="cpu", monitor="macro_f1")
    trainer = Trainer(model, build_loss("ce", data.y, 3, False), cfg, generator=gen)
    result = trainer.fit(data.take(np.arange(200)), data.take(np.arange(200, 300)))
    assert result.best_score > 0.75  # chance is 0.33
    assert len(result.history) <= 30 and result.best_epoch <= len(result.history)
    probs = trainer.predict_proba(data.take(np.arange(200, 300)))
    assert (probs.argmax(1) == data.y[200:]).mean() == pytest.approx(result.best_score, abs=0.1)


def test_balanced_sampler_draws_rare_classes_often():
    y = np.array([0] * 95 + [1] * 5)
    trainer = Trainer(create_model("mlp", input_dim=2, n_classes=2), build_loss("ce", y, 2, False),
                      TrainingConfig(balanced_sampler=True, batch_size=1000, progress=False, device="cpu"))
    drawn = torch.cat(trainer._batches(len(y), torch.as_tensor(y)))
    assert 0.3 < (torch.as_tensor(y)[drawn] == 1).float().mean() < 0.7


def test_multilabel_training_runs_with_bce():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    y = (x[:, :3] > 0).astype(np.float32)
    data = ArrayDataset({"x": x}, y)
    trainer = Trainer(create_model("mlp", input_dim=6, n_classes=3, hidden=16),
                      build_loss("bce", y, 3, True),
                      TrainingConfig(epochs=40, patience=40, progress=False, device="cpu", monitor="micro_f1"),
                      multi_label=True)
    result = trainer.fit(data.take(np.arange(80)), data.take(np.arange(80, 120)))
    assert result.best_score > 0.7


def test_a_long_epoch_logs_its_progress_where_no_bar_is_drawn(capsys, monkeypatch):
    """Background runs (stderr not a terminal) get a line per interval: how far, how fast."""
    from affectlab.training import trainer

    clock = iter([0.0, 400.0, 500.0, 900.0, 950.0, 0.0, 1.0])
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: next(clock))
    log = trainer._ProgressLog(steps=10, silent=False, every=300.0)
    for step in (1, 2, 3, 10):  # at 400 s (logged), 500 s (too soon), 900 s (logged), last step (never)
        log.step(step, rows=32 * step, loss_sum=1.5 * 32 * step)
    lines = capsys.readouterr().err.rstrip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("  batch 1/10 (10%), 0.1 rows/s, loss 1.5000, ~60 min left")
    assert lines[1].startswith("  batch 3/10 (30%)")
    silent = trainer._ProgressLog(steps=10, silent=True, every=0.0)
    silent.step(1, 32, 1.0)
    assert capsys.readouterr().err == ""
