import torch

from affectlab.features.layers import combination_matrix
from affectlab.features.pooling import POOLERS, cls_attention_pool, content_mask, fit_idf


def _mask(lengths, width):
    return (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()


def test_weights_are_normalised_and_skip_special_tokens():
    mask = _mask([6, 4], 7)
    ids = torch.randint(5, 20, (2, 7))
    idf = torch.rand(30).numpy() + 0.5
    for name, pooler in POOLERS.items():
        if pooler.weights is None:
            continue
        w = pooler.weights(content_mask(mask), ids, idf)
        assert torch.allclose(w.sum(1), torch.ones(2)), name
        assert (w[mask == 0] == 0).all(), name
        if name != "cls":
            assert (w[:, 0] == 0).all(), name  # [CLS] excluded
            assert w[0, 5] == 0 and w[1, 3] == 0, name  # [SEP] excluded


def test_positional_weights_point_the_right_way():
    mask = _mask([6], 6)  # content tokens at 1..4
    w_pos = POOLERS["wmean_pos"].weights(content_mask(mask), None, None)[0]
    w_rev = POOLERS["wmean_pos_rev"].weights(content_mask(mask), None, None)[0]
    assert w_pos[4] > w_pos[1] and w_rev[1] > w_rev[4]
    fast = POOLERS["wmean_exp_fast"].weights(content_mask(mask), None, None)[0]
    slow = POOLERS["wmean_exp_slow"].weights(content_mask(mask), None, None)[0]
    assert fast[4] > slow[4]  # shorter time constant concentrates on the end


def test_layer_combinations_are_convex():
    m = combination_matrix(["last", "avg_last4", "last4_scalar_up", "last4_scalar_top2"])
    assert torch.allclose(m.sum(1), torch.ones(4))
    assert m[0].tolist() == [0, 0, 0, 1]
    assert m[2, 3] > m[2, 0]


def test_cls_attention_ignores_padding():
    hidden = torch.randn(1, 5, 8)
    mask = _mask([4], 5)
    a = cls_attention_pool(hidden, content_mask(mask))
    hidden2 = hidden.clone()
    hidden2[0, 4] = 100.0  # padding position
    assert torch.allclose(a, cls_attention_pool(hidden2, content_mask(mask)))


def test_idf_rare_tokens_weigh_more():
    idf = fit_idf([[1, 2], [1, 3], [1, 4]], vocab_size=6)
    assert idf[2] > idf[1]
