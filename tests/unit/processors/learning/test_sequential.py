"""processors.learning.sequential: false promotions stay under alpha with a look after every
example (2,000 simulated null runs), and a real improvement is found."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from processors.learning.sequential import (Continue, Promote, Rollback, SequentialConfig, SequentialState,
                                            StopMaxSamples, decide, half_width, log_loss_differences)

RUNS, N, MIN = 2000, 1500, 100


def _peek_every_step(x: np.ndarray, alpha: float = 0.05, rho: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each run (row): ever promoted, ever rolled back, first promotion step (0 = never) — the
    same boundary :func:`decide` uses, evaluated after every example."""
    k = np.arange(1, x.shape[1] + 1)
    c, c2 = np.cumsum(x, 1), np.cumsum(x * x, 1)
    mean = c / k
    sd = np.sqrt(np.maximum((c2 - k * mean**2) / np.maximum(k - 1, 1), 0.0))
    r = half_width(k, sd, alpha, rho)
    prom = (mean - r > 0) & (k >= MIN)
    rb = (mean + r < 0) & (k >= MIN)
    first = np.where(prom.any(1), prom.argmax(1) + 1, 0)
    return prom.any(1), rb.any(1), first


NULLS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "normal": lambda g: g.normal(0.0, 1.0, (RUNS, N)),
    "heavy-tailed t3": lambda g: g.standard_t(3, (RUNS, N)),
    "skewed (exp - 1)": lambda g: 1.0 - g.exponential(1.0, (RUNS, N)),
}


@pytest.mark.parametrize("name", sorted(NULLS))
def test_type_one_error_with_peeking_at_every_step(name: str) -> None:
    prom, rb, _ = _peek_every_step(NULLS[name](np.random.default_rng(0)))
    se = np.sqrt(0.05 * 0.95 / RUNS)
    assert prom.mean() <= 0.05 + 2 * se, f"false promotions {prom.mean():.3f}"
    assert (prom | rb).mean() <= 0.05 + 2 * se


def test_naive_fixed_n_test_peeked_at_every_step_is_not_valid() -> None:
    """Why the mixture: a z-test looked at after every example promotes far more than 5 %."""
    x = np.random.default_rng(1).normal(0.0, 1.0, (RUNS, N))
    k = np.arange(1, N + 1)
    z = np.cumsum(x, 1) / np.sqrt(k)
    assert ((z > 1.645) & (k >= MIN)).any(1).mean() > 0.2


def test_power_under_an_alternative() -> None:
    x = np.random.default_rng(2).normal(0.1, 1.0, (500, 5000))
    prom, rb, first = _peek_every_step(x)
    assert prom.mean() > 0.95 and rb.mean() == 0.0
    assert np.median(first[first > 0]) < 1500


def test_decide_matches_the_vectorised_boundary_and_its_types() -> None:
    cfg = SequentialConfig(min_samples=MIN, max_samples=3000)
    rng = np.random.default_rng(3)
    assert isinstance(decide(SequentialState().observe(rng.normal(0.3, 1, 500)), cfg), Promote)
    assert isinstance(decide(SequentialState().observe(rng.normal(-0.3, 1, 500)), cfg), Rollback)
    assert isinstance(decide(SequentialState().observe(rng.normal(0.0, 1, 50)), cfg), Continue)
    assert isinstance(decide(SequentialState().observe(np.tile([0.01, -0.01], 1500)), cfg), StopMaxSamples)
    x = rng.normal(0.05, 1, 3000)
    s = SequentialState()
    for chunk in np.array_split(x, 37):
        s = s.observe(chunk)
    assert s.n == 3000 and np.isclose(s.mean, x.mean()) and np.isclose(s.sd, x.std(ddof=1))
    prom, _, first = _peek_every_step(x[None, :])
    seq = SequentialState()
    got = 0
    for i, v in enumerate(x, 1):
        seq = seq.observe(v)
        if isinstance(decide(seq, SequentialConfig(min_samples=MIN, max_samples=10**6)), Promote):
            got = i
            break
    assert got == first[0]


def test_log_loss_differences_sign() -> None:
    y = np.array([0, 1])
    ctrl = np.array([[0.5, 0.5], [0.5, 0.5]])
    better = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert (log_loss_differences(y, ctrl, better) > 0).all()
    assert (log_loss_differences(y, better, ctrl) < 0).all()
    assert log_loss_differences(y, ctrl, np.array([[0.0, 1.0], [1.0, 0.0]])).min() > -14.0
