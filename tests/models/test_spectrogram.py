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
