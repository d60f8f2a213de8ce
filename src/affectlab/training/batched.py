"""Train many small heads at once: the same protocol as ``Trainer``, one vectorised loop.

Seed sweeps and grids over small heads on cached features are dominated by per-step Python
and kernel-launch overhead, not arithmetic. ``BatchedTrainer`` stacks the members'
parameters along a leading member dimension (``torch.func.stack_module_state``), runs every
member's forward on its own batch with ``vmap(functional_call)``, and backpropagates the sum
of the members' losses — members share no parameters, so each stacked slice receives exactly
its own member's gradient. AdamW is elementwise, so one optimiser over the stacked tensors
equals one optimiser per member; gradient clipping is the only cross-element step and is done
per member.

What is the same as ``Trainer`` for every member: the batch order (member ``i`` draws
``torch.randperm`` from ``generators[i]`` each epoch, as ``Trainer._batches`` does), the
loss, AdamW, clipping, the learning-rate schedule, early stopping on ``monitor`` with
``patience``, the history rows and the restored best-epoch weights. Without dropout a member
matches a sequential run up to float rounding (batched matmuls sum in another order).
With dropout > 0 the masks come from a different random stream (vmap draws per-member masks
from the global generator), so such members are statistically but not bitwise equivalent.

Finished members (patience exhausted) are removed from the stack — with their optimiser
state — so late epochs only pay for the members still training.

Not supported in the batched path: the balanced sampler and augmentation (they draw from the
generator inside the batch loop) and the ``plateau`` scheduler (its learning rate would differ
per member) — these raise ``ConfigError``. Models that cannot run under ``vmap`` fall back to
one sequential ``Trainer`` per member, reported as ``batched=False``: this includes ``lstm``,
whose packed sequences call ``.item()`` on data-dependent lengths.
"""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..evaluation.metrics import score
from ..features.encoder import pick_device
from .data import ArrayDataset
from .trainer import Trainer, TrainingConfig, TrainResult

Tensors = dict[str, torch.Tensor]


@dataclass
class BatchedResult(TrainResult):
    """A ``TrainResult`` that also says whether the member really ran vectorised.

    ``seconds`` is the wall time from the start of its group's training until the member
    stopped (members of one group share the clock)."""

    member: int = 0
    batched: bool = True


def _signature(model: nn.Module) -> tuple:
    """Members can share one stacked forward only if everything but the weights is equal —
    architecture, hyper-parameters visible in ``repr`` (dropout p, sizes), shapes and dtypes."""
    tensors = [(k, tuple(v.shape), v.dtype, v.requires_grad) for k, v in model.named_parameters()]
    tensors += [(k, tuple(v.shape), v.dtype) for k, v in model.named_buffers()]
    return type(model), repr(model), tuple(tensors)


