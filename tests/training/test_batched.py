import numpy as np
import pytest
import torch

from affectlab.errors import ConfigError
from affectlab.models import create_model
from affectlab.training import ArrayDataset, Trainer, TrainingConfig, build_loss, seed_everything
from affectlab.training.batched import BatchedTrainer


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices gain nothing from threads, and on a busy machine threads make them crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CFG = dict(lr=1e-2, epochs=15, patience=4, batch_size=32, monitor="macro_f1", device="cpu", progress=False)


def _data(n=300, d=16, k=4, seed=0):
    """Overlapping blobs: learnable but not trivially, so validation scores move for a while."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, d)).astype(np.float32) + np.eye(k, d, dtype=np.float32)[y] * 2.0
    data = ArrayDataset({"x": x}, y)
    cut = 2 * n // 3
    return data.take(np.arange(cut)), data.take(np.arange(cut, n))


def _member(seed: int, train: ArrayDataset, **model_kwargs):
    """Model, loss and generator made exactly as a sequential run makes them."""
    generator = seed_everything(seed)
    model = create_model("mlp", input_dim=16, n_classes=4, **{"hidden": 32, "dropout": 0.0, **model_kwargs})
    return model, build_loss("ce", train.y, 4, False), generator


def test_batched_member_equals_sequential_trainer():
    train, val = _data()
    cfg = TrainingConfig(**CFG)
    seeds = [1, 3, 5]  # stop at epochs 12, 9 and (never) 15 with these settings
    sequential = []
    for seed in seeds:
        model, loss, gen = _member(seed, train)
        trainer = Trainer(model, loss, cfg, generator=gen)
        sequential.append((trainer.fit(train, val), trainer.predict_proba(val)))

    members = [_member(seed, train) for seed in seeds]
    batched = BatchedTrainer([m for m, _, _ in members], [l for _, l, _ in members], cfg,
                             [g for _, _, g in members])
    results = batched.fit(train, val)
    probs = batched.predict_proba(val)
    assert all(r.batched for r in results)
    assert sorted(len(r.history) for r in results) == [9, 12, 15]  # early stops are covered
    for (seq, seq_probs), res, prob, i in zip(sequential, results, probs, range(len(seeds))):
        assert res.best_epoch == seq.best_epoch
        assert len(res.history) == len(seq.history)
        assert res.best_score == pytest.approx(seq.best_score, abs=1e-5)
        for a, b in zip(res.history, seq.history):
            assert a["val_macro_f1"] == pytest.approx(b["val_macro_f1"], abs=1e-5)
            assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        np.testing.assert_allclose(prob, seq_probs, atol=1e-4)
        # the unstacked module is a plain model with the best weights
        alone = Trainer(batched.unstack(i), members[i][1], cfg).predict_proba(val)
        np.testing.assert_allclose(alone, prob, atol=1e-5)


def test_cosine_schedule_and_per_member_clipping_match_sequential():
    train, val = _data()
    # a tight clip makes every step clip, each member by its own norm
    cfg = TrainingConfig(**{**CFG, "epochs": 6, "scheduler": "cosine", "warmup_epochs": 2, "grad_clip": 0.05})
    seeds = [3, 4]
    sequential = []
    for seed in seeds:
        model, loss, gen = _member(seed, train)
        trainer = Trainer(model, loss, cfg, generator=gen)
        sequential.append((trainer.fit(train, val), trainer.predict_proba(val)))
    models, losses, generators = (list(t) for t in zip(*[_member(s, train) for s in seeds]))
    batched = BatchedTrainer(models, losses, cfg, generators)
    for (seq, seq_probs), res, prob in zip(sequential, batched.fit(train, val), batched.predict_proba(val)):
        assert [r["lr"] for r in res.history] == pytest.approx([r["lr"] for r in seq.history])
        assert [r["train_loss"] for r in res.history] == pytest.approx(
            [r["train_loss"] for r in seq.history], abs=1e-4)
        np.testing.assert_allclose(prob, seq_probs, atol=1e-4)


def _zeroed(model: torch.nn.Module) -> torch.nn.Module:
    """All-zero MLP: ReLU'(0) = 0 blocks every gradient but the output bias, so the prediction
    is one class for everyone and the score plateaus at once — a member bound to stop early."""
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def test_early_stopping_is_per_member():
    train, val = _data()
    cfg = TrainingConfig(**{**CFG, "lr": 1e-3, "patience": 2, "epochs": 30})
    stuck, learning = _member(0, train), _member(1, train)
    batched = BatchedTrainer([_zeroed(stuck[0]), learning[0]], [stuck[1], learning[1]], cfg,
                             [stuck[2], learning[2]])
    results = batched.fit(train, val)
    assert len(results[0].history) == results[0].best_epoch + cfg.patience
    assert len(results[0].history) + 10 < len(results[1].history)
    # each member still matches its own sequential run after the other one left the stack
    for seed, res, zero in ((0, results[0], True), (1, results[1], False)):
        model, loss, gen = _member(seed, train)
        seq = Trainer(_zeroed(model) if zero else model, loss, cfg, generator=gen).fit(train, val)
        assert (res.best_epoch, len(res.history)) == (seq.best_epoch, len(seq.history))
        assert res.best_score == pytest.approx(seq.best_score, abs=1e-5)


def test_members_of_different_shapes_are_grouped_and_kept_in_order():
    train, val = _data()
    cfg = TrainingConfig(**{**CFG, "epochs": 3})
    kwargs = [{"hidden": 32}, {"hidden": 8}, {"hidden": 32, "dropout": 0.2}, {"hidden": 8}]
    members = [_member(seed, train, **kw) for seed, kw in enumerate(kwargs)]
    for m, _, _ in members:
        m.head[1].bias.data.zero_()  # any change, just to see that weights move
    models, losses, generators = (list(t) for t in zip(*members))
    batched = BatchedTrainer(models, losses, cfg, generators)
    assert len(batched.groups) == 3
    results = batched.fit(train, val)
    assert [r.member for r in results] == [0, 1, 2, 3] and all(r.batched for r in results)
    assert [batched.unstack(i).head[1].out_features for i in range(4)] == [32, 8, 32, 8]
    assert all(p.shape == (len(val), 4) for p in batched.predict_proba(val))
    assert all(batched.unstack(i).head[1].bias.abs().sum() > 0 for i in range(4))


def test_unsupported_settings_raise():
    train, _ = _data()
    model, loss, gen = _member(0, train)
    with pytest.raises(ConfigError, match="balanced_sampler"):
        BatchedTrainer([model], [loss], TrainingConfig(**{**CFG, "balanced_sampler": True}), [gen])
    with pytest.raises(ConfigError, match="plateau"):
        BatchedTrainer([model], [loss], TrainingConfig(**{**CFG, "scheduler": "plateau"}), [gen])


def _lstm_member(seed: int, train: ArrayDataset, dropout: float = 0.0):
    generator = seed_everything(seed)
    model = create_model("lstm", input_dim=16, n_classes=4, hidden=8, dropout=dropout)
    return model, build_loss("ce", train.y, 4, False), generator


def test_flat_lstm_heads_take_the_single_step_path_and_match_sequential():
    train, val = _data(n=150)
    cfg = TrainingConfig(**{**CFG, "epochs": 6})
    sequential = _sequential((0, 1), train, val, cfg, make=_lstm_member)
    members = [_lstm_member(seed, train) for seed in (0, 1)]
    models, losses, generators = (list(t) for t in zip(*members))
    batched = BatchedTrainer(models, losses, cfg, generators)
    results = batched.fit(train, val)
    assert [r.path for r in results] == ["lstm_step", "lstm_step"]
    _assert_matches(sequential, results, batched.predict_proba(val))
    alone = Trainer(batched.unstack(1), losses[1], cfg).predict_proba(val)
    np.testing.assert_allclose(alone, batched.predict_proba(val)[1], atol=1e-5)


def _masked_sequences(n: int):
    """[n, 3, 16] sequences whose every other row has only two real units; 2/3 train, 1/3 val."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3, 16)).astype(np.float32)
    mask = np.ones((n, 3), dtype=np.float32)
    mask[::2, 2] = 0
    data = ArrayDataset({"x": x, "mask": mask}, rng.integers(0, 4, n))
    cut = 2 * n // 3
    return data.take(np.arange(cut)), data.take(np.arange(cut, n))


