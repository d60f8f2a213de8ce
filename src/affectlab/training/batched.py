"""Train many small heads at once: the same protocol as ``Trainer``, one vectorised loop.

Seed sweeps and grids over small heads on cached features are dominated by per-step Python
and kernel-launch overhead, not arithmetic. ``BatchedTrainer`` stacks the members'
parameters along a leading member dimension and trains every member on its own batch in one
set of batched kernels; members share no parameters, so each stacked slice receives exactly
its own member's gradient. AdamW is elementwise, so one optimiser over the stacked tensors
equals one optimiser per member; gradient clipping is the only cross-element step and is done
per member.

Two vectorised paths share one training loop (early stopping, member retirement, history):

* ``mlp`` fast path — for the plain ``mlp`` head on flat ``[N, D]`` inputs (mean aggregator
  over a length-1 sequence, i.e. the identity; no layer mix, no mask input) the head is
  trained as four explicit stacked tensors ``W1 [M, D, H]``, ``b1 [M, 1, H]``,
  ``W2 [M, H, C]``, ``b2 [M, 1, C]`` with a hand-written forward/backward (``torch.baddbmm``
  / ``torch.bmm``); only the loss goes through autograd. Dropout masks for all members are
  drawn in one call per layer. The loss is vectorised over members for ``CrossEntropy`` and
  ``FocalLoss`` (same formulas as ``losses.py``, per-member class weights) and otherwise is the
  member's own loss module applied to its slice.
* ``vmap`` path — any other model that runs under ``torch.func``: parameters stacked with
  ``stack_module_state``, forward with ``vmap(functional_call)`` and autograd.

What is the same as ``Trainer`` for every member: the batch order (member ``i`` draws
``torch.randperm`` from ``generators[i]`` each epoch, as ``Trainer._batches`` does), the
loss, AdamW (weight decay on every parameter), clipping, the learning-rate schedule, early
stopping on ``monitor`` with ``patience``, the history rows and the restored best-epoch
weights. Without dropout a member matches a sequential run up to float rounding (batched
matmuls sum in another order). With dropout > 0 the masks come from a different random
stream, so such members are statistically but not bitwise equivalent; the fast path keeps a
unit when a 16-bit uniform draw clears ``round(p * 2**16)``, i.e. drops with probability
``p`` to within 2**-16 (and rescales by the exact keep probability, so activations stay
unbiased) — bernoulli draws cost 3-10x more than the rest of a step's elementwise work.

Finished members (patience exhausted) are removed from the stack — with their optimiser
state — so late epochs only pay for the members still training.

Not supported in the batched path: the balanced sampler, augmentation and mixup (they draw from the
generator inside the batch loop) and the ``plateau`` scheduler (its learning rate would differ
per member) — these raise ``ConfigError``. Models that cannot run under ``vmap`` fall back to
one sequential ``Trainer`` per member, reported as ``batched=False`` (e.g. a forward that
reads a value back to the host). LSTMs over masked sequences vmap: they use
``models.recurrent.masked_lstm``, and batches are cut to their longest real sequence.
"""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ..devices import pick_device
from ..errors import ConfigError
from ..evaluation.metrics import score
from ..models.aggregators import MeanAggregator
from ..models.classifiers import BiLSTMEncoder, SequenceClassifier
from .data import ArrayDataset, trim_padding
from .losses import CrossEntropy, FocalLoss
from .trainer import Trainer, TrainingConfig, TrainResult

Tensors = dict[str, torch.Tensor]
# ids of the live members (indices into the trainer's models), logits [A, B, C], targets [A, B(, C)]
MemberLoss = Callable[[list[int], torch.Tensor, torch.Tensor], torch.Tensor]

_DROPOUT_LEVELS = 1 << 16  # the fast path draws dropout as int16 lanes: p is resolved to 2**-16


@dataclass
class BatchedResult(TrainResult):
    """A ``TrainResult`` that also says whether the member really ran vectorised.

    ``seconds`` is the wall time from the start of its group's training until the member
    stopped (members of one group share the clock). ``path`` is ``"mlp"`` (hand-written
    stacked head), ``"vmap"`` (``torch.func``) or ``"sequential"`` (one ``Trainer``)."""

    member: int = 0
    batched: bool = True
    path: str = "vmap"


def _signature(model: nn.Module) -> tuple:
    """Members can share one stacked forward only if everything but the weights is equal —
    architecture, hyper-parameters visible in ``repr`` (dropout p, sizes), shapes and dtypes."""
    tensors = [(k, tuple(v.shape), v.dtype, v.requires_grad) for k, v in model.named_parameters()]
    tensors += [(k, tuple(v.shape), v.dtype) for k, v in model.named_buffers()]
    return type(model), repr(model), tuple(tensors)


_MLP_HEAD = (nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear)


