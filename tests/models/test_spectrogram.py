"""Smoke test over every spectrogram backbone, plus ResNet-18's shape and size."""
import pytest
import torch

from affectlab.models import create_model, list_models, model_arguments


@pytest.mark.parametrize("name", list_models("spectrogram"))
def test_every_spectrogram_model_trains_on_any_clip_length(name):
    torch.manual_seed(0)
    kwargs = model_arguments(name, input_dim=32, n_classes=8, hidden=8, dropout=0.1, aggregator="attn")
    assert "aggregator" not in kwargs  # settings a backbone does not use are left out
    model = create_model(name, **kwargs)
    for frames in (40, 61):
        logits = model(torch.randn(3, 32, frames))
        assert logits.shape == (3, 8)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    assert model(torch.randn(2, 1, 32, 40)).shape == (2, 8)  # an explicit channel axis works too


def test_resnet18_has_the_published_layout():
    model = create_model("resnet18", n_classes=8)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(convs) == 17  # stem + 8 basic blocks x 2: with the fc layer, 18 weighted layers
    n_params = sum(p.numel() for p in model.parameters())
    assert 11.0e6 < n_params < 11.3e6  # torchvision's resnet18 with 1 input channel and 8 classes: ~11.17M


@pytest.mark.parametrize("input_norm", ["batch", "freq", "clip"])
def test_every_input_norm_trains(input_norm):
    model = create_model("cnn", input_dim=16, n_classes=3, hidden=4, depth=2, input_norm=input_norm)
    model(torch.randn(4, 16, 20)).sum().backward()


def test_freq_norm_standardises_each_band_on_its_own():
    from affectlab.models.spectrogram import FrequencyNorm

    torch.manual_seed(0)
    levels = torch.linspace(-80, 0, 16).view(1, 16, 1)  # quiet high bands, loud low ones (dB)
    x = (levels + torch.randn(8, 16, 30) * torch.linspace(1, 10, 16).view(1, 16, 1)).unsqueeze(1)
    out = FrequencyNorm(16).train()(x)
    per_band = out.squeeze(1).transpose(0, 1).reshape(16, -1)
    assert torch.allclose(per_band.mean(1), torch.zeros(16), atol=1e-4)
    assert torch.allclose(per_band.std(1), torch.ones(16), atol=1e-2)


def test_freq_norm_needs_the_band_count():
    from affectlab.errors import ConfigError

    with pytest.raises(ConfigError, match="frequency bins"):
        create_model("cnn", n_classes=3, input_norm="freq")
