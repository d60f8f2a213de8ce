"""One smoke test over every registered model x aggregator x input shape."""
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.models import create_model, list_aggregators, list_models


@pytest.mark.parametrize("name", list_models("vectors"))
@pytest.mark.parametrize("aggregator", list_aggregators())
def test_every_model_runs_on_flat_hierarchical_and_layer_stacks(name, aggregator):
    torch.manual_seed(0)
    model = create_model(name, input_dim=16, n_classes=5, hidden=8, aggregator=aggregator)
    assert model(torch.randn(3, 16)).shape == (3, 5)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.float32)
    x = torch.randn(3, 3, 16)
    logits = model(x, mask)
    assert logits.shape == (3, 5)
    x2 = x.clone()
    x2[0, 2] = 1e3  # padded sentence must not change the output
    model.eval()
    assert torch.allclose(model(x, mask), model(x2, mask), atol=1e-5)
    loss = logits.sum()
    loss.backward()
    mixed = create_model(name, input_dim=16, n_classes=5, hidden=8, aggregator=aggregator, layer_mix=4)
    assert mixed(torch.randn(3, 4, 16)).shape == (3, 5)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError, match="mlp"):
        create_model("transformer-xxl", input_dim=4, n_classes=2)


@pytest.mark.parametrize("name", list_models("vectors"))
@pytest.mark.parametrize("aggregator", list_aggregators())
def test_no_mask_equals_an_all_ones_mask(name, aggregator):
    torch.manual_seed(0)
    model = create_model(name, input_dim=6, n_classes=3, hidden=4, aggregator=aggregator).eval()
    x = torch.randn(5, 3, 6)
    assert torch.allclose(model(x), model(x, torch.ones(5, 3)), atol=1e-5)


def test_every_registered_model_reads_a_known_input_kind():
    assert set(list_models()) == set(list_models("vectors")) | set(list_models("spectrogram"))
    assert {"mlp", "lstm"} <= set(list_models("vectors"))
    assert {"cnn", "resnet18"} <= set(list_models("spectrogram"))


def test_mlp_input_norm_standardises_raw_features_with_training_statistics():
    torch.manual_seed(0)
    model = create_model("mlp", input_dim=4, n_classes=2, hidden=8, input_norm=True)
    x = torch.randn(256, 4) * torch.tensor([1e4, 1.0, 1e-2, 50.0]) + 300.0  # openSMILE-like scales
    for _ in range(3):
        model(x)  # training mode: a cumulative average over the batches seen
    model.eval()
    normed = model.input_norm(x)
    assert torch.allclose(normed.mean(0), torch.zeros(4), atol=0.05)
    assert torch.allclose(normed.std(0), torch.ones(4), atol=0.05)
    assert "input_norm.running_mean" in model.state_dict()  # travels with the pipeline weights
