"""An online softmax head over fixed features: mini-batch updates mixed with replay.

The head is ``P(class | x) = softmax(x · W + b)``. For the quality model's linear half, ``x`` is
``[frozen linear-half logits (3), MiniLM embedding (384), standardized statistics (18)]`` and the
head starts at ``W = [I; 0; 0], b = 0``, i.e. exactly the shipped model; because the head is
linear in those blocks it folds back into the linear half's own weights
(:func:`processors.learning.fold.fold_head`). Nothing here knows that layout: any dense features.

Each :meth:`OnlineSoftmax.partial_fit` takes the new labelled rows, draws ``replay_ratio`` times
as many rows from the :class:`~processors.learning.replay.ReplayBuffer` (training set included),
and takes one optimizer step on the weighted cross-entropy of the union plus an L2 pull towards
an *anchor* (the weights it started from, L2-SP): replay and the anchor both keep the head from
forgetting what it knew. With ``average_half_life`` the head that predicts (and is cut as a
candidate) is an exponential moving average of the iterates (Polyak-Ruppert style), which removes
most of the step-to-step noise of a small-batch optimizer. :meth:`OnlineSoftmax.on_drift` applies
a :class:`DriftPolicy` after a confirmed concept shift, when forgetting is the point.

>>> head = HeadParams.identity(dim=2, classes=2)
>>> learner = OnlineSoftmax(head, LearnerConfig(optimizer=OptimizerConfig(lr=0.1, decay_steps=0), replay_ratio=0))
>>> X = np.array([[1.0, 0.0], [0.0, 1.0]]); y = np.array([1, 0])   # the opposite of the identity head
>>> before = learner.predict_proba(X)[:, 1].round(2).tolist()
>>> for _ in range(60):
...     _ = learner.partial_fit(X, y)
>>> before, bool((learner.predict_proba(X).argmax(axis=1) == y).all())
([0.27, 0.73], True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from processors.learning.optimizer import Optimizer, OptimizerConfig
from processors.learning.replay import ReplayBuffer
from processors.learning.state import pack, prefixed, unpack, unprefixed

__all__ = ["DriftPolicy", "FitReport", "HeadParams", "LearnerConfig", "OnlineSoftmax", "softmax"]

STATE_KIND = "assay-learning/learner/1"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class HeadParams:
    """Weights ``(d, k)`` and bias ``(k,)`` of a softmax head (float64)."""

    weights: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        w, b = np.asarray(self.weights, np.float64), np.asarray(self.bias, np.float64)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"head weights {w.shape} and bias {b.shape} do not fit")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "bias", b)

    @classmethod
    def identity(cls, dim: int, classes: int) -> HeadParams:
        """``W = [I; 0]``: the first ``classes`` features are passed through as logits."""
        w = np.zeros((dim, classes))
        w[:classes, :classes] = np.eye(classes)
        return cls(w, np.zeros(classes))

    @property
    def dim(self) -> int:
        return self.weights.shape[0]

    @property
    def classes(self) -> int:
        return self.weights.shape[1]

    def logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, np.float64) @ self.weights + self.bias

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.logits(X))


@dataclass(frozen=True)
class LearnerConfig:
    """How the head learns. Defaults: the choice of ``bench/online.py`` on the seed rows (progressive
    log-loss over a grid of optimizers, rates, L2, replay ratios and averaging; the grid is nearly
    flat there, within 0.0002 of log-loss, so the choice is weakly determined).

    Attributes:
        optimizer: step-size rule.
        l2: strength of the pull towards the anchor weights (per update, on the mean loss).
        replay_ratio: replayed rows per new row in each update (0 = no replay).
        recent_share: share of replayed rows drawn from the recency ring.
        replay_capacity, replay_recent: reservoir and ring sizes.
        average_half_life: half-life, in updates, of the moving average of the weights that
            predicts; 0 predicts with the last iterate.
        seed: seed of the replay draws (restored exactly from a checkpoint).
    """

    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=0.003, lr_min=0.0003))
    l2: float = 1e-2
    replay_ratio: float = 3.0
    recent_share: float = 0.3
    replay_capacity: int = 5000
    replay_recent: int = 500
    average_half_life: int = 20
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearnerConfig:
        d = dict(d)
        return cls(optimizer=OptimizerConfig(**d.pop("optimizer")), **d)


@dataclass(frozen=True)
class DriftPolicy:
    """What the learner does after a *confirmed* concept shift.

    Attributes:
        replay_factor: multiplier of pre-shift replay rows' weight (0 drops them: under the new
            concept their labels are wrong, and the training set is among them).
        restart_rate: back to the optimizer's full base rate, times ``rate_boost`` fading with
            half-life ``boost_half_life`` updates.
        forget_moments: also drop the optimizer's moments.
        release_anchor: stop the L2 pull towards the published weights (they encode the old
            concept) until the next :meth:`OnlineSoftmax.rebase`.
        catch_up_steps: extra optimizer steps per batch, each on a fresh replay draw, during the
            next ``catch_up_labels`` labels. An adaptive optimizer moves a weight by about one
            rate per step, so after a shift the head is short of *steps*, not of labels.

    The defaults were chosen among seven policies on a label rotation simulated inside the seed
    split of ``bench/online.py`` (lowest post-shift progressive log-loss), not on its stream.
    """

    replay_factor: float = 0.0
    restart_rate: bool = True
    forget_moments: bool = False
    release_anchor: bool = True
    rate_boost: float = 3.0
    boost_half_life: int = 50
    catch_up_steps: int = 8
    catch_up_labels: int = 1000


IGNORE_DRIFT = DriftPolicy(replay_factor=1.0, restart_rate=False, forget_moments=False, release_anchor=False,
                           rate_boost=1.0, catch_up_steps=0)


@dataclass(frozen=True)
class FitReport:
    """One update: rows learned, rows replayed, the batch's weighted loss before the step, the rate used."""

    new: int
    replayed: int
    loss: float
    rate: float


