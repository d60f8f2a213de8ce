"""Forecasters of the next turn's emotion distribution (estimators: ``fit``, ``predict_proba``).

- ``persistence``: the next turn feels like the last one (its distribution, mixed with uniform by
  a weight chosen on dev log-loss);
- ``markov``: a first-order chain over the last turn's top emotion (transitions counted on train,
  add-one smoothing);
- ``gru``: a GRU over the turns (probabilities + log time gap), the gap to the next turn given
  to its read-out;
- ``ode``: an ODE-RNN (Rubanova et al. 2019): a latent state that a neural ODE (``torchdiffeq``)
  carries through the time between turns and a GRU cell updates at each turn; the forecast is
  the state carried to the next turn's time, so it also gives the distribution at any moment in
  between (``ode_path``).

GRU and ODE read the same inputs, train the same way (AdamW, early stopping on dev log-loss).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataNotFoundError
from ..registry import Registry
from .sequences import NextTurnSet

FORECASTERS: Registry = Registry("forecaster")


def log_loss(y: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (rows with y < 0 ignored)."""
    keep = y >= 0
    p = np.clip(probs[keep, y[keep]], 1e-12, 1.0)
    return float(-np.log(p).mean())


class Forecaster:
    """Base: ``fit(train, dev)`` then ``predict_proba(data) -> [N, C]``; ``save``/``load`` a folder.
    ``task``: the pipeline task whose per-turn distributions it reads (None: the primary one),
    saved with it so a pipeline with several tasks knows which to feed it."""

    name = "forecaster"
    task: str | None = None

    def fit(self, train: NextTurnSet, dev: NextTurnSet | None = None) -> "Forecaster":
        raise NotImplementedError

    def predict_proba(self, data: NextTurnSet) -> np.ndarray:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        task = {"task": self.task} if self.task else {}
        (path / "forecaster.json").write_text(json.dumps({"name": self.name, **task, **self.state()}, indent=1))
        return path


@FORECASTERS.register("persistence")
class Persistence(Forecaster):
    name = "persistence"

    def __init__(self, smoothing: float = 0.1) -> None:
        self.smoothing = smoothing

    def fit(self, train: NextTurnSet, dev: NextTurnSet | None = None) -> "Persistence":
        if dev is not None:  # the uniform share that gives the best dev log-loss
            grid = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
            self.smoothing = min(grid, key=lambda s: log_loss(dev.y, self._mix(dev.last_probs(), s)))
        return self

    @staticmethod
    def _mix(probs: np.ndarray, share: float) -> np.ndarray:
        return (1 - share) * probs + share / probs.shape[1]

    def predict_proba(self, data: NextTurnSet) -> np.ndarray:
        return self._mix(data.last_probs(), self.smoothing)

    def state(self) -> dict[str, Any]:
        return {"smoothing": self.smoothing}


@FORECASTERS.register("markov")
class Markov(Forecaster):
    name = "markov"

    def __init__(self, alpha: float = 1.0, transitions: list[list[float]] | None = None) -> None:
        self.alpha = alpha
        self.transitions = None if transitions is None else np.asarray(transitions)

    def fit(self, train: NextTurnSet, dev: NextTurnSet | None = None) -> "Markov":
        c = train.n_classes
        counts = np.full((c, c), self.alpha)
        keep = train.y >= 0
        np.add.at(counts, (train.last_probs()[keep].argmax(1), train.y[keep]), 1.0)
        self.transitions = counts / counts.sum(1, keepdims=True)
        return self

    def predict_proba(self, data: NextTurnSet) -> np.ndarray:
        return self.transitions[data.last_probs().argmax(1)]

    def state(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "transitions": self.transitions.tolist()}


