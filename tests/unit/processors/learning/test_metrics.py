"""processors.learning.metrics: progressive metrics agree with the model card's batch metrics."""

from __future__ import annotations

import numpy as np

from processors.learning.metrics import PrequentialMetrics, Tally
from processors.learning.state import pack, unpack
from processors.quality.evaluate import evaluate_proba


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    p = np.exp(logits)
    return y, p / p.sum(axis=1, keepdims=True)


def test_cumulative_equals_batch_evaluation_in_any_chunking() -> None:
    y, p = _data(1000)
    m = PrequentialMetrics(3, window=200, blocks=4)
    for a, b in [(0, 1), (1, 33), (33, 500), (500, 1000)]:
        m.update(y[a:b], p[a:b])
    s, ref = m.cumulative(), evaluate_proba(y, p)
    assert s.n == 1000
    assert np.isclose(s.macro_f1, ref["macro_f1"]) and np.isclose(s.accuracy, ref["accuracy"])
    assert np.isclose(s.log_loss, ref["log_loss"]) and np.isclose(s.ece, ref["ece"])


def test_window_covers_the_last_blocks_only() -> None:
    y, p = _data(1000, seed=1)
    m = PrequentialMetrics(3, window=200, blocks=4)
    m.update(y, p)
    w = m.windowed()
    assert 150 <= w.n <= 200
    ref = Tally.of(y[-w.n:], p[-w.n:]).snapshot()
    assert np.isclose(w.macro_f1, ref.macro_f1) and np.isclose(w.log_loss, ref.log_loss)
    m.reset_window()
    assert m.windowed().n == 0 and m.cumulative().n == 1000


def test_tallies_merge_and_state_round_trips() -> None:
    y, p = _data(300, seed=2)
    a, b = PrequentialMetrics(3, 100, 2), PrequentialMetrics(3, 100, 2)
    a.update(y[:120], p[:120])
    b.update(y[120:], p[120:])
    a.merge(b)
    assert np.isclose(a.cumulative().macro_f1, Tally.of(y, p).snapshot().macro_f1)
    restored = PrequentialMetrics.from_state(*unpack(pack("m", *a.to_state()), "m"))
    assert restored.cumulative() == a.cumulative() and restored.windowed() == a.windowed()
    assert (Tally.of(y, p) - Tally.of(y[:120], p[:120])).snapshot() == Tally.of(y[120:], p[120:]).snapshot()
