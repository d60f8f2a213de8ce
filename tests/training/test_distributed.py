"""Two CPU processes (gloo, launched by torchrun) train the same model as one process with the
same global batch."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

SCRIPT = textwrap.dedent("""
    import sys, numpy as np, torch
    from affectlab.models import create_model
    from affectlab.training import ArrayDataset, Trainer, TrainingConfig, build_loss, distributed, seed_everything
    distributed.init_from_env()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    x = (rng.normal(size=(90, 6)) + np.eye(3, 6)[y] * 2).astype(np.float32)
    data = ArrayDataset({"x": x}, y)
    gen = seed_everything(0)
    model = create_model("mlp", input_dim=6, n_classes=3, hidden=8, dropout=0.0)
    cfg = TrainingConfig(epochs=3, batch_size=20, lr=1e-2, progress=False, device="cpu", grad_clip=None)
    Trainer(model, build_loss("ce", y, 3, False), cfg, generator=gen).fit(data.take(np.arange(70)), data.take(np.arange(70, 90)))
    if distributed.is_main():
        torch.save(model.state_dict(), sys.argv[1])
""")


def _train(tmp_path, processes: int):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"weights_{processes}.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(script), str(out)]
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={processes}", str(script), str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return torch.load(out)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built in")
def test_two_gloo_processes_train_the_same_model_as_one(tmp_path):
    one, two = _train(tmp_path, 1), _train(tmp_path, 2)
    for key in one:
        np.testing.assert_allclose(one[key].numpy(), two[key].numpy(), atol=1e-5)
