import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.training.augment import SpecAugment


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
