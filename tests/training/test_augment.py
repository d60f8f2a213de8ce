import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.training.augment import Chain, SpecAugment, SpecStretch


def batch(b=8, f=40, t=60):
    x = torch.randn(b, f, t, generator=torch.Generator().manual_seed(1)) + 5.0
    return {"x": x, "mask": torch.ones(b, t)}


def test_masks_whole_frequency_and_time_bands():
    aug = SpecAugment(freq_masks=1, freq_width=6, time_masks=1, time_width=9, fill="zero")
    data = batch()
    out = aug(data, torch.Generator().manual_seed(0))["x"]
    zero = out == 0
    for example in zero:
        rows = example.all(dim=1)  # fully masked frequency bins
        cols = example.all(dim=0)  # fully masked frames
        assert rows.sum() <= 6 and cols.sum() <= 9
        for band in (rows, cols):  # one contiguous band each
            hit = band.nonzero().flatten()
            if len(hit):
                assert hit.max() - hit.min() + 1 == len(hit)
        # every zero lies in a masked row or column (nothing else is touched)
        assert torch.equal(example, rows[:, None] | cols[None, :])
    assert zero.any()


def test_reproducible_with_the_same_seed_and_input_untouched():
    aug = SpecAugment()
    data = batch()
    before = data["x"].clone()
    first = aug(data, torch.Generator().manual_seed(7))
    second = aug(data, torch.Generator().manual_seed(7))
    other = aug(data, torch.Generator().manual_seed(8))
    assert torch.equal(first["x"], second["x"]) and not torch.equal(first["x"], other["x"])
    assert torch.equal(data["x"], before) and first["mask"] is data["mask"]


def test_mean_fill_and_channel_axis():
    aug = SpecAugment(freq_masks=2, freq_width=10, time_masks=2, time_width=10)
    x = batch()["x"].unsqueeze(1)
    out = aug({"x": x}, torch.Generator().manual_seed(3))["x"]
    assert out.shape == x.shape
    changed = out != x
    means = x.mean(dim=(1, 2, 3))
    for index in range(len(x)):
        assert torch.allclose(out[index][changed[index]], means[index].expand(int(changed[index].sum())))
    assert changed.any()


def test_rejects_bad_settings_and_shapes():
    with pytest.raises(ConfigError):
        SpecAugment(fill="noise")
    with pytest.raises(ConfigError, match=r"\[B, F, T\]"):
        SpecAugment()({"x": torch.zeros(4, 10)}, torch.Generator())


def ramp(b=4, f=12, t=30):
    """x[b, f, t] = 10 + t + 100 f: a value says where it came from."""
    time = torch.arange(t, dtype=torch.float32)
    freq = torch.arange(f, dtype=torch.float32)
    return (10 + time[None, :] + 100 * freq[:, None]).expand(b, f, t).clone()


def test_stretch_off_is_identity():
    x = ramp()
    out = SpecStretch(time=0.0, freq=0.0)({"x": x}, torch.Generator().manual_seed(0))["x"]
    assert torch.allclose(out, x, atol=1e-4)


def test_stretch_resamples_time_and_frequency_by_the_drawn_factors():
    aug, x = SpecStretch(time=0.3, freq=0.2), ramp()
    factors = aug.factors(len(x), torch.Generator().manual_seed(5))
    out = aug({"x": x}, torch.Generator().manual_seed(5))["x"]
    floor = x.amin()
    n_freq, n_time = x.shape[1:]
    for example, (time_factor, freq_factor) in zip(out, factors.tolist()):
        source_t = torch.arange(n_time) / time_factor
        source_f = torch.arange(n_freq) / freq_factor
        inside = (source_f[:, None] <= n_freq - 1) & (source_t[None, :] <= n_time - 1)
        expected = 10 + source_t[None, :] + 100 * source_f[:, None]  # the ramp is bilinear: exact
        assert torch.allclose(example[inside], expected.expand_as(example)[inside], atol=1e-3)
        far = (source_f[:, None] >= n_freq) | (source_t[None, :] >= n_time)  # wholly outside
        assert torch.allclose(example[far], floor.expand(int(far.sum())))
    assert (factors.max(dim=0).values > 1).all() and (factors.min(dim=0).values < 1).all()


def test_stretch_keeps_shape_dtype_and_channel_axis_and_repeats_with_the_seed():
    aug = SpecStretch(time=0.2, freq=0.1)
    x = ramp().unsqueeze(1).to(torch.bfloat16)
    before = x.clone()
    first = aug({"x": x}, torch.Generator().manual_seed(2))["x"]
    again = aug({"x": x}, torch.Generator().manual_seed(2))["x"]
    other = aug({"x": x}, torch.Generator().manual_seed(3))["x"]
    assert first.shape == x.shape and first.dtype == torch.bfloat16
    assert torch.equal(first, again) and not torch.equal(first, other) and torch.equal(x, before)


def test_stretch_rejects_bad_settings_and_shapes():
    with pytest.raises(ConfigError):
        SpecStretch(time=1.0)
    with pytest.raises(ConfigError):
        SpecStretch(freq=-0.1)
    with pytest.raises(ConfigError, match=r"\[B, F, T\]"):
        SpecStretch()({"x": torch.zeros(4, 10)}, torch.Generator())


def test_chain_applies_steps_in_order_from_one_generator():
    stretch, mask = SpecStretch(time=0.2, freq=0.1), SpecAugment(freq_masks=1, freq_width=3, time_masks=1, time_width=4)
    x = {"x": ramp()}
    chained = Chain([stretch, mask])(x, torch.Generator().manual_seed(9))["x"]
    generator = torch.Generator().manual_seed(9)
    by_hand = mask(stretch(x, generator), generator)["x"]
    assert torch.equal(chained, by_hand)