class BatchedTrainer:
    """Fit ``models[i]`` with ``losses[i]`` and ``generators[i]`` like ``Trainer`` would, all at once.

    After ``fit`` every model in ``models`` holds its best-epoch weights (as ``Trainer`` leaves
    its model), so ``unstack(i)`` is a normal module that can go into a ``Pipeline``.
    """

    def __init__(self, models: list[nn.Module], losses: list[nn.Module], config: TrainingConfig,
                 generators: list[torch.Generator], multi_label: bool = False) -> None:
        if not (len(models) == len(losses) == len(generators)) or not models:
            raise ConfigError(f"need one loss and one generator per model; got {len(models)} models, "
                              f"{len(losses)} losses, {len(generators)} generators")
        if config.balanced_sampler:
            raise ConfigError("BatchedTrainer does not support balanced_sampler (each draw would "
                              "consume the member's generator differently); use Trainer")
        if config.scheduler == "plateau":
            raise ConfigError("BatchedTrainer does not support scheduler 'plateau' (the learning rate "
                              "would differ per member); use 'none', 'cosine' or Trainer")
        self.config = config
        self.device = pick_device(config.device)
        self.models = [m.to(self.device) for m in models]
        self.losses = [loss.to(self.device) for loss in losses]
        self.generators = generators
        self.multi_label = multi_label
        self.batched = [False] * len(models)
        groups: dict[tuple, list[int]] = {}
        for i, model in enumerate(self.models):
            groups.setdefault(_signature(model), []).append(i)
        self.groups = list(groups.values())

    # --- public API ------------------------------------------------------------------------
    def fit(self, train: ArrayDataset, val: ArrayDataset | None = None) -> list[TrainResult]:
        """Train every member; members of equal architecture are trained as one stack."""
        results: list[TrainResult | None] = [None] * len(self.models)
        for members in self.groups:
            if self._vmappable(members[0], train):
                for i, result in zip(members, self._fit_group(members, train, val)):
                    results[i] = result
                    self.batched[i] = True
            else:
                for i in members:
                    trainer = Trainer(self.models[i], self.losses[i], self.config,
                                      multi_label=self.multi_label, generator=self.generators[i])
                    fit = trainer.fit(train, val)
                    results[i] = BatchedResult(fit.history, fit.best_epoch, fit.best_score,
                                               fit.seconds, member=i, batched=False)
        return results  # type: ignore[return-value]

    def predict_proba(self, data: ArrayDataset) -> list[np.ndarray]:
        """Probabilities of every member (best weights after ``fit``), in member order."""
        out: list[np.ndarray | None] = [None] * len(self.models)
        for members in self.groups:
            if all(self.batched[i] for i in members):
                params, buffers = stack_module_state([self.models[i] for i in members])
                logits = self._logits(self._base(members[0]), params, buffers, data)
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
    def _base(self, i: int) -> nn.Module:
        """A weightless copy of member ``i``'s module: the code that ``functional_call`` runs."""
        return copy.deepcopy(self.models[i]).to("meta")

    def _forward(self, base: nn.Module):
        def fn(params: Tensors, buffers: Tensors, batch: Tensors) -> torch.Tensor:
            return functional_call(base, (params, buffers), args=(), kwargs=batch)
        return fn

    def _member_losses(self, members: list[int]):
        """Per-member losses [A] as one vmapped call when the members' losses differ only in
        their buffers (e.g. class weights); otherwise — or if vmap fails — one call per member."""
        losses = [self.losses[i] for i in members]

        def looped(idx: list[int], logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return torch.stack([self.losses[i](logits[j], target[j]) for j, i in enumerate(idx)])

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

    def _vmappable(self, i: int, train: ArrayDataset) -> bool:
        """Probe a stacked forward + backward of two members on two rows; any failure → sequential."""
        base = self._base(i)
        params, buffers = stack_module_state([self.models[i], self.models[i]])
        inputs, _ = train.take(np.arange(min(2, len(train)))).tensors(self.device)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = vmap(self._forward(base), in_dims=(0, 0, None), randomness="different")(
                    params, buffers, inputs)
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
        cfg = self.config
        trainable = [p for p in params.values() if p.requires_grad]
        try:  # the fused kernel is ~4x faster on big stacked tensors; same maths up to rounding
            return torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        except (RuntimeError, ValueError):
            return torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)

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
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads], dim=1).norm(dim=1)  # [A]
        coef = (self.config.grad_clip / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))

    @torch.no_grad()
    def _logits(self, base: nn.Module, params: Tensors, buffers: Tensors, data: ArrayDataset,
                batch_size: int = 1024) -> torch.Tensor:
        """[members, N, C] logits in eval mode, in chunks like ``Trainer._logits``."""
        base.eval()
        inputs, _ = data.tensors(self.device)
        forward = vmap(self._forward(base), in_dims=(0, 0, None), randomness="different")
        parts = [forward(params, buffers, {k: v[s:s + batch_size] for k, v in inputs.items()})
                 for s in range(0, len(data), batch_size)]
        return torch.cat(parts, dim=1)

    def _to_probs(self, logits: torch.Tensor) -> np.ndarray:
        probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return probs.float().cpu().numpy()

    def _fit_group(self, members: list[int], train: ArrayDataset,
                   val: ArrayDataset | None) -> list[BatchedResult]:
        cfg = self.config
        base = self._base(members[0])
        forward = vmap(self._forward(base), randomness="different")
        params, buffers = stack_module_state([self.models[i] for i in members])
        params = {k: v.to(self.device) for k, v in params.items()}
        buffers = {k: v.to(self.device) for k, v in buffers.items()}
        optimizer = self._optimizer(params)
        loss_fn = self._member_losses(members)
        clock, scheduler = self._lr_clock()
        inputs, y = train.tensors(self.device)
        has_val = val is not None and val.y is not None
        val_y = np.asarray(val.y) if has_val else None
        val_y_t = torch.as_tensor(val_y, device=self.device) if has_val else None

        results = [BatchedResult(member=i) for i in members]
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
            base.train()
            orders = torch.stack([torch.randperm(n, generator=self.generators[members[a]])
                                  for a in alive]).to(self.device)  # [A, n]
            totals = torch.zeros(len(alive), dtype=torch.float64, device=self.device)
            for index in orders.split(cfg.batch_size, dim=1):  # [A, B]
                batch = {k: v[index] for k, v in inputs.items()}
                logits = forward(params, buffers, batch)  # [A, B, C]
                target = y[index]
                member_losses = loss_fn([members[a] for a in alive], logits, target)  # [A]
                optimizer.zero_grad(set_to_none=True)
                member_losses.sum().backward()
                if cfg.grad_clip:
                    self._clip(params)
                optimizer.step()
                totals += member_losses.detach().double() * index.shape[1]

            rows = [{"epoch": epoch, "train_loss": float(t) / max(n, 1), "lr": lr} for t in totals.cpu()]
            finished: list[int] = []
            if has_val:
                val_logits = self._logits(base, params, buffers, val)
                for j, a in enumerate(alive):
                    result, i = results[a], members[a]
                    with torch.no_grad():
                        val_loss = float(self.losses[i](val_logits[j], val_y_t))
                    current = score(cfg.monitor, val_y, self._to_probs(val_logits[j]), self.multi_label)
                    rows[j].update({"val_loss": val_loss, f"val_{cfg.monitor}": current})
                    if current > result.best_score:
                        result.best_score, result.best_epoch, since_best[a] = current, epoch, 0
                        best_state[a] = self._slice(params, buffers, j)
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
                    best_state[a] = self._slice(params, buffers, j)
                    results[a].best_epoch = len(results[a].history)
                results[a].seconds = time.perf_counter() - start
            if finished:
                keep = [j for j in range(len(alive)) if j not in finished]
                alive = [alive[j] for j in keep]
                if not alive:
                    break
                index = torch.tensor(keep, device=self.device)
                params, optimizer = self._compact(params, optimizer, index, self._optimizer)
                buffers = {k: v[index] for k, v in buffers.items()}
            bar.set_postfix({"training": len(alive)})

        for a, i in enumerate(members):
            self._load(self.models[i], best_state[a])
        return results

    @staticmethod
    def _slice(params: Tensors, buffers: Tensors, j: int) -> Tensors:
        return {k: v[j].detach().clone() for k, v in {**params, **buffers}.items()}

    @staticmethod
    @torch.no_grad()
    def _load(model: nn.Module, state: Tensors | None) -> None:
        if state is None:
            return
        targets = dict(model.named_parameters())
        targets.update(dict(model.named_buffers()))
        for name, tensor in state.items():
            targets[name].copy_(tensor)
