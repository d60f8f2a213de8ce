"""Per-corpus sampling: temperature-flattened shares, caps, pinned rows in every epoch."""
import numpy as np
import torch

from affectlab.training.sampling import GroupSampler

GROUPS = np.array([0] * 900 + [1] * 100 + [2] * 5)


def test_temperature_one_keeps_proportions_and_cap_limits_a_large_corpus():
    plain = GroupSampler(GROUPS[:1000])
    assert plain.counts == {0: 900, 1: 100} and plain.epoch_size() == 1000
    capped = GroupSampler(GROUPS[:1000], cap=300)
    assert capped.counts == {0: 300, 1: 100}


def test_higher_temperature_flattens_the_shares_and_small_corpora_repeat():
    flat = GroupSampler(GROUPS[:1000], temperature=100.0)
    assert abs(flat.counts[0] - flat.counts[1]) <= 20 and flat.epoch_size() == 1000
    index = flat.draw(torch.Generator().manual_seed(0)).numpy()
    small = index[index >= 900]
    assert len(small) == flat.counts[1] and set(small) == set(range(900, 1000))  # every row, some twice


def test_pinned_rows_appear_exactly_k_times_each_epoch_and_draws_are_reproducible():
    sampler = GroupSampler(GROUPS, cap=200, pinned={2: 3})
    first = sampler.draw(torch.Generator().manual_seed(1)).numpy()
    pinned = first[first >= 1000]
    assert sorted(np.bincount(pinned - 1000)) == [3] * 5
    again = sampler.draw(torch.Generator().manual_seed(1)).numpy()
    assert np.array_equal(first, again) and len(first) == sampler.epoch_size() == 200 + 100 + 15


def test_overlapping_groups_share_an_epoch_by_their_own_sizes():
    """Per-task sampling: a row may label two tasks (group 0 holds rows 0-89, group 1 rows 50-99)."""
    sampler = GroupSampler.of_members({0: np.arange(90), 1: np.arange(50, 100)}, cap=60)
    assert sampler.counts == {0: 60, 1: 50} and sampler.epoch_size() == 110
    index = sampler.draw(torch.Generator().manual_seed(0)).numpy()
    assert len(index) == 110 and set(index) <= set(range(100))