class OnlineSoftmax:
    """A softmax head learning from mini-batches, with replay and an anchor (see the module doc)."""

    def __init__(self, head: HeadParams, config: LearnerConfig | None = None) -> None:
        self.config = config or LearnerConfig()
        self.params = {"W": head.weights.copy(), "b": head.bias.copy()}
        self.average = {"W": head.weights.copy(), "b": head.bias.copy()}  # what predicts when averaging
        self.anchor: np.ndarray | None = head.weights.copy()  # L2-SP target; None after a released drift
        self.catch_up_left = 0  # labels still learned with extra steps after a drift
        self.catch_up_steps = 0
        self.optimizer = Optimizer(self.config.optimizer)
        self.replay = ReplayBuffer(head.dim, self.config.replay_capacity, self.config.replay_recent)
        self.rng = np.random.default_rng(self.config.seed)
        self.epoch = 0  # drift epochs so far: replay rows remember theirs
        self.learned = 0  # labelled rows learned (replay not counted)

    @property
    def _predicting(self) -> dict[str, np.ndarray]:
        return self.average if self.config.average_half_life > 0 else self.params

    @property
    def head(self) -> HeadParams:
        """A frozen copy of the weights that predict (a candidate version's head)."""
        p = self._predicting
        return HeadParams(p["W"].copy(), p["b"].copy())

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self._predicting
        return softmax(np.asarray(X, np.float64) @ p["W"] + p["b"])

    def seed_replay(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> None:
        """Put the training set (or any earlier labelled rows) into the replay reservoir."""
        self.replay.seed(np.asarray(X, np.float32), np.asarray(y, np.int64), self.rng, w)

    def partial_fit(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> FitReport:
        """One optimizer step on new rows ``X`` (n, d), classes ``y`` (n,), weights ``w`` (n,) plus
        replayed rows; then the new rows join the replay buffer."""
        X = np.asarray(X, np.float64)
        y = np.asarray(y, np.int64)
        w = np.ones(len(y)) if w is None else np.asarray(w, np.float64)
        if X.shape != (len(y), self.params["W"].shape[0]) or w.shape != y.shape:
            raise ValueError(f"X {X.shape}, y {y.shape}, w {w.shape} do not fit a head of {self.params['W'].shape}")
        if len(y) == 0:
            return FitReport(0, 0, 0.0, self.optimizer.rate())
        c = self.config
        n_replay = int(round(c.replay_ratio * len(y)))
        Xr, yr, wr = self.replay.sample(n_replay, self.rng, c.recent_share)
        rate = self.optimizer.rate()
        loss = self._step(np.concatenate([X, Xr]), np.concatenate([y, yr]), np.concatenate([w, wr]))
        self.replay.add(X.astype(np.float32), y, w, epoch=self.epoch, rng=self.rng)
        if self.catch_up_left > 0:
            for _ in range(self.catch_up_steps):
                self._step(*self.replay.sample(len(y) + n_replay, self.rng, c.recent_share))
            self.catch_up_left = max(0, self.catch_up_left - len(y))
        self.learned += len(y)
        return FitReport(len(y), len(yr), loss, rate)

    def _step(self, Xa: np.ndarray, ya: np.ndarray, wa: np.ndarray) -> float:
        """One optimizer step on weighted rows; returns their loss before the step."""
        c = self.config
        Xa = np.asarray(Xa, np.float64)
        W, b = self.params["W"], self.params["b"]
        P = softmax(Xa @ W + b)
        total = max(float(wa.sum()), 1e-12)
        idx = np.arange(len(ya))
        loss = float(-(wa * np.log(np.clip(P[idx, ya], 1e-12, 1.0))).sum() / total)
        G = P
        G[idx, ya] -= 1.0
        G *= (wa / total)[:, None]
        gW = Xa.T @ G
        if self.anchor is not None and c.l2 > 0:
            gW += c.l2 * (W - self.anchor)
        self.optimizer.step(self.params, {"W": gW, "b": G.sum(axis=0)})
        if c.average_half_life > 0:
            keep = 0.5 ** (1.0 / c.average_half_life)
            for name, value in self.params.items():
                self.average[name] *= keep
                self.average[name] += (1.0 - keep) * value
        return loss

    def adopt(self, head: HeadParams) -> None:
        """Continue from ``head`` (a promoted batch-refitted candidate); optimizer and replay are kept."""
        self.params = {"W": head.weights.copy(), "b": head.bias.copy()}
        self.average = {"W": head.weights.copy(), "b": head.bias.copy()}

    def rebase(self, weights: np.ndarray | None = None) -> None:
        """Anchor the L2 pull at ``weights`` (default: the current ones), e.g. the head just published."""
        self.anchor = (self.params["W"] if weights is None else np.asarray(weights, np.float64)).copy()

    def on_drift(self, policy: DriftPolicy) -> None:
        """Start a new drift epoch and apply ``policy`` (see :class:`DriftPolicy`)."""
        self.epoch += 1
        if policy.replay_factor != 1.0:
            self.replay.reweight_before(self.epoch, policy.replay_factor)
        if policy.restart_rate:
            self.optimizer.restart(forget_moments=policy.forget_moments, boost=policy.rate_boost,
                                   boost_half_life=policy.boost_half_life)
        if policy.release_anchor:
            self.anchor = None
        if policy.catch_up_steps > 0:
            self.catch_up_steps, self.catch_up_left = policy.catch_up_steps, policy.catch_up_labels
        if policy.restart_rate:  # the average would drag the old concept along for a half-life
            self.average = {k: v.copy() for k, v in self.params.items()}

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        oa, om = self.optimizer.to_state()
        ra, rm = self.replay.to_state()
        arrays = {"W": self.params["W"], "b": self.params["b"], "avg.W": self.average["W"], "avg.b": self.average["b"]}
        if self.anchor is not None:
            arrays["anchor"] = self.anchor
        arrays |= prefixed("opt", oa) | prefixed("replay", ra)
        meta = {"config": self.config.to_dict(), "optimizer": om, "replay": rm, "epoch": self.epoch,
                "learned": self.learned, "rng": self.rng.bit_generator.state,
                "catch_up": [self.catch_up_steps, self.catch_up_left]}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> OnlineSoftmax:
        learner = cls(HeadParams(arrays["W"], arrays["b"]), LearnerConfig.from_dict(meta["config"]))
        learner.anchor = arrays["anchor"].astype(np.float64).copy() if "anchor" in arrays else None
        learner.catch_up_steps, learner.catch_up_left = meta["catch_up"]
        learner.average = {"W": arrays["avg.W"].astype(np.float64).copy(), "b": arrays["avg.b"].astype(np.float64).copy()}
        learner.optimizer = Optimizer.from_state(unprefixed("opt", arrays), meta["optimizer"])
        learner.replay = ReplayBuffer.from_state(unprefixed("replay", arrays), meta["replay"])
        learner.rng.bit_generator.state = meta["rng"]
        learner.epoch, learner.learned = int(meta["epoch"]), int(meta["learned"])
        return learner

    def to_bytes(self) -> bytes:
        """Everything needed to continue exactly: weights, anchor, optimizer, replay, RNG."""
        return pack(STATE_KIND, *self.to_state())

    @classmethod
    def from_bytes(cls, blob: bytes) -> OnlineSoftmax:
        return cls.from_state(*unpack(blob, STATE_KIND))
