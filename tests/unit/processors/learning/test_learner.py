"""processors.learning.learner / optimizer / replay: the online head learns, remembers, follows a
shift when told, and restores exactly from its bytes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from processors.learning.learner import (IGNORE_DRIFT, DriftPolicy, HeadParams, LearnerConfig, OnlineSoftmax,
                                         softmax)
from processors.learning.optimizer import Optimizer, OptimizerConfig
from processors.learning.replay import ReplayBuffer
from processors.learning.metrics import Tally


def _blobs(n: int, seed: int, rotate: int = 0, dim: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes; ``rotate`` relabels them (a concept shift with the same inputs)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    centres = np.eye(3, dim) * 2.0
    X = centres[y] + rng.normal(size=(n, dim))
    return X, (y + rotate) % 3


def _f1(learner: OnlineSoftmax, X: np.ndarray, y: np.ndarray) -> float:
    return Tally.of(y, learner.predict_proba(X)).snapshot().macro_f1


def _stream(learner: OnlineSoftmax, X: np.ndarray, y: np.ndarray, batch: int = 32) -> None:
    for i in range(0, len(y), batch):
        learner.partial_fit(X[i:i + batch], y[i:i + batch])


@pytest.mark.parametrize("kind", ["adam", "adagrad"])
def test_learns_from_a_cold_start(kind: str) -> None:
    X, y = _blobs(3000, 0)
    Xt, yt = _blobs(1000, 1)
    learner = OnlineSoftmax(HeadParams(np.zeros((6, 3)), np.zeros(3)),
                            LearnerConfig(optimizer=OptimizerConfig(kind=kind, lr=0.05, decay_steps=0 if kind == "adagrad" else 500)))
    _stream(learner, X, y)
    assert _f1(learner, Xt, yt) > 0.8
    assert learner.learned == 3000 and len(learner.replay) == 3000


def test_identity_head_is_the_starting_model() -> None:
    X = np.random.default_rng(0).normal(size=(5, 7))
    assert np.allclose(HeadParams.identity(7, 3).predict_proba(X), softmax(X[:, :3]))


def test_sample_weights_count() -> None:
    X = np.array([[1.0, 0.0]] * 2)
    y = np.array([0, 1])
    cfg = LearnerConfig(optimizer=OptimizerConfig(lr=0.1, decay_steps=0), replay_ratio=0, l2=0)
    learner = OnlineSoftmax(HeadParams(np.zeros((2, 2)), np.zeros(2)), cfg)
    for _ in range(30):
        learner.partial_fit(X, y, np.array([1.0, 4.0]))
    assert learner.predict_proba(X[:1])[0, 1] > 0.7  # the heavier label wins


def test_replay_and_anchor_keep_the_old_concept_under_a_one_sided_stream() -> None:
    """A stream of one class only: without replay the head forgets the others; with it, it does not."""
    X, y = _blobs(3000, 2)
    Xt, yt = _blobs(1500, 3)
    only0 = y == 0

    def run(ratio: float) -> float:
        learner = OnlineSoftmax(HeadParams(np.zeros((6, 3)), np.zeros(3)),
                                LearnerConfig(optimizer=OptimizerConfig(lr=0.05), replay_ratio=0.0, l2=0))
        _stream(learner, X, y)
        learner.config = LearnerConfig(optimizer=learner.config.optimizer, replay_ratio=ratio, l2=1e-2)
        learner.anchor = learner.params["W"].copy()
        _stream(learner, np.repeat(X[only0], 3, axis=0), np.repeat(y[only0], 3))
        return _f1(learner, Xt, yt)

    assert run(1.0) > run(0.0) + 0.1


def _shifted(policy: DriftPolicy, n_post: int, seed: int) -> OnlineSoftmax:
    """2,000 labels (replay seeded with 2,000 more), ``policy`` applied, ``n_post`` rotated labels;
    the learner goes through its bytes half-way through the recovery."""
    learner = OnlineSoftmax(HeadParams(np.zeros((6, 3)), np.zeros(3)), LearnerConfig(optimizer=OptimizerConfig(lr=0.05)))
    learner.seed_replay(*_blobs(2000, seed + 2))
    _stream(learner, *_blobs(2000, seed))
    learner.on_drift(policy)
    Xs, ys = _blobs(n_post, seed + 1, rotate=1)
    _stream(learner, Xs[:n_post // 2], ys[:n_post // 2])
    learner = OnlineSoftmax.from_bytes(learner.to_bytes())
    _stream(learner, Xs[n_post // 2:], ys[n_post // 2:])
    return learner


def test_drift_policy_follows_a_rotated_concept_faster_than_ignoring_it() -> None:
    Xt, yt = _blobs(1000, 6, rotate=1)
    adapted, ignored = (_f1(_shifted(p, 600, 4), Xt, yt) for p in (DriftPolicy(), IGNORE_DRIFT))
    assert adapted > 0.8 and adapted > ignored + 0.1


def test_catch_up_steps_shorten_the_recovery() -> None:
    Xt, yt = _blobs(1000, 14, rotate=1)
    plain = _shifted(DriftPolicy(catch_up_steps=0), 150, 12)
    fast = _shifted(DriftPolicy(catch_up_steps=4, catch_up_labels=150), 150, 12)
    assert fast.catch_up_left == 0 and fast.anchor is None
    assert _f1(fast, Xt, yt) > _f1(plain, Xt, yt) + 0.1


def test_drop_on_drift_empties_pre_shift_replay() -> None:
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(dim=2, capacity=50, recent=10)
    buf.seed(np.zeros((100, 2)), np.zeros(100, np.int64), rng)
    buf.add(np.ones((20, 2)), np.ones(20, np.int64), None, epoch=1, rng=rng)
    buf.reweight_before(1, 0.0)
    X, y, w = buf.sample(200, rng)
    assert (y == 1).all() and len(buf) < 50
    buf.add(np.ones((100, 2)), np.ones(100, np.int64), None, epoch=1, rng=rng)
    assert len(buf) == 50  # refills from the new concept


def test_adam_restart_returns_to_the_full_rate() -> None:
    opt = Optimizer(OptimizerConfig(lr=0.1, decay_steps=10, lr_min=0.01))
    p = {"w": np.zeros(2)}
    for _ in range(100):
        opt.step(p, {"w": np.ones(2)})
    assert opt.rate() < 0.04
    opt.restart(forget_moments=False)
    assert opt.rate() == 0.1
    before = p["w"].copy()
    opt.step(p, {"w": np.ones(2)})
    assert np.all(np.abs(p["w"] - before) <= 0.1 + 1e-9)  # no bias-correction overshoot


@pytest.mark.parametrize("half_life", [0, 20])
def test_state_bytes_continue_exactly(half_life: int) -> None:
    X, y = _blobs(960, 8)
    a = OnlineSoftmax(HeadParams.identity(6, 3), LearnerConfig(replay_capacity=300, replay_recent=50,
                                                               average_half_life=half_life))
    a.seed_replay(*_blobs(400, 9))
    _stream(a, X[:480], y[:480])
    a.on_drift(DriftPolicy(replay_factor=0.5))
    b = OnlineSoftmax.from_bytes(a.to_bytes())
    _stream(a, X[480:], y[480:])
    _stream(b, X[480:], y[480:])
    assert np.array_equal(a.params["W"], b.params["W"]) and np.array_equal(a.params["b"], b.params["b"])
    assert a.to_bytes() == b.to_bytes()
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_weight_averaging_smooths_the_iterates() -> None:
    X, y = _blobs(4000, 10)
    Xt, yt = _blobs(2000, 11)
    cfg = LearnerConfig(optimizer=OptimizerConfig(lr=0.2, decay_steps=0), replay_ratio=0, l2=0)
    last, avg = (OnlineSoftmax(HeadParams(np.zeros((6, 3)), np.zeros(3)), replace(cfg, average_half_life=h))
                 for h in (0, 30))
    _stream(last, X, y, batch=8)
    _stream(avg, X, y, batch=8)
    loss = lambda m: Tally.of(yt, m.predict_proba(Xt)).snapshot().log_loss  # noqa: E731
    assert loss(avg) < loss(last)
    assert not np.array_equal(avg.head.weights, avg.params["W"])


def test_refit_reaches_the_batch_optimum_from_the_replay_reservoir() -> None:
    from processors.learning.refit import fit_head

    X, y = _blobs(1500, 15)
    learner = OnlineSoftmax(HeadParams(np.zeros((6, 3)), np.zeros(3)),
                            LearnerConfig(optimizer=OptimizerConfig(lr=0.01), replay_capacity=2000))
    _stream(learner, X[:320], y[:320])
    Xr, yr, wr = learner.replay.reservoir()
    assert len(yr) == 320
    refit = fit_head(Xr, yr, wr, learner.head, l2=1e-3)
    Xt, yt = _blobs(1000, 16)
    loss = lambda h: Tally.of(yt, h.predict_proba(Xt)).snapshot().log_loss  # noqa: E731
    assert loss(refit) < loss(learner.head)
    learner.adopt(refit)
    learner.rebase()
    assert np.array_equal(learner.head.weights, refit.weights) and np.array_equal(learner.anchor, refit.weights)
