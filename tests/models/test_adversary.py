"""Gradient reversal: identity forward, -coefficient x gradient backward; ramped by the runner."""
import torch

from affectlab.models.adversary import AdversarialHead, GradientReversal
from affectlab.training.callbacks import Ramp


def test_forward_is_identity_and_backward_is_reversed_and_scaled():
    x = torch.randn(4, 3, requires_grad=True)
    layer = GradientReversal(0.5)
    out = layer(x)
    assert torch.equal(out, x)
    out.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -0.5))


def test_adversarial_head_trains_itself_normally_and_the_input_against_it():
    torch.manual_seed(0)
    head = torch.nn.Linear(3, 2)
    x = torch.randn(5, 3, requires_grad=True)
    plain_x = x.detach().clone().requires_grad_(True)
    plain = torch.nn.Linear(3, 2)
    plain.load_state_dict(head.state_dict())
    AdversarialHead(head, 1.0)(x).sum().backward()
    plain(plain_x).sum().backward()
    assert torch.allclose(head.weight.grad, plain.weight.grad)  # the head learns its task as usual
    assert torch.allclose(x.grad, -plain_x.grad)                 # the encoder is pushed the other way


def test_ramp_sets_the_reversal_strength_each_epoch():
    layer = GradientReversal(0.0)
    ramp = Ramp(lambda v: setattr(layer, "coefficient", v), epochs=2, end=0.8)
    seen = []
    for epoch in (1, 2, 3, 4):
        ramp.on_epoch_start(None, epoch)
        seen.append(layer.coefficient)
    assert seen[0] == 0.0 and 0 < seen[1] < 0.8  # DANN shape: 2/(1+exp(-10p))-1
    assert abs(seen[2] - 0.8) < 1e-3 and seen[3] == seen[2]