def _masked_lstm_member(seed: int, train: ArrayDataset, dropout: float = 0.0):
    generator = seed_everything(seed)
    model = create_model("lstm", input_dim=16, n_classes=4, hidden=8, dropout=dropout, aggregator="lstm")
    return model, build_loss("ce", train.y, 4, False), generator


def test_lstm_over_masked_sequences_is_vmapped_and_matches_sequential():
    train, val = _masked_sequences(120)
    cfg = TrainingConfig(**{**CFG, "epochs": 4})
    sequential = _sequential((0, 1), train, val, cfg, make=_masked_lstm_member)
    members = [_masked_lstm_member(seed, train) for seed in (0, 1)]
    models, losses, generators = (list(t) for t in zip(*members))
    batched = BatchedTrainer(models, losses, cfg, generators)
    results = batched.fit(train, val)
    assert [r.path for r in results] == ["vmap", "vmap"]
    _assert_matches(sequential, results, batched.predict_proba(val))


class _HostSync(torch.nn.Module):
    """Reads a value back to the host mid-forward: cannot run under vmap."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(16, 4)

    def forward(self, x, mask=None):
        steps = int(mask.sum(1).max().item()) if mask is not None else x.shape[1]
        return self.linear(x[:, :steps].mean(1))


def test_models_that_cannot_be_vmapped_fall_back_to_sequential():
    train, val = _masked_sequences(120)
    cfg = TrainingConfig(**{**CFG, "epochs": 2})
    models = [_HostSync() for _ in range(2)]
    losses = [build_loss("ce", train.y, 4, False) for _ in range(2)]
    batched = BatchedTrainer(models, losses, cfg, [torch.Generator().manual_seed(s) for s in (0, 1)])
    results = batched.fit(train, val)
    assert [r.batched for r in results] == [False, False]
    assert all(p.shape == (len(val), 4) for p in batched.predict_proba(val))


# --- the hand-written mlp fast path ------------------------------------------------------------

def _sequential(seeds, train, val, cfg, make=_member, multi_label=False):
    out = []
    for seed in seeds:
        model, loss, gen = make(seed, train)
        trainer = Trainer(model, loss, cfg, multi_label=multi_label, generator=gen)
        out.append((trainer.fit(train, val), trainer.predict_proba(val)))
    return out


def _assert_matches(sequential, results, probs):
    for (seq, seq_probs), res, prob in zip(sequential, results, probs):
        assert (res.best_epoch, len(res.history)) == (seq.best_epoch, len(seq.history))
        assert res.best_score == pytest.approx(seq.best_score, abs=1e-5)
        for a, b in zip(res.history, seq.history):
            assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
            assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-4)
        np.testing.assert_allclose(prob, seq_probs, atol=1e-4)


def test_plain_mlp_detection():
    from affectlab.training.batched import plain_mlp

    train, val = _data()
    model = _member(0, train)[0]
    assert plain_mlp(model, train, val)
    with_mask = ArrayDataset({"x": train.inputs["x"], "mask": np.ones((len(train), 1))}, train.y)
    assert not plain_mlp(model, with_mask)
    assert not plain_mlp(model, ArrayDataset({"x": train.inputs["x"][:, None, :]}, train.y))  # a sequence
    assert not plain_mlp(_member(0, train, aggregator="attn")[0], train)
    assert not plain_mlp(_member(0, train, layer_mix=2)[0], train)
    assert not plain_mlp(create_model("lstm", input_dim=16, n_classes=4, hidden=8), train)
    frozen = _member(0, train)[0]
    frozen.head[1].bias.requires_grad_(False)
    assert not plain_mlp(frozen, train)


def test_fast_path_and_vmap_path_both_match_sequential():
    train, val = _data()
    cfg = TrainingConfig(**CFG)
    seeds = [1, 3, 5]
    sequential = _sequential(seeds, train, val, cfg)
    for fast, path in ((True, "mlp"), (False, "vmap")):
        models, losses, generators = (list(t) for t in zip(*[_member(s, train) for s in seeds]))
        batched = BatchedTrainer(models, losses, cfg, generators, fast_mlp=fast)
        results = batched.fit(train, val)
        assert [r.path for r in results] == [path] * 3 and batched.batched == [True] * 3
        _assert_matches(sequential, results, batched.predict_proba(val))


def _weighted_member(loss_name, clip, **options):
    def make(seed, train):
        generator = seed_everything(seed)
        model = create_model("mlp", input_dim=16, n_classes=4, hidden=32, dropout=0.0)
        loss = build_loss(loss_name, train.y, 4, False, class_weighting="balanced", weight_clip=clip,
                          **options)
        return model, loss, generator
    return make


@pytest.mark.parametrize("loss_name, options", [("ce", {"label_smoothing": 0.1}),
                                                ("focal", {"gamma": 2.0}),
                                                ("focal", {"gamma": 1.2, "label_smoothing": 0.1})])
def test_fast_path_vectorised_losses_with_per_member_class_weights(loss_name, options):
    # unbalanced labels so that the two clips give the members different class weights
    train, val = _data()
    keep = np.flatnonzero((train.y != 0) | (np.arange(len(train)) % 4 == 0))
    train = train.take(keep)
    cfg = TrainingConfig(**{**CFG, "epochs": 8})
    makers = [_weighted_member(loss_name, 10.0, **options), _weighted_member(loss_name, 1.2, **options)]
    sequential = [_sequential([seed], train, val, cfg, make)[0] for seed, make in zip((2, 7), makers)]
    members = [make(seed, train) for seed, make in zip((2, 7), makers)]
    assert not torch.equal(members[0][1].weight, members[1][1].weight)
    models, losses, generators = (list(t) for t in zip(*members))
    batched = BatchedTrainer(models, losses, cfg, generators)
    assert batched._formula_losses([0, 1]) is not None  # the vectorised formula, not the loop
    results = batched.fit(train, val)
    assert [r.path for r in results] == ["mlp", "mlp"]
    _assert_matches(sequential, results, batched.predict_proba(val))


@pytest.mark.parametrize("loss_name, options", [("ce", {}), ("ce", {"label_smoothing": 0.2}),
                                                ("focal", {"gamma": 0.0}), ("focal", {"gamma": 2.5}),
                                                ("focal", {"gamma": 1.5, "label_smoothing": 0.1})])
@pytest.mark.parametrize("weighted", [False, True])
def test_vectorised_loss_formulas_equal_the_modules(loss_name, options, weighted):
    from affectlab.training.losses import LOSSES

    rng = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 20, 5, generator=rng, dtype=torch.float64)
    target = torch.randint(0, 5, (3, 20), generator=rng)
    modules = [LOSSES.create(loss_name, weight=torch.rand(5, generator=rng, dtype=torch.float64) + 0.1
                             if weighted else None, **options) for _ in range(3)]
    cfg = TrainingConfig(**CFG)
    trainer = BatchedTrainer([_member(0, _data()[0])[0] for _ in range(3)], modules, cfg,
                             [torch.Generator() for _ in range(3)])
    vectorised = trainer._formula_losses([0, 1, 2])
    assert vectorised is not None
    for idx in ([0, 1, 2], [2, 0]):  # any subset of live members, in stack order
        left = logits[: len(idx)].clone().requires_grad_(True)
        right = logits[: len(idx)].clone().requires_grad_(True)
        ours = vectorised(idx, left, target[: len(idx)])
        theirs = torch.stack([modules[i](right[j], target[j]) for j, i in enumerate(idx)])
        torch.testing.assert_close(ours, theirs)
        ours.sum().backward()
        theirs.sum().backward()
        torch.testing.assert_close(left.grad, right.grad)


def test_fast_path_other_losses_loop_per_member_multi_label():
    """A loss without a vectorised formula (multi-label BCE) is each member's module on its slice."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 16)).astype(np.float32)
    y = (x[:, :4] + rng.normal(scale=0.5, size=(240, 4)) > 0).astype(np.int64)
    data = ArrayDataset({"x": x}, y)
    train, val = data.take(np.arange(160)), data.take(np.arange(160, 240))
    cfg = TrainingConfig(**{**CFG, "epochs": 6})

    def make(seed, train):
        generator = seed_everything(seed)
        model = create_model("mlp", input_dim=16, n_classes=4, hidden=32, dropout=0.0)
        return model, build_loss("bce", train.y, 4, True, class_weighting="balanced"), generator

    sequential = _sequential([0, 1], train, val, cfg, make, multi_label=True)
    models, losses, generators = (list(t) for t in zip(*[make(s, train) for s in (0, 1)]))
    batched = BatchedTrainer(models, losses, cfg, generators, multi_label=True)
    assert batched._formula_losses([0, 1]) is None
    results = batched.fit(train, val)
    assert [r.path for r in results] == ["mlp", "mlp"]
    _assert_matches(sequential, results, batched.predict_proba(val))


