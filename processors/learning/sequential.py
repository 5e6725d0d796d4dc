"""An always-valid sequential test on paired per-example loss differences (mixture SPRT).

For every labelled example both models are scored, and ``d = loss(control) − loss(candidate)``
(positive: the candidate is better). The test is the normal-mixture SPRT of Robbins, as used for
A/B tests by Johari, Pekelis & Walsh ("Always valid inference", 2017): with the differences'
variance σ² and a normal mixing distribution of standard deviation τ = ρ·σ over the true mean θ,

    Λ_n(θ) = sqrt(σ² / (σ² + nτ²)) · exp(n²τ² (x̄ − θ)² / (2σ² (σ² + nτ²)))

is a nonnegative martingale under θ, so ``P(∃n: Λ_n(θ) ≥ 1/α) ≤ α`` — the test may be *peeked at
after every example*. Inverting it gives a confidence sequence ``x̄ ± r_n`` (:func:`half_width`)
that holds for all ``n`` at once; :func:`decide` promotes when its lower end is above 0, rolls back
when its upper end is below 0, and stops at ``max_samples``. σ is estimated from the data (a
plug-in; ``min_samples`` keeps the first estimates out), which the unit tests check keeps false
promotions at or below α with peeking at every step.

>>> cfg = SequentialConfig(alpha=0.05, min_samples=50, max_samples=10_000)
>>> rng = np.random.default_rng(0)
>>> state = SequentialState().observe(rng.normal(0.2, 1.0, 1000))   # candidate clearly better
>>> type(decide(state, cfg)).__name__
'Promote'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

__all__ = ["Continue", "Decision", "Promote", "Rollback", "SequentialConfig", "SequentialState", "StopMaxSamples",
           "decide", "half_width", "log_loss_differences"]


@dataclass(frozen=True)
class SequentialConfig:
    """Attributes:
        alpha: bound on P(promoting a candidate that is not better), with peeking at every example.
        alpha_rollback: bound on P(rolling back a candidate that is not worse).
        tau_ratio: mixing standard deviation in units of σ (ρ); the test is most powerful for
            standardized effects near ρ (0.1: a tenth of a standard deviation of the difference).
        min_samples: no decision before this many pairs (the σ estimate settles).
        max_samples: stop without a decision at this many pairs.
    """

    alpha: float = 0.05
    alpha_rollback: float = 0.05
    tau_ratio: float = 0.1
    min_samples: int = 100
    max_samples: int = 20_000

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1 and 0 < self.alpha_rollback < 1 and self.tau_ratio > 0
                and 2 <= self.min_samples <= self.max_samples):
            raise ValueError(f"invalid sequential test configuration {self}")


@dataclass(frozen=True)
class SequentialState:
    """Count, mean and summed squared deviations of the differences seen (Welford/Chan)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def observe(self, diffs: np.ndarray | float) -> SequentialState:
        d = np.atleast_1d(np.asarray(diffs, dtype=np.float64))
        if d.size == 0:
            return self
        nb, mb = d.size, float(d.mean())
        m2b = float(((d - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        return SequentialState(n, self.mean + delta * nb / n, self.m2 + m2b + delta * delta * self.n * nb / n)

    @property
    def sd(self) -> float:
        return float(np.sqrt(self.m2 / (self.n - 1))) if self.n > 1 else 0.0


def half_width(n: np.ndarray | int, sd: np.ndarray | float, alpha: float, tau_ratio: float) -> np.ndarray:
    """Half-width ``r_n`` of the normal-mixture confidence sequence: ``P(∃n: |x̄_n − θ| > r_n) ≤ alpha``.

    >>> bool(half_width(1000, 1.0, 0.05, 0.1) > 1.96 / np.sqrt(1000))   # the price of peeking
    True
    """
    n = np.asarray(n, dtype=np.float64)
    s2 = np.asarray(sd, dtype=np.float64) ** 2
    nt2 = n * tau_ratio**2
    return np.sqrt(2.0 * s2 * (1.0 + nt2) / (n * n * tau_ratio**2) * (np.log(1.0 / alpha) + 0.5 * np.log1p(nt2)))


@dataclass(frozen=True)
class Continue:
    n: int
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Promote:
    """The candidate's loss is lower, with confidence ``1 − alpha``; ``low`` > 0."""

    n: int
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Rollback:
    """The candidate's loss is higher, with confidence ``1 − alpha_rollback``; ``high`` < 0."""

    n: int
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class StopMaxSamples:
    """No decision within ``max_samples``: the two are too close to tell (keep the control)."""

    n: int
    mean: float
    low: float
    high: float


Decision = Union[Continue, Promote, Rollback, StopMaxSamples]


def decide(state: SequentialState, config: SequentialConfig) -> Decision:
    """The test's answer after ``state.n`` pairs; any step may be looked at."""
    n, mean, sd = state.n, state.mean, state.sd
    if n < config.min_samples or sd == 0.0:
        if n >= config.max_samples:
            return StopMaxSamples(n, mean, mean, mean)
        return Continue(n, mean, -np.inf, np.inf)
    r_promote = float(half_width(n, sd, config.alpha, config.tau_ratio))
    r_rollback = float(half_width(n, sd, config.alpha_rollback, config.tau_ratio))
    if mean - r_promote > 0:
        return Promote(n, mean, mean - r_promote, mean + r_promote)
    if mean + r_rollback < 0:
        return Rollback(n, mean, mean - r_rollback, mean + r_rollback)
    if n >= config.max_samples:
        return StopMaxSamples(n, mean, mean - r_promote, mean + r_promote)
    return Continue(n, mean, mean - r_promote, mean + r_promote)


def log_loss_differences(y: np.ndarray, p_control: np.ndarray, p_candidate: np.ndarray,
                         floor: float = 1e-6) -> np.ndarray:
    """Per-example ``log-loss(control) − log-loss(candidate)``; probabilities floored at ``floor``
    so one confident mistake cannot dominate the variance (|d| ≤ ln(1/floor) ≈ 13.8).

    >>> log_loss_differences(np.array([0]), np.array([[0.5, 0.5]]), np.array([[0.8, 0.2]])).round(3).tolist()
    [0.47]
    """
    idx = np.arange(len(y))
    lc = -np.log(np.clip(np.asarray(p_control)[idx, y], floor, 1.0))
    lk = -np.log(np.clip(np.asarray(p_candidate)[idx, y], floor, 1.0))
    return lc - lk