def plain_mlp(model: nn.Module, *datasets: ArrayDataset | None) -> bool:
    """Whether ``model`` on ``datasets`` is exactly the flat ``mlp`` head the fast path
    re-implements: a ``SequenceClassifier`` with no layer mix, no encoder, the mean aggregator
    (the identity on a length-1 sequence), the head Dropout → Linear → ReLU → Dropout → Linear,
    float32 trainable weights, no buffers or hooks, and one 2-D input ``x`` (no ``mask``)."""
    if type(model) is not SequenceClassifier or model.layer_mix is not None or model.encoder is not None:
        return False
    head = model.head
    if type(model.aggregator) is not MeanAggregator or type(head) is not nn.Sequential or len(head) != 5:
        return False
    if any(type(layer) is not kind for layer, kind in zip(head, _MLP_HEAD)):
        return False
    if head[1].bias is None or head[4].bias is None or head[1].out_features != head[4].in_features:
        return False
    params = list(model.parameters())
    if len(params) != 4 or any(p.dtype != torch.float32 or not p.requires_grad for p in params):
        return False
    if list(model.buffers()) or any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                                    for m in model.modules()):
        return False
    for data in datasets:
        if data is None:
            continue
        if set(data.inputs) != {"x"}:
            return False
        x = data.inputs["x"]
        if np.ndim(x) != 2 or np.shape(x)[1] != head[1].in_features:
            return False
    return True