def test_fast_path_dropout_draws_independent_masks_at_rate_p():
    from affectlab.training.batched import _dropout_

    torch.manual_seed(0)
    x = torch.ones(10, 64, 384)
    words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64)
    scale = _dropout_(x, 0.3, words, torch.empty_like(x))
    kept = x.mean().item()
    assert kept == pytest.approx(0.7, abs=0.005)
    assert kept * scale == pytest.approx(1.0, abs=0.01)  # unbiased after the folded rescale
    assert scale == pytest.approx(1 / 0.7, rel=1e-4)
    assert not torch.equal(x[0], x[1])  # every member and row has its own mask
    assert _dropout_(torch.ones(3), 0.0, words, torch.empty(3)) == 1.0


def test_fast_path_with_dropout_trains_like_sequential():
    """Statistically, not bitwise: same data, same epochs, comparable validation scores."""
    train, val = _data(n=600)
    cfg = TrainingConfig(**{**CFG, "epochs": 10, "patience": 10})
    seeds = [0, 1, 2, 3]
    make = lambda seed, train: _member(seed, train, dropout=0.3)  # noqa: E731
    sequential = [seq.best_score for seq, _ in _sequential(seeds, train, val, cfg, make)]
    models, losses, generators = (list(t) for t in zip(*[make(s, train) for s in seeds]))
    results = BatchedTrainer(models, losses, cfg, generators).fit(train, val)
    assert [r.path for r in results] == ["mlp"] * 4
    assert np.mean([r.best_score for r in results]) == pytest.approx(np.mean(sequential), abs=0.05)


@pytest.mark.parametrize("aggregator", ["expdecay", "attn", "lstm"])
def test_sequence_heads_with_scalar_and_masked_parameters_train_batched(aggregator):
    train, val = _masked_sequences(150)
    cfg = TrainingConfig(**{**CFG, "epochs": 2})
    members = []
    for seed in (0, 1):
        gen = seed_everything(seed)
        members.append((create_model("mlp", input_dim=16, n_classes=4, hidden=8, aggregator=aggregator),
                        build_loss("ce", train.y, 4, False), gen))
    models, losses, generators = (list(t) for t in zip(*members))
    results = BatchedTrainer(models, losses, cfg, generators).fit(train, val)
    assert all(len(r.history) == 2 for r in results)
