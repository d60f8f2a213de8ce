import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.models import create_model
from affectlab.training import ArrayDataset, Trainer, TrainingConfig, build_loss, seed_everything
from affectlab.training.batched import BatchedTrainer
from affectlab.training.mixup import mix_batch


def test_mix_batch_mixes_inputs_not_masks_and_repeats_with_the_seed():
    batch = {"x": torch.randn(6, 4), "mask": torch.ones(6, 3)}
    a = mix_batch(batch, 0.4, torch.Generator().manual_seed(1))
    b = mix_batch(batch, 0.4, torch.Generator().manual_seed(1))
    mixed, perm, lam = a
    assert 0.0 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(6))
    assert torch.equal(mixed["x"], b[0]["x"]) and lam == b[2]
    assert torch.allclose(mixed["x"], lam * batch["x"] + (1 - lam) * batch["x"][perm])
    assert mixed["mask"] is batch["mask"]


def _data(n=90):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 8)).astype(np.float32) + y[:, None]
    return ArrayDataset({"x": x}, y)


def _fit(seed, config):
    data = _data()
    generator = seed_everything(seed)
    model = create_model("mlp", input_dim=8, n_classes=3, hidden=8, dropout=0.0)
    trainer = Trainer(model, build_loss("ce", data.y, 3, False), config, generator=generator)
    return trainer.fit(data, data), trainer.predict_proba(data)


def test_trainer_with_mixup_learns_and_is_reproducible():
    config = TrainingConfig(epochs=30, patience=30, batch_size=16, lr=5e-3, mixup_alpha=0.4, progress=False, device="cpu")
    (first, probs1), (second, probs2) = _fit(3, config), _fit(3, config)
    np.testing.assert_array_equal(probs1, probs2)
    assert first.best_score > 0.7  # separable classes are still learned under mixing
    plain, _ = _fit(3, config.model_copy(update={"mixup_alpha": 0.0}))
    assert plain.history[0]["train_loss"] != pytest.approx(first.history[0]["train_loss"])


def test_batched_trainer_refuses_mixup():
    data = _data()
    config = TrainingConfig(epochs=2, mixup_alpha=0.2, progress=False, device="cpu")
    model = create_model("mlp", input_dim=8, n_classes=3)
    with pytest.raises(ConfigError, match="mixup"):
        BatchedTrainer([model], [build_loss("ce", data.y, 3, False)], config, [torch.Generator()])
