import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.training import MISSING, ArrayDataset, Objective, Task, Trainer, TrainingConfig
from affectlab.training.losses import CrossEntropy, MultiLabelBCE


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(4, 8)
        self.emotion = torch.nn.Linear(8, 3)
        self.intensity = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return {"emotion": self.emotion(h), "intensity": self.intensity(h)}


def _objective(weight=1.0):
    return Objective([Task("emotion", "single_label", CrossEntropy()),
                      Task("intensity", "regression", torch.nn.MSELoss(), weight=weight)])


def test_a_sample_without_a_label_is_left_out_of_that_task_only():
    outputs = {"emotion": torch.randn(4, 3), "intensity": torch.randn(4, 1)}
    targets = {"emotion": torch.tensor([0, MISSING, 2, MISSING]),
               "intensity": torch.tensor([[0.5], [0.1], [float("nan")], [0.9]])}
    losses = _objective(weight=2.0)(outputs, targets)
    ce = torch.nn.functional.cross_entropy(outputs["emotion"][[0, 2]], targets["emotion"][[0, 2]])
    mse = torch.nn.functional.mse_loss(outputs["intensity"][[0, 1, 3]], targets["intensity"][[0, 1, 3]])
    assert torch.allclose(losses["emotion"], ce) and torch.allclose(losses["intensity"], mse)
    assert torch.allclose(losses["total"], ce + 2.0 * mse)


def test_a_task_with_no_label_in_the_batch_adds_nothing_and_no_gradient():
    out = torch.randn(3, 3, requires_grad=True)
    losses = Objective([Task("emotion", "single_label", CrossEntropy())])(
        {"emotion": out}, {"emotion": torch.full((3,), MISSING)})
    losses["total"].backward()
    assert float(losses["total"]) == 0.0 and torch.count_nonzero(out.grad) == 0


def test_multilabel_rows_marked_nan_are_masked():
    task = Task("plutchik", "multi_label", MultiLabelBCE())
    target = torch.tensor([[1.0, 0.0], [float("nan"), float("nan")]])
    assert task.present(target).tolist() == [True, False]


def test_missing_output_is_a_clear_error():
    with pytest.raises(ConfigError, match="returns no output 'intensity'"):
        _objective()({"emotion": torch.randn(2, 3)}, {"emotion": torch.tensor([0, 1]),
                                                      "intensity": torch.zeros(2, 1)})


def test_trainer_fits_a_two_task_model_with_partly_labelled_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    emotion = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    emotion[::3] = MISSING  # a third of the rows carry no emotion label
    intensity = np.abs(x[:, 2:3]).astype(np.float32)
    intensity[1::3] = np.nan
    data = ArrayDataset({"x": x}, {"emotion": emotion, "intensity": intensity})
    cfg = TrainingConfig(epochs=30, lr=1e-2, patience=30, progress=False, device="cpu", monitor="accuracy")
    trainer = Trainer(TwoHeads(), _objective(), cfg)
    result = trainer.fit(data.take(np.arange(150)), data.take(np.arange(150, 200)))
    outputs = trainer.predict_outputs(data.take(np.arange(150, 200)))
    assert set(outputs) == {"emotion", "intensity"}
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    assert last < first * 0.7
