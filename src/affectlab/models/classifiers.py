"""Utterance classifiers over frozen features: one composition, registered by head type.

Every model reads a masked sequence of vectors — sentences (hierarchical mode), the
four encoder layers (learned mix), or a single utterance vector (flat mode, length 1):

    [scalar mix over layers] → [sequence encoder] → aggregator → head → logits

``mlp`` has no sequence encoder (the aggregator pools raw vectors, then a 2-layer MLP);
``lstm`` runs a BiLSTM over the units first, so aggregation sees contextualised units.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import Registry
from .aggregators import AGGREGATORS
from .inputs import VECTORS, declares
from .recurrent import lstm_single_step, masked_lstm
from .scalar_mix import ScalarMix

MODELS: Registry[nn.Module] = Registry("model")


class SequenceClassifier(nn.Module):
    def __init__(
        self,
        input_dim: int,
        n_classes: int,
        encoder: nn.Module | None,
        encoder_dim: int,
        aggregator: str = "mean",
        hidden: int = 256,
        dropout: float = 0.3,
        layer_mix: int | None = None,
        mlp_head: bool = True,
        input_norm: bool = False,
    ) -> None:
        super().__init__()
        # Standardises each input dimension with the average statistics of all training batches,
        # for hand-made features on unrelated scales (openSMILE: Hz, dB, ratios). Saved with the model.
        self.input_norm = nn.BatchNorm1d(input_dim, affine=False, momentum=None) if input_norm else None
        self.layer_mix = ScalarMix(layer_mix) if layer_mix else None
        self.encoder = encoder
        self.aggregator = AGGREGATORS.create(aggregator, dim=encoder_dim)
        agg_dim = self.aggregator.out_dim
        if mlp_head:
            self.head = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(agg_dim, hidden), nn.ReLU(),
                nn.Dropout(dropout), nn.Linear(hidden, n_classes),
            )
        else:
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(agg_dim, n_classes))

    def features(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The vector right before the head (used for separability analysis)."""
        if self.input_norm is not None:
            x = self.input_norm(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        if self.layer_mix is not None:
            x = self.layer_mix(x)
        if x.dim() == 2:
            x = x.unsqueeze(1)  # one utterance vector = a sequence of length 1, no mask needed
        if self.encoder is not None:
            x = self.encoder(x, mask)
        return self.aggregator(x, mask)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, mask))


class BiLSTMEncoder(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:  # every unit real: no packing (faster, and works under torch.func.vmap)
            return lstm_single_step(self.lstm, x) if x.shape[1] == 1 else self.lstm(x)[0]
        return masked_lstm(self.lstm, x, mask)[0]


@MODELS.register("mlp")
@declares(VECTORS)
def mlp(input_dim: int, n_classes: int, hidden: int = 256, dropout: float = 0.3,
        aggregator: str = "mean", layer_mix: int | None = None, input_norm: bool = False) -> SequenceClassifier:
    """Two-layer MLP (the SenticCrystal baseline head); ``input_norm`` standardises raw features."""
    return SequenceClassifier(input_dim, n_classes, None, input_dim, aggregator, hidden,
                              dropout, layer_mix, mlp_head=True, input_norm=input_norm)


@MODELS.register("lstm")
@declares(VECTORS)
def lstm(input_dim: int, n_classes: int, hidden: int = 128, dropout: float = 0.3,
         aggregator: str = "mean", layer_mix: int | None = None) -> SequenceClassifier:
    """BiLSTM over the units, aggregated, then a linear layer."""
    return SequenceClassifier(input_dim, n_classes, BiLSTMEncoder(input_dim, hidden), 2 * hidden,
                              aggregator, hidden, dropout, layer_mix, mlp_head=False)
