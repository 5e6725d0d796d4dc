"""Progressive (prequential) metrics: every example is scored *before* the model learns it.

A :class:`Tally` holds sufficient statistics — the confusion matrix, the summed log-loss and the
per-bin confidence/correctness sums of the top-label ECE (equal-width bins, as
:func:`processors.quality.evaluate.ece`) — so tallies add, subtract, merge across partitions or
workers, and serialise to a few small arrays. :class:`PrequentialMetrics` keeps a cumulative tally
and a sliding window made of fixed-size blocks (the window moves one block at a time, so its
memory is ``blocks`` tallies, never the examples).

>>> m = PrequentialMetrics(classes=3, window=4, blocks=2)
>>> m.update(np.array([0, 1, 2, 2]), np.array([[.8, .1, .1], [.2, .7, .1], [.1, .2, .7], [.6, .2, .2]]))
>>> s = m.cumulative()
>>> s.n, s.accuracy, round(s.macro_f1, 4)
(4, 0.75, 0.7778)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ECE_BINS", "MetricsSnapshot", "PrequentialMetrics", "Tally"]

ECE_BINS = 15  # the model card's ECE (processors.quality.evaluate.ece) uses 15 equal-width bins
_EPS = 1e-12


@dataclass(frozen=True)
class MetricsSnapshot:
    """Metrics of a set of scored examples (0 everywhere when ``n == 0``)."""

    n: int
    accuracy: float
    macro_f1: float
    log_loss: float
    ece: float

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "log_loss": self.log_loss,
                "ece": self.ece}


@dataclass(frozen=True)
class Tally:
    """Sufficient statistics of scored examples; immutable, adds and subtracts."""

    confusion: np.ndarray  # (k, k) int64, rows true, columns predicted
    loss_sum: float
    bin_count: np.ndarray  # (bins,) int64
    bin_conf: np.ndarray  # (bins,) summed top-label confidence
    bin_correct: np.ndarray  # (bins,) int64 correct top labels

    @classmethod
    def empty(cls, classes: int, bins: int = ECE_BINS) -> Tally:
        return cls(np.zeros((classes, classes), np.int64), 0.0, np.zeros(bins, np.int64), np.zeros(bins),
                   np.zeros(bins, np.int64))

    @classmethod
    def of(cls, y: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> Tally:
        """The tally of true classes ``y`` (n,) against predicted probabilities ``proba`` (n, k)."""
        y = np.asarray(y, dtype=np.int64)
        proba = np.asarray(proba, dtype=np.float64)
        k = proba.shape[1]
        pred = proba.argmax(axis=1)
        cm = np.zeros((k, k), np.int64)
        np.add.at(cm, (y, pred), 1)
        loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], _EPS, 1.0)).sum())
        conf = proba.max(axis=1)
        which = np.clip(np.digitize(conf, np.linspace(0.0, 1.0, bins + 1)[1:-1], right=True), 0, bins - 1)
        return cls(cm, loss, np.bincount(which, minlength=bins).astype(np.int64),
                   np.bincount(which, weights=conf, minlength=bins),
                   np.bincount(which, weights=(pred == y).astype(float), minlength=bins).round().astype(np.int64))

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.confusion + other.confusion, self.loss_sum + other.loss_sum,
                     self.bin_count + other.bin_count, self.bin_conf + other.bin_conf,
                     self.bin_correct + other.bin_correct)

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.confusion - other.confusion, self.loss_sum - other.loss_sum,
                     self.bin_count - other.bin_count, self.bin_conf - other.bin_conf,
                     self.bin_correct - other.bin_correct)

    def snapshot(self) -> MetricsSnapshot:
        n = self.n
        if n == 0:
            return MetricsSnapshot(0, 0.0, 0.0, 0.0, 0.0)
        cm = self.confusion
        tp = np.diag(cm).astype(float)
        pred_n, true_n = cm.sum(axis=0), cm.sum(axis=1)
        prec = np.divide(tp, pred_n, out=np.zeros_like(tp), where=pred_n > 0)
        rec = np.divide(tp, true_n, out=np.zeros_like(tp), where=true_n > 0)
        f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=prec + rec > 0)
        ece = float(np.abs(self.bin_correct - self.bin_conf).sum() / n)
        return MetricsSnapshot(n, float(tp.sum() / n), float(f1.mean()), self.loss_sum / n, ece)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"confusion": self.confusion, "loss_sum": np.array([self.loss_sum]), "bin_count": self.bin_count,
                "bin_conf": self.bin_conf, "bin_correct": self.bin_correct}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Tally:
        return cls(a["confusion"].astype(np.int64), float(a["loss_sum"][0]), a["bin_count"].astype(np.int64),
                   a["bin_conf"].astype(np.float64), a["bin_correct"].astype(np.int64))


class PrequentialMetrics:
    """Cumulative and windowed progressive metrics.

    Args:
        classes: number of classes.
        window: examples in the sliding window (rounded to whole blocks).
        blocks: blocks the window is made of; it slides one block (``window // blocks`` examples)
            at a time.
        bins: ECE bins.
    """

    def __init__(self, classes: int, window: int = 1000, blocks: int = 10, bins: int = ECE_BINS) -> None:
        if window < blocks or blocks < 1:
            raise ValueError(f"window {window} must hold at least {blocks} block(s) of one example")
        self.classes, self.bins = classes, bins
        self.block_size = window // blocks
        self.blocks = blocks
        self.total = Tally.empty(classes, bins)
        self.current = Tally.empty(classes, bins)  # the block being filled
        self.closed: deque[Tally] = deque(maxlen=blocks - 1 if blocks > 1 else 0)

    def update(self, y: np.ndarray, proba: np.ndarray) -> None:
        """Count examples scored *before* learning them (``y`` (n,), ``proba`` (n, k))."""
        y = np.asarray(y)
        start = 0
        while start < len(y):
            room = self.block_size - self.current.n
            part = Tally.of(y[start:start + room], proba[start:start + room], self.bins)
            self.total = self.total + part
            self.current = self.current + part
            start += room
            if self.current.n >= self.block_size:
                if self.closed.maxlen:
                    self.closed.append(self.current)
                self.current = Tally.empty(self.classes, self.bins)

    def cumulative(self) -> MetricsSnapshot:
        return self.total.snapshot()

    def windowed(self) -> MetricsSnapshot:
        """The last ``window`` examples, give or take the block being filled."""
        t = self.current
        for b in self.closed:
            t = t + b
        return t.snapshot()

    def reset_window(self) -> None:
        """Forget the window (after a confirmed concept shift, pre-shift examples say nothing)."""
        self.current = Tally.empty(self.classes, self.bins)
        self.closed.clear()

    def merge(self, other: PrequentialMetrics) -> None:
        """Add another worker's cumulative tally (windows are per worker and are not merged)."""
        self.total = self.total + other.total

    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, np.ndarray] = {}
        for name, t in [("total", self.total), ("current", self.current)] + [
                (f"closed{i}", b) for i, b in enumerate(self.closed)]:
            arrays.update({f"{name}.{k}": v for k, v in t.to_arrays().items()})
        meta = {"classes": self.classes, "bins": self.bins, "block_size": self.block_size, "blocks": self.blocks,
                "closed": len(self.closed)}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> PrequentialMetrics:
        m = cls(meta["classes"], meta["block_size"] * meta["blocks"], meta["blocks"], meta["bins"])

        def tally(name: str) -> Tally:
            p = name + "."
            return Tally.from_arrays({k[len(p):]: v for k, v in arrays.items() if k.startswith(p)})

        m.total, m.current = tally("total"), tally("current")
        for i in range(meta["closed"]):
            m.closed.append(tally(f"closed{i}"))
        return m
