import pytest
import torch
from torch import nn

from affectlab.models.recurrent import lstm_single_step, masked_lstm


def test_single_step_lstm_shortcut_is_the_same_function():
    torch.manual_seed(0)
    for bidirectional in (False, True):
        lstm = nn.LSTM(6, 4, batch_first=True, bidirectional=bidirectional)
        x = torch.randn(5, 1, 6, requires_grad=True)
        fast, slow = lstm_single_step(lstm, x), lstm(x)[0]
        assert torch.allclose(fast, slow, atol=1e-6)
        g_fast, = torch.autograd.grad(fast.sum(), x)
        g_slow, = torch.autograd.grad(slow.sum(), x)
        assert torch.allclose(g_fast, g_slow, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_lstm_equals_packed_lstm_in_value_and_gradient(bidirectional):
    torch.manual_seed(0)
    lstm = nn.LSTM(6, 4, batch_first=True, bidirectional=bidirectional)
    lengths = torch.tensor([3, 1, 5, 2])
    mask = (torch.arange(5)[None] < lengths[:, None]).float()
    x = torch.randn(4, 5, 6, requires_grad=True)

    out, h = masked_lstm(lstm, x, mask)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_packed, (ref_h, _) = lstm(packed)
    ref, _ = nn.utils.rnn.pad_packed_sequence(ref_packed, batch_first=True, total_length=5)

    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(h, ref_h, atol=1e-6)
    g, = torch.autograd.grad(out.sum() + h.sum(), x)
    g_ref, = torch.autograd.grad(ref.sum() + ref_h.sum(), x)
    assert torch.allclose(g, g_ref, atol=1e-6)
    assert torch.count_nonzero(g[1, 1:]) == 0  # padding gets no gradient


def test_masked_lstm_runs_under_vmap():
    from torch.func import functional_call, stack_module_state, vmap

    from affectlab.models.aggregators import LSTMAggregator

    torch.manual_seed(0)
    members = [LSTMAggregator(6, 4) for _ in range(3)]
    params, buffers = stack_module_state(members)
    base = LSTMAggregator(6, 4).to("meta")
    x, mask = torch.randn(2, 4, 6), torch.tensor([[1.0, 1, 0, 0], [1, 1, 1, 1]])

    def run(p, b, x, mask):
        return functional_call(base, (p, b), (x, mask))

    out = vmap(run, in_dims=(0, 0, None, None))(params, buffers, x, mask)
    for k, member in enumerate(members):
        assert torch.allclose(out[k], member(x, mask), atol=1e-6)
