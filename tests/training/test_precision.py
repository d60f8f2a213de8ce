"""bf16 autocast in the shared trainer: it learns, keeps fp32 weights, and runs in bf16."""
import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.experiments.config import config_from_dict, config_identity
from affectlab.models import create_model
from affectlab.training import ArrayDataset, Trainer, TrainingConfig, build_loss, seed_everything
from affectlab.training.batched import BatchedTrainer


def _spectrograms(n=48):
    """Class k has its energy in mel band block k: easy, but only if the CNN trains at all."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 12, 16)).astype(np.float32)
    for i, label in enumerate(y):
        x[i, 4 * label : 4 * label + 4] += 3.0
    return ArrayDataset({"x": x}, y)


def test_bf16_training_learns_with_fp32_weights():
    data = _spectrograms()
    seed_everything(0)
    model = create_model("cnn", input_dim=12, n_classes=3, hidden=4, depth=2, dropout=0.0, input_norm="freq")
    seen = []
    model.body.register_forward_hook(lambda module, args, out: seen.append(out.dtype) if module.training else None)
    config = TrainingConfig(epochs=15, patience=15, batch_size=16, lr=1e-2, precision="bf16", progress=False,
                            device="cpu", monitor="accuracy")
    result = Trainer(model, build_loss("ce", data.y, 3, False), config).fit(data, data)
    assert result.best_score > 0.9
    assert seen and set(seen) == {torch.bfloat16}  # the convolutions ran in bf16
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_precision_default_keeps_run_ids_and_the_stacked_trainer_refuses_bf16():
    base = {"name": "x", "data": {"corpus": "meld"}, "labels": {"scheme": "meld7"}}
    plain = config_identity(config_from_dict(base))
    assert "precision" not in plain["training"]  # runs made before the option keep their ids
    assert config_identity(config_from_dict({**base, "training": {"precision": "bf16"}}))["training"]["precision"] == "bf16"
    model = create_model("mlp", input_dim=4, n_classes=2, hidden=4)
    with pytest.raises(ConfigError, match="fp32 only"):
        BatchedTrainer([model], [torch.nn.CrossEntropyLoss()], TrainingConfig(precision="bf16"),
                       [torch.Generator()])