def _dropout_(x: torch.Tensor, p: float, words: torch.Tensor, mask: torch.Tensor) -> float:
    """Zero each element of ``x`` in place with probability ``p`` (to within 2**-16), independently
    over every member and row; returns the rescaling 1/keep that the caller folds into the next
    matmul (so the masked tensor stays unscaled, as the backward pass wants it).

    The draw is a uniform int16 per element: four lanes of each full-range int64 of ``words``
    (about 4x cheaper per value than ``torch.rand``, which spends a 32-bit draw per float, and
    10x cheaper than ``bernoulli_``); ``mask`` (float, shaped like ``x``) receives the keep mask,
    so no bool→float conversion is allocated per step."""
    if p <= 0:
        return 1.0
    levels = _DROPOUT_LEVELS
    dropped = min(round(p * levels), levels)
    if dropped == levels:  # p == 1: nn.Dropout outputs zeros
        x.zero_()
        return 1.0
    if dropped == 0:
        return 1.0
    bits = words.random_(-2**63, None).view(torch.int16)[:x.numel()].view(x.shape)
    x.mul_(torch.ge(bits, dropped - levels // 2, out=mask))
    return levels / (levels - dropped)


def plain_lstm_step(model: nn.Module, *datasets: ArrayDataset | None) -> bool:
    """Whether ``model`` is the flat ``lstm`` head on 2-D inputs: a one-layer BiLSTM over a
    length-1 sequence (see ``models.recurrent.lstm_single_step``), the mean aggregator (the
    identity on one step) and the head Dropout → Linear."""
    if type(model) is not SequenceClassifier or model.layer_mix is not None:
        return False
    if type(model.encoder) is not BiLSTMEncoder or type(model.aggregator) is not MeanAggregator:
        return False
    lstm, head = model.encoder.lstm, model.head
    if lstm.num_layers != 1 or not lstm.bidirectional or not lstm.bias or lstm.proj_size:
        return False
    if type(head) is not nn.Sequential or [type(m) for m in head] != [nn.Dropout, nn.Linear]:
        return False
    if any(p.dtype != torch.float32 for p in model.parameters()) or list(model.buffers()):
        return False
    for data in datasets:
        if data is not None and (set(data.inputs) != {"x"} or np.ndim(data.inputs["x"]) != 2):
            return False
    return True


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None,
                   smoothing: float) -> torch.Tensor:
    """``F.cross_entropy(logits[a], target[a], weight[a], label_smoothing)`` for every member a: [A]."""
    log_p = F.log_softmax(logits, dim=-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # [A, B]
    n_classes = logits.shape[-1]
    if weight is None:
        loss = nll.mean(1)
        if smoothing:
            loss = (1 - smoothing) * loss + (-log_p.sum(-1)).mean(1) * (smoothing / n_classes)
        return loss
    picked = weight.gather(1, target)  # [A, B]: weight[target], the mean's denominator
    denominator = picked.sum(1)
    loss = (picked * nll).sum(1) / denominator
    if smoothing:
        smooth = -(log_p * weight.unsqueeze(1)).sum(-1)
        loss = (1 - smoothing) * loss + smooth.sum(1) / denominator * (smoothing / n_classes)
    return loss


def _focal(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, gamma: float,
           smoothing: float) -> torch.Tensor:
    """``FocalLoss.forward`` for every member, step by step the same formula: [A]."""
    log_p = F.log_softmax(logits, dim=-1)
    log_p_t = log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # [A, B]
    ce = -log_p_t
    if smoothing:
        ce = (1 - smoothing) * ce - smoothing * log_p.mean(-1)
    loss = (1 - log_p_t.exp()) ** gamma * ce
    if weight is not None:
        loss = loss * weight.gather(1, target)
    return loss.mean(1)


class _Stack:
    """What every stacked engine shares: member slices and dropping finished members."""

    params: Tensors

    def _state(self) -> Tensors:
        return self.params

    def slice(self, j: int) -> Tensors:
        return {k: v[j].detach().clone() for k, v in self._state().items()}

    def compact(self, keep: torch.Tensor, optimizer: torch.optim.Optimizer,
                make_optimizer) -> torch.optim.Optimizer:
        self.params, optimizer = BatchedTrainer._compact(self.params, optimizer, keep, make_optimizer)
        self._after_compact(keep)
        return optimizer

    def _after_compact(self, keep: torch.Tensor) -> None:
        """Engines with per-member caches or buffers drop the finished members' parts here."""


class _MLPStack(_Stack):
    """The fast path: the group's mlp heads as four stacked tensors, forward and backward by hand.

    ``W1 [A, D, H]`` and ``W2 [A, H, C]`` are the transposed ``nn.Linear`` weights (so a batch
    ``x [A, B, D]`` goes through ``baddbmm(b1, x, W1)``); ``b1 [A, 1, H]``, ``b2 [A, 1, C]``.
    Only the loss runs under autograd (so any loss module works); the rest of the backward pass
    is three ``bmm``s and two sums, written into preallocated gradient buffers.
    """

    path = "mlp"

    def __init__(self, models: list[nn.Module], device: torch.device, loss_fn: MemberLoss | None = None):
        heads = [m.head for m in models]
        self.p1, self.p2 = float(heads[0][0].p), float(heads[0][3].p)
        with torch.no_grad():
            self.params: Tensors = {
                "W1": torch.stack([h[1].weight.t() for h in heads]),
                "b1": torch.stack([h[1].bias for h in heads]).unsqueeze(1),
                "W2": torch.stack([h[4].weight.t() for h in heads]),
                "b2": torch.stack([h[4].bias for h in heads]).unsqueeze(1),
            }
        self.params = {k: v.to(device).requires_grad_(True) for k, v in self.params.items()}
        self.loss_fn = loss_fn
        self._grads: list[torch.Tensor] | None = None
        self._work: dict[tuple[int, int], Tensors] = {}  # per batch shape: reused step buffers

    def _workspace(self, live: int, size: int) -> Tensors:
        """Buffers one step overwrites completely (a fresh allocation would also be NaN-filled
        when deterministic algorithms are on, as ``seed_everything`` sets)."""
        key = (live, size)
        if key not in self._work:
            W1 = self.params["W1"]
            d, h = W1.shape[1:]
            like = dict(dtype=W1.dtype, device=W1.device)
            self._work[key] = {
                "x": torch.empty(live * size, d, **like),
                "mask1": torch.empty(live, size, d, **like),
                "mask2": torch.empty(live, size, h, **like),
                "words1": torch.empty((live * size * d + 3) // 4, dtype=torch.int64, device=W1.device),
                "words2": torch.empty((live * size * h + 3) // 4, dtype=torch.int64, device=W1.device),
            }
        return self._work[key]

    def step(self, inputs: Tensors, y: torch.Tensor, index: torch.Tensor, ids: list[int]) -> torch.Tensor:
        """One optimiser step's forward and backward for every live member on its own rows
        ``index [A, B]``; leaves the gradients in ``.grad`` and returns the member losses [A]."""
        W1, b1, W2, b2 = self.params.values()
        live, size = index.shape
        flat = index.reshape(-1)
        work = self._workspace(live, size)
        x = torch.index_select(inputs["x"], 0, flat, out=work["x"]).view(live, size, -1)  # masked in place
        target = y.index_select(0, flat).view(live, size, *y.shape[1:])
        with torch.no_grad():
            s1 = _dropout_(x, self.p1, work["words1"], work["mask1"])
            h = torch.baddbmm(b1, x, W1, alpha=s1).clamp_min_(0)  # ReLU
            s2 = _dropout_(h, self.p2, work["words2"], work["mask2"])
            logits = torch.baddbmm(b2, h, W2, alpha=s2)
        logits.requires_grad_(True)
        with torch.enable_grad():
            losses = self.loss_fn(ids, logits, target)
            (grad,) = torch.autograd.grad(losses.sum(), logits)
        if self._grads is None or self._grads[0].shape[0] != live:
            self._grads = [torch.empty_like(p) for p in self.params.values()]
        gW1, gb1, gW2, gb2 = self._grads
        with torch.no_grad():
            gW2.baddbmm_(h.transpose(1, 2), grad, beta=0, alpha=s2)
            torch.sum(grad, 1, keepdim=True, out=gb2)
            # d loss / d (masked, unscaled h), through the mask and the ReLU: h > 0 exactly where
            # the unit was both kept and active
            dh = torch.bmm(grad, W2.transpose(1, 2)).mul_(torch.gt(h, 0, out=work["mask2"]))
            torch.sum(dh, 1, keepdim=True, out=gb1)
            if s2 != 1.0:
                gb1.mul_(s2)
            gW1.baddbmm_(x.transpose(1, 2), dh, beta=0, alpha=s1 * s2)
        for p, g in zip(self.params.values(), self._grads):
            p.grad = g
        return losses.detach()

    @torch.no_grad()
    def logits(self, inputs: Tensors, chunk: int = 1024) -> torch.Tensor:
        """[A, N, C] eval-mode logits (no dropout) of every member on the same rows."""
        W1, b1, W2, b2 = self.params.values()
        x = inputs["x"]
        parts = []
        for start in range(0, len(x), chunk):
            rows = x[start:start + chunk].expand(W1.shape[0], -1, -1)
            h = torch.baddbmm(b1, rows, W1).clamp_min_(0)
            parts.append(torch.baddbmm(b2, h, W2))
        return torch.cat(parts, dim=1)

    def _after_compact(self, keep: torch.Tensor) -> None:
        self._grads = None
        self._work.clear()

    @staticmethod
    @torch.no_grad()
    def load(model: nn.Module, state: Tensors | None) -> None:
        """Write a member's slices back into its ``SequenceClassifier`` (``nn.Linear`` keeps
        ``weight`` as [out, in], hence the transposes)."""
        if state is None:
            return
        first, second = model.head[1], model.head[4]
        first.weight.copy_(state["W1"].t())
        first.bias.copy_(state["b1"][0])
        second.weight.copy_(state["W2"].t())
        second.bias.copy_(state["b2"][0])


class _LSTMStepStack(_Stack):
    """Fast path for the flat ``lstm`` head: the BiLSTM's input projections and the output layer
    as five stacked tensors, so a step is two ``baddbmm``s; autograd does the backward.

    Exact for the outputs: from zero state one step needs only the input, cell and output gate
    rows of ``W_ih``, ``b_ih`` and ``b_hh`` (c = i·g, h = o·tanh(c)). ``W_hh`` and the forget-gate
    rows get no gradient either way and are left as initialised (the sequential trainer's weight
    decay would shrink them; they never affect these inputs).
    """

    path = "lstm_step"

    def __init__(self, models: list[nn.Module], device: torch.device, loss_fn: MemberLoss | None = None):
        self.p = float(models[0].head[0].p)
        self.hidden = models[0].encoder.lstm.hidden_size

        hidden = self.hidden

        def igo(tensor: torch.Tensor) -> torch.Tensor:
            """Input, cell and output gate rows (PyTorch order i, f, g, o): the forget gate
            multiplies c0 = 0, so its rows never matter here and get zero gradient anyway."""
            return torch.cat([tensor[:hidden], tensor[2 * hidden:]])

        def both(lstm: nn.LSTM, name: str) -> list[torch.Tensor]:
            return [igo(getattr(lstm, f"{name}_l0")), igo(getattr(lstm, f"{name}_l0_reverse"))]

        with torch.no_grad():
            lstms = [m.encoder.lstm for m in models]
            params = {
                "Wi": torch.stack([torch.cat([w.t() for w in both(l, "weight_ih")], 1) for l in lstms]),
                "bi": torch.stack([torch.cat(both(l, "bias_ih")) for l in lstms]).unsqueeze(1),
                "bh": torch.stack([torch.cat(both(l, "bias_hh")) for l in lstms]).unsqueeze(1),
                "Wo": torch.stack([m.head[1].weight.t() for m in models]),
                "bo": torch.stack([m.head[1].bias for m in models]).unsqueeze(1),
            }
        self.params: Tensors = {k: v.to(device).requires_grad_(True) for k, v in params.items()}
        self.loss_fn = loss_fn

    def _forward(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        Wi, bi, bh, Wo, bo = self.params.values()
        live, size = x.shape[:2]
        gates = torch.baddbmm(bi + bh, x, Wi).view(live, size, 2, 3, self.hidden)
        i, g, o = gates.unbind(3)
        h = (torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))).reshape(live, size, -1)
        if train and self.p:
            h = F.dropout(h, self.p, training=True)
        return torch.baddbmm(bo, h, Wo)

    def step(self, inputs: Tensors, y: torch.Tensor, index: torch.Tensor, ids: list[int]) -> torch.Tensor:
        live, size = index.shape
        flat = index.reshape(-1)
        x = inputs["x"].index_select(0, flat).view(live, size, -1)
        target = y.index_select(0, flat).view(live, size, *y.shape[1:])
        for p in self.params.values():
            p.grad = None
        with torch.enable_grad():
            losses = self.loss_fn(ids, self._forward(x, True), target)
            losses.sum().backward()
        return losses.detach()

    @torch.no_grad()
    def logits(self, inputs: Tensors, chunk: int = 1024) -> torch.Tensor:
        x = inputs["x"]
        live = self.params["Wi"].shape[0]
        return torch.cat([self._forward(x[s:s + chunk].expand(live, -1, -1), False)
                          for s in range(0, len(x), chunk)], dim=1)

    @staticmethod
    @torch.no_grad()
    def load(model: nn.Module, state: Tensors | None) -> None:
        if state is None:
            return
        lstm, out = model.encoder.lstm, model.head[1]
        hidden = lstm.hidden_size
        width = 3 * hidden
        for k, suffix in enumerate(("", "_reverse")):
            part = slice(k * width, (k + 1) * width)
            for name, value in (("weight_ih", state["Wi"][:, part].t()), ("bias_ih", state["bi"][0, part]),
                                ("bias_hh", state["bh"][0, part])):
                target = getattr(lstm, f"{name}_l0{suffix}")
                target[:hidden].copy_(value[:hidden])          # input gate
                target[2 * hidden:].copy_(value[hidden:])      # cell and output gates
        out.weight.copy_(state["Wo"].t())
        out.bias.copy_(state["bo"][0])


class _VmapStack(_Stack):
    """The general path: ``stack_module_state`` + ``vmap(functional_call)`` + autograd."""

    path = "vmap"

    def __init__(self, trainer: "BatchedTrainer", members: list[int], loss_fn: MemberLoss | None = None):
        self.base = trainer._base(members[0])
        params, buffers = stack_module_state([trainer.models[i] for i in members])
        self.params = {k: v.to(trainer.device) for k, v in params.items()}
        self.buffers = {k: v.to(trainer.device) for k, v in buffers.items()}
        self.forward = vmap(trainer._forward(self.base), randomness="different")
        self.shared_forward = vmap(trainer._forward(self.base), in_dims=(0, 0, None), randomness="different")
        self.loss_fn = loss_fn

    def step(self, inputs: Tensors, y: torch.Tensor, index: torch.Tensor, ids: list[int]) -> torch.Tensor:
        self.base.train()
        batch = trim_padding({k: v[index] for k, v in inputs.items()})  # [A, B, ...]
        losses = self.loss_fn(ids, self.forward(self.params, self.buffers, batch), y[index])  # [A]
        losses.sum().backward()
        return losses.detach()

    @torch.no_grad()
    def logits(self, inputs: Tensors, chunk: int = 1024) -> torch.Tensor:
        """[A, N, C] logits in eval mode, in chunks like ``Trainer._logits``."""
        self.base.eval()
        n = len(next(iter(inputs.values())))
        parts = [self.shared_forward(self.params, self.buffers,
                                     trim_padding({k: v[s:s + chunk] for k, v in inputs.items()}))
                 for s in range(0, n, chunk)]
        return torch.cat(parts, dim=1)

    def _state(self) -> Tensors:
        return {**self.params, **self.buffers}

    def _after_compact(self, keep: torch.Tensor) -> None:
        self.buffers = {k: v[keep] for k, v in self.buffers.items()}

    @staticmethod
    @torch.no_grad()
    def load(model: nn.Module, state: Tensors | None) -> None:
        if state is None:
            return
        targets = dict(model.named_parameters())
        targets.update(dict(model.named_buffers()))
        for name, tensor in state.items():
            targets[name].copy_(tensor)


class BatchedTrainer:
    """Fit ``models[i]`` with ``losses[i]`` and ``generators[i]`` like ``Trainer`` would, all at once.

    After ``fit`` every model in ``models`` holds its best-epoch weights (as ``Trainer`` leaves
    its model), so ``unstack(i)`` is a normal module that can go into a ``Pipeline``.
    ``fast_mlp=False`` sends plain ``mlp`` heads through the general ``vmap`` path too.
    """

    def __init__(self, models: list[nn.Module], losses: list[nn.Module], config: TrainingConfig,
                 generators: list[torch.Generator], multi_label: bool = False, fast_mlp: bool = True) -> None:
        if not (len(models) == len(losses) == len(generators)) or not models:
            raise ConfigError(f"need one loss and one generator per model; got {len(models)} models, "
                              f"{len(losses)} losses, {len(generators)} generators")
        if config.balanced_sampler:
            raise ConfigError("BatchedTrainer does not support balanced_sampler (each draw would "
                              "consume the member's generator differently); use Trainer")
        if config.mixup_alpha > 0:
            raise ConfigError("BatchedTrainer does not support mixup (its draws come from each member's "
                              "generator inside the batch loop); use Trainer")
        if config.scheduler == "plateau":
            raise ConfigError("BatchedTrainer does not support scheduler 'plateau' (the learning rate "
                              "would differ per member); use 'none', 'cosine' or Trainer")
        changed = {k for k in ("encoder_lr", "no_decay_norm_bias", "accumulate", "scheduler_interval",
                               "warmup_ratio", "bucket_by_length") if getattr(config, k) != TrainingConfig.model_fields[k].default}
        if changed:
            raise ConfigError(f"BatchedTrainer does not support {sorted(changed)}; use Trainer")
        if config.precision != "fp32":
            raise ConfigError(f"BatchedTrainer runs fp32 only (got precision {config.precision!r}); use Trainer")
        self.config = config
        self.device = pick_device(config.device)
        self.models = [m.to(self.device) for m in models]
        self.losses = [loss.to(self.device) for loss in losses]
        self.generators = generators
        self.multi_label = multi_label
        self.fast_mlp = fast_mlp
        self.paths = ["sequential"] * len(models)
        groups: dict[tuple, list[int]] = {}
        for i, model in enumerate(self.models):
            groups.setdefault(_signature(model), []).append(i)
        self.groups = list(groups.values())

    @property
    def batched(self) -> list[bool]:
        """Per member: whether it trained vectorised (``mlp`` or ``vmap`` path)."""
        return [path != "sequential" for path in self.paths]

    # --- public API ------------------------------------------------------------------------
    def fit(self, train: ArrayDataset, val: ArrayDataset | None = None) -> list[TrainResult]:
        """Train every member; members of equal architecture are trained as one stack."""
        results: list[TrainResult | None] = [None] * len(self.models)
        for members in self.groups:
            if self.fast_mlp and plain_mlp(self.models[members[0]], train, val):
                path = "mlp"
            elif self.fast_mlp and plain_lstm_step(self.models[members[0]], train, val):
                path = "lstm_step"
            elif self._vmappable(members[0], train):
                path = "vmap"
            else:
                path = "sequential"
            for i in members:
                self.paths[i] = path
            if path != "sequential":
                engine = self._engine(path, members, self._member_losses(members, path))
                for i, result in zip(members, self._fit_group(members, engine, train, val)):
                    results[i] = result
            else:
                for i in members:
                    trainer = Trainer(self.models[i], self.losses[i], self.config,
                                      multi_label=self.multi_label, generator=self.generators[i])
                    fit = trainer.fit(train, val)
                    results[i] = BatchedResult(fit.history, fit.best_epoch, fit.best_score,
                                               fit.seconds, member=i, batched=False, path="sequential")
        return results  # type: ignore[return-value]

    def predict_proba(self, data: ArrayDataset) -> list[np.ndarray]:
        """Probabilities of every member (best weights after ``fit``), in member order."""
        out: list[np.ndarray | None] = [None] * len(self.models)
        inputs, _ = data.tensors(self.device)
        for members in self.groups:
            path = self.paths[members[0]]
            if (path == "mlp" and not plain_mlp(self.models[members[0]], data)) or (
                    path == "lstm_step" and not plain_lstm_step(self.models[members[0]], data)):
                path = "vmap"  # trained on a fast path, but these inputs are not flat
            if path != "sequential":
                logits = self._engine(path, members).logits(inputs)
                for j, i in enumerate(members):
                    out[i] = self._to_probs(logits[j])
            else:
                for i in members:
                    out[i] = Trainer(self.models[i], self.losses[i], self.config,
                                     multi_label=self.multi_label).predict_proba(data)
        return out  # type: ignore[return-value]

    def unstack(self, member_index: int) -> nn.Module:
        """The trained model of member ``member_index`` (best-epoch weights), a plain module."""
        return self.models[member_index]

    # --- internals -------------------------------------------------------------------------
    def _engine(self, path: str, members: list[int], loss_fn: MemberLoss | None = None):
        if path == "mlp":
            return _MLPStack([self.models[i] for i in members], self.device, loss_fn)
        if path == "lstm_step":
            return _LSTMStepStack([self.models[i] for i in members], self.device, loss_fn)
        return _VmapStack(self, members, loss_fn)

    def _base(self, i: int) -> nn.Module:
        """A weightless copy of member ``i``'s module: the code that ``functional_call`` runs."""
        return copy.deepcopy(self.models[i]).to("meta")

    def _forward(self, base: nn.Module):
        def fn(params: Tensors, buffers: Tensors, batch: Tensors) -> torch.Tensor:
            return functional_call(base, (params, buffers), args=(), kwargs=batch)
        return fn

    def _member_losses(self, members: list[int], path: str = "vmap") -> MemberLoss:
        """Per-member losses [A]: vectorised formulas for ``CrossEntropy``/``FocalLoss`` on the
        fast path; elsewhere one vmapped call when the members' losses differ only in their
        buffers (e.g. class weights); otherwise — or if vmap fails — one call per member."""
        losses = [self.losses[i] for i in members]

        def looped(idx: list[int], logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return torch.stack([self.losses[i](logits[j], target[j]) for j, i in enumerate(idx)])

        if path in ("mlp", "lstm_step"):
            return self._formula_losses(members) or looped

        def settings(loss: nn.Module) -> tuple:
            plain = {k: v for k, v in vars(loss).items() if not k.startswith("_") and k != "training"}
            return type(loss), repr(sorted(plain.items())), tuple(
                (k, tuple(v.shape), v.dtype) for k, v in loss.named_buffers())

        if len({settings(loss) for loss in losses}) != 1 or list(losses[0].parameters()):
            return looped
        base = copy.deepcopy(losses[0])
        stacked = {k: torch.stack([dict(loss.named_buffers())[k] for loss in losses])
                   for k, _ in base.named_buffers()}
        position = {i: j for j, i in enumerate(members)}
        one = vmap(lambda b, logits, target: functional_call(base, b, (logits, target)))
        rows: dict[tuple[int, ...], Tensors] = {}
        use = [None]  # decided on the first call: vmapped, or looped if that raised

        def call(idx: list[int], logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            key = tuple(idx)
            if key not in rows:
                pick = torch.tensor([position[i] for i in idx], device=logits.device)
                rows[key] = {k: v[pick] for k, v in stacked.items()}
            if use[0] is None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out = one(rows[key], logits, target)
                    use[0] = True
                    return out
                except Exception:  # noqa: BLE001 - an op without a batching rule
                    use[0] = False
            return one(rows[key], logits, target) if use[0] else looped(idx, logits, target)

        return call

    def _formula_losses(self, members: list[int]) -> MemberLoss | None:
        """Single-label ``CrossEntropy`` / ``FocalLoss`` members with equal settings (gamma, label
        smoothing, weighted or not) as one vectorised formula over [A, B, C] with each member's
        own class weights; ``None`` when the members' losses are anything else."""
        losses = [self.losses[i] for i in members]
        kind = type(losses[0])
        if (self.multi_label or kind not in (CrossEntropy, FocalLoss)
                or any(type(loss) is not kind for loss in losses)):
            return None
        if any(loss._forward_hooks or loss._forward_pre_hooks for loss in losses):
            return None
        settings = {(float(loss.label_smoothing), float(getattr(loss, "gamma", 0.0)), loss.weight is None)
                    for loss in losses}
        if len(settings) != 1:
            return None
        smoothing, gamma, unweighted = settings.pop()
        weights = None
        if not unweighted:
            if (len({(tuple(loss.weight.shape), loss.weight.dtype) for loss in losses}) != 1
                    or losses[0].weight.dim() != 1):
                return None
            weights = torch.stack([loss.weight for loss in losses]).to(self.device)  # [G, C]
        position = {i: j for j, i in enumerate(members)}
        picked: dict[tuple[int, ...], torch.Tensor] = {}

        def call(idx: list[int], logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            weight = None
            if weights is not None:
                key = tuple(idx)
                if key not in picked:
                    picked.clear()
                    picked[key] = weights[torch.tensor([position[i] for i in idx], device=weights.device)]
                weight = picked[key]
            if kind is CrossEntropy:
                return _cross_entropy(logits, target, weight, smoothing)
            return _focal(logits, target, weight, gamma, smoothing)

        return call

    def _vmappable(self, i: int, train: ArrayDataset) -> bool:
        """Probe a stacked forward + backward of two members on two rows; any failure → sequential."""
        base = self._base(i)
        params, buffers = stack_module_state([self.models[i], self.models[i]])
        inputs, _ = train.take(np.arange(min(2, len(train)))).tensors(self.device)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                per_member = {k: torch.stack([v, v]) for k, v in inputs.items()}  # as ``step`` sees them
                out = vmap(self._forward(base), randomness="different")(params, buffers, per_member)
                out.sum().backward()
        except Exception:  # noqa: BLE001 - any unsupported op means "not vmappable"
            return False
        return True

    def _lr_clock(self) -> tuple[torch.optim.Optimizer, object | None]:
        """The learning rate per epoch comes from ``Trainer``'s own scheduler, run on a dummy
        optimiser, so the stacked optimiser can be rebuilt (members dropped) without losing it."""
        dummy = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=self.config.lr)
        return dummy, Trainer._schedule(self, dummy)  # type: ignore[arg-type] - uses only .config

    def _optimizer(self, params: Tensors) -> torch.optim.Optimizer:
        """AdamW with ``Trainer``'s settings (default betas/eps, decay on every parameter)."""
        cfg = self.config
        trainable = [p for p in params.values() if p.requires_grad]
        try:  # the fused kernel is ~3x faster on big stacked tensors; same maths up to rounding
            return torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        except (RuntimeError, ValueError):
            return torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)

    @staticmethod
    def _compact(params: Tensors, optimizer: torch.optim.Optimizer, keep: torch.Tensor,
                 make_optimizer) -> tuple[Tensors, torch.optim.Optimizer]:
        """Drop finished members: slice every stacked parameter and its AdamW state."""
        new = {k: (v.detach()[keep].clone().requires_grad_(True) if v.requires_grad else v[keep])
               for k, v in params.items()}
        new_opt = make_optimizer(new)
        new_opt.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"]
        for k, v in params.items():
            state = optimizer.state.get(v)
            if state:
                new_opt.state[new[k]] = {s: (t[keep].clone() if t.dim() > 0 else t.clone())
                                         for s, t in state.items()}
        return new, new_opt

    def _clip(self, params: Tensors) -> None:
        """``clip_grad_norm_`` applied to each member's slice on its own."""
        grads = [p.grad for p in params.values() if p.grad is not None]
        if not grads:
            return
        norms = torch.stack([g.reshape(g.shape[0], -1).norm(dim=1) for g in grads], dim=1).norm(dim=1)  # [A]
        coef = (self.config.grad_clip / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))

    def _to_probs(self, logits: torch.Tensor) -> np.ndarray:
        probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return probs.float().cpu().numpy()

    def _fit_group(self, members: list[int], engine, train: ArrayDataset,
                   val: ArrayDataset | None) -> list[BatchedResult]:
        cfg = self.config
        optimizer = self._optimizer(engine.params)
        clock, scheduler = self._lr_clock()
        inputs, y = train.tensors(self.device)
        has_val = val is not None and val.y is not None
        val_inputs = val.tensors(self.device)[0] if has_val else None
        val_y = np.asarray(val.y) if has_val else None
        val_y_t = torch.as_tensor(val_y, device=self.device) if has_val else None

        results = [BatchedResult(member=i, path=engine.path) for i in members]
        best_state: list[Tensors | None] = [None] * len(members)
        since_best = [0] * len(members)
        alive = list(range(len(members)))  # positions (in ``members``) of the stacked slices
        n = len(train)
        start = time.perf_counter()
        bar = tqdm(range(1, cfg.epochs + 1), desc=f"training x{len(members)}", unit="epoch",
                   disable=None if cfg.progress else True, leave=False)
        for epoch in bar:
            lr = clock.param_groups[0]["lr"]
            optimizer.param_groups[0]["lr"] = lr
            ids = [members[a] for a in alive]
            orders = torch.stack([torch.randperm(n, generator=self.generators[i])
                                  for i in ids]).to(self.device)  # [A, n]
            totals = torch.zeros(len(alive), dtype=torch.float64, device=self.device)
            for index in orders.split(cfg.batch_size, dim=1):  # [A, B]
                optimizer.zero_grad(set_to_none=True)
                member_losses = engine.step(inputs, y, index, ids)  # [A], gradients in .grad
                if cfg.grad_clip:
                    self._clip(engine.params)
                optimizer.step()
                totals += member_losses.double() * index.shape[1]

            rows = [{"epoch": epoch, "train_loss": float(t) / max(n, 1), "lr": lr} for t in totals.cpu()]
            finished: list[int] = []
            if has_val:
                val_logits = engine.logits(val_inputs)
                for j, a in enumerate(alive):
                    result, i = results[a], members[a]
                    with torch.no_grad():
                        val_loss = float(self.losses[i](val_logits[j], val_y_t))
                    current = score(cfg.monitor, val_y, self._to_probs(val_logits[j]), self.multi_label)
                    rows[j].update({"val_loss": val_loss, f"val_{cfg.monitor}": current})
                    if current > result.best_score:
                        result.best_score, result.best_epoch, since_best[a] = current, epoch, 0
                        best_state[a] = engine.slice(j)
                    else:
                        since_best[a] += 1
                    if since_best[a] >= cfg.patience:
                        finished.append(j)
            if scheduler is not None:
                clock.step()  # no gradients: a no-op that keeps the scheduler's order check quiet
                scheduler.step()
            for j, a in enumerate(alive):
                results[a].history.append(rows[j])
            if epoch == cfg.epochs:  # out of epochs: everyone still alive ends here
                finished = list(range(len(alive)))
            for j in finished:
                a = alive[j]
                if best_state[a] is None:  # no validation: keep the last weights
                    best_state[a] = engine.slice(j)
                    results[a].best_epoch = len(results[a].history)
                results[a].seconds = time.perf_counter() - start
            if finished:
                keep = [j for j in range(len(alive)) if j not in finished]
                alive = [alive[j] for j in keep]
                if not alive:
                    break
                optimizer = engine.compact(torch.tensor(keep, device=self.device), optimizer, self._optimizer)
            bar.set_postfix({"training": len(alive)})

        for a, i in enumerate(members):
            engine.load(self.models[i], best_state[a])
        return results
