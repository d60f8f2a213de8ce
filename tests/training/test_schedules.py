import torch

from affectlab.training import TrainingConfig
from affectlab.training.schedules import epoch_schedule, step_schedule


def _lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def test_linear_per_step_warms_up_then_decays_to_zero():
    cfg = TrainingConfig(lr=1.0, scheduler="linear", scheduler_interval="step", warmup_ratio=0.2)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    lrs = _lrs(step_schedule(cfg, opt, 10), opt, 10)
    assert lrs[0] < lrs[1] < lrs[2] == max(lrs)  # 2 warm-up steps
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] < 0.2
    assert epoch_schedule(cfg, opt) is None  # a per-step schedule is not stepped per epoch


def test_cosine_per_step_and_per_epoch_are_distinct_settings():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    per_epoch = TrainingConfig(scheduler="cosine", epochs=4)
    assert step_schedule(per_epoch, opt, 100) is None and epoch_schedule(per_epoch, opt) is not None