class _Dynamics(nn.Module):
    """dh/ds = τ · f(h) on s ∈ [0, 1]: one ODE solve carries every row over its own gap τ."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, hidden))
        self.tau = torch.zeros(0)

    def forward(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.tau * self.f(h)


class RecurrentNet(nn.Module):
    """The network behind ``gru`` (``ode=False``) and ``ode`` (``ode=True``)."""

    def __init__(self, n_classes: int, hidden: int = 32, ode: bool = False, steps: int = 4) -> None:
        super().__init__()
        self.ode, self.steps = ode, steps
        self.cell = nn.GRUCell(n_classes + 1, hidden)
        self.dynamics = _Dynamics(hidden) if ode else None
        self.out = nn.Linear(hidden + (0 if ode else 1), n_classes)

    def evolve(self, h: torch.Tensor, gap: torch.Tensor, points: int = 2) -> torch.Tensor:
        """States after ``gap`` (log1p seconds, per row): [points, B, H] at s = 0 … 1."""
        from torchdiffeq import odeint

        self.dynamics.tau = gap[:, None]
        grid = torch.linspace(0, 1, points, device=h.device)
        return odeint(self.dynamics, h, grid, method="rk4", options={"step_size": 1.0 / self.steps})

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            active = (t < lengths)[:, None]
            step = h
            if self.ode and t > 0:  # carry the state over the gap to this turn (its last feature)
                step = self.evolve(h, x[:, t, -1])[-1]
            h = torch.where(active, self.cell(x[:, t], step), h)
        return h

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, next_gap: torch.Tensor) -> torch.Tensor:
        h = self.encode(x, lengths)
        if self.ode:
            return self.out(self.evolve(h, next_gap)[-1])
        return self.out(torch.cat([h, next_gap[:, None]], 1))


class RecurrentForecaster(Forecaster):
    """Trains a :class:`RecurrentNet` with AdamW and early stopping on dev log-loss."""

    ode = False

    def __init__(self, hidden: int = 32, epochs: int = 40, batch_size: int = 256, lr: float = 3e-3,
                 patience: int = 5, seed: int = 42, n_classes: int | None = None) -> None:
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, lr
        self.patience, self.seed, self.n_classes = patience, seed, n_classes
        self.net: RecurrentNet | None = None
        self.history: list[dict[str, float]] = []

    def _new_net(self, n_classes: int) -> RecurrentNet:
        self.n_classes = n_classes
        return RecurrentNet(n_classes, self.hidden, ode=self.ode)

    @staticmethod
    def _tensors(data: NextTurnSet, rows=slice(None)):
        return (torch.as_tensor(data.x[rows]), torch.as_tensor(data.lengths[rows]),
                torch.as_tensor(data.next_gap[rows]))

    def fit(self, train: NextTurnSet, dev: NextTurnSet | None = None) -> "RecurrentForecaster":
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        self.net = self._new_net(train.n_classes)
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.lr, weight_decay=1e-4)
        keep = np.flatnonzero(train.y >= 0)
        y = torch.as_tensor(train.y)
        best, best_state, since = math.inf, None, 0
        for epoch in range(1, self.epochs + 1):
            self.net.train()
            order = keep[torch.randperm(len(keep), generator=generator).numpy()]
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                logits = self.net(*self._tensors(train, rows))
                loss = nn.functional.cross_entropy(logits, y[rows])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
                optimizer.step()
            if dev is None:
                continue
            current = log_loss(dev.y, self.predict_proba(dev))
            self.history.append({"epoch": epoch, "dev_log_loss": current})
            if current < best - 1e-5:
                best, since = current, 0
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            else:
                since += 1
                if since >= self.patience:
                    break
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return self

    @torch.inference_mode()
    def predict_proba(self, data: NextTurnSet) -> np.ndarray:
        self.net.eval()
        parts = [torch.softmax(self.net(*self._tensors(data, slice(s, s + 1024))), -1)
                 for s in range(0, len(data), 1024)]
        return torch.cat(parts).numpy()

    def state(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "n_classes": self.n_classes, "seed": self.seed}

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = super().save(path)
        save_file(self.net.state_dict(), str(path / "forecaster.safetensors"))
        return path


@FORECASTERS.register("gru")
class GRUForecaster(RecurrentForecaster):
    name = "gru"


@FORECASTERS.register("ode")
class ODEForecaster(RecurrentForecaster):
    name = "ode"
    ode = True

    @torch.inference_mode()
    def path(self, data: NextTurnSet, points: int = 9) -> np.ndarray:
        """Distributions at ``points`` moments from each history's last turn to the forecast
        turn [N, points, C]: the interpolation a chart draws between turns."""
        self.net.eval()
        x, lengths, gap = self._tensors(data)
        states = self.net.evolve(self.net.encode(x, lengths), gap, points)  # [points, N, H]
        return torch.softmax(self.net.out(states), -1).permute(1, 0, 2).numpy()


def load_forecaster(path: str | Path) -> Forecaster:
    """A forecaster saved with ``save`` (``forecaster.json`` + weights for neural ones)."""
    path = Path(path)
    if not (path / "forecaster.json").is_file():
        raise DataNotFoundError(f"no forecaster in {path} (expected forecaster.json)")
    state = json.loads((path / "forecaster.json").read_text())
    name, task = state.pop("name"), state.pop("task", None)
    forecaster = FORECASTERS.create(name, **state)
    forecaster.task = task
    if isinstance(forecaster, RecurrentForecaster):
        from safetensors.torch import load_file

        forecaster.net = forecaster._new_net(state["n_classes"])
        forecaster.net.load_state_dict(load_file(str(path / "forecaster.safetensors")))
        forecaster.net.eval()
    return forecaster
