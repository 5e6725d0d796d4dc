"""Concept-drift detectors on the model's error stream (0/1 errors of progressive predictions).

:class:`Adwin` is ADWIN2 (Bifet & Gavaldà, "Learning from Time-Changing Data with Adaptive
Windowing", SDM 2007), written from the paper: the window is an exponential histogram (row ``i``
holds at most ``max_buckets`` buckets of ``2**i`` values, each bucket its sum and sum of squared
deviations), and every ``clock`` values each bucket boundary splits the window into an older
``W0`` and a newer ``W1``; a change is declared when

    |μ1 − μ0| ≥ ε = sqrt(2 σ² ln(2/δ') / m) + 2 ln(2/δ') / (3 m),   1/m = 1/n0 + 1/n1,  δ' = δ / ln n

(σ² the window's variance, Bernstein's form of the paper's bound). Two departures, both measured in
``bench/online.py``: ``δ`` is *calibrated* for a target false-alarm rate instead of taken as 0.002
(:func:`processors.learning.drift_eval.calibrate`), and an alarm *resets* the window. The paper's
ADWIN only drops ``W0``; what is left can still straddle the change and fire a second time for
the same shift, and a learner must not reset twice for one shift. With ``direction="up"`` only a
rise of the error is an alarm; a fall (the learner recovering) shrinks the window silently.

:class:`PageHinkley` is the cumulative-sum alternative: cheaper, one threshold, best on abrupt
rises of known size.

>>> det = Adwin(delta=0.002)
>>> rng = np.random.default_rng(1)
>>> stream = np.r_[rng.random(3000) < 0.1, rng.random(2000) < 0.5].astype(float)
>>> alarms = det.update_many(stream)
>>> len(alarms), 3000 <= alarms[0].at < 3200
(1, True)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import numpy as np

__all__ = ["Adwin", "Alarm", "DriftDetector", "PageHinkley"]


@dataclass(frozen=True)
class Alarm:
    """A detected rise of the monitored mean: at the ``at``-th value (1-based, since creation),
    from about ``before`` to ``after``."""

    at: int
    before: float
    after: float


class DriftDetector(Protocol):
    seen: int

    def update(self, x: float) -> Alarm | None: ...

    def update_many(self, xs: np.ndarray) -> list[Alarm]: ...

    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...


class _Detector:
    """What both detectors share: feeding a stream."""

    def update(self, x: float) -> Alarm | None:
        raise NotImplementedError

    def update_many(self, xs: np.ndarray) -> list[Alarm]:
        """Feed values in order; the alarms they raised."""
        out = []
        for x in np.asarray(xs, dtype=np.float64).tolist():
            a = self.update(x)
            if a is not None:
                out.append(a)
        return out


class Adwin(_Detector):
    """ADWIN2 with a reset-on-alarm guard (see the module doc).

    Args:
        delta: confidence of each test; smaller = fewer false alarms, later detection.
        clock: test every ``clock`` values.
        max_buckets: buckets per histogram row (the paper's M).
        min_side: values each sub-window needs before a split is tested.
        direction: ``"up"``: only rises alarm; ``"both"``: any change.
        reset_on_alarm: forget the whole window after an alarm (the guard); ``False`` drops only
            the older buckets, as the paper does (kept to measure the difference).
    """

    def __init__(self, delta: float = 0.002, clock: int = 32, max_buckets: int = 5, min_side: int = 5,
                 direction: Literal["up", "both"] = "up", reset_on_alarm: bool = True) -> None:
        if not 0 < delta < 1 or clock < 1 or max_buckets < 2 or min_side < 1 or direction not in ("up", "both"):
            raise ValueError("need 0 < delta < 1, clock ≥ 1, max_buckets ≥ 2, min_side ≥ 1, direction up|both")
        self.delta, self.clock, self.max_buckets, self.min_side, self.direction = (
            delta, clock, max_buckets, min_side, direction)
        self.reset_on_alarm = reset_on_alarm
        self.seen = 0
        self.alarms = 0
        self._reset()

    def _reset(self) -> None:
        self.rows: list[deque[tuple[float, float]]] = [deque()]  # row i: (sum, M2) of 2**i values, oldest left
        self.width = 0
        self.total = 0.0
        self.m2 = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.width if self.width else 0.0

    def update(self, x: float) -> Alarm | None:
        x = float(x)
        self.seen += 1
        if self.width:
            d = x - self.total / self.width
            self.m2 += d * d * self.width / (self.width + 1)
        self.width += 1
        self.total += x
        self.rows[0].append((x, 0.0))
        for i, row in enumerate(self.rows):
            if len(row) <= self.max_buckets:
                break
            (s1, v1), (s2, v2) = row.popleft(), row.popleft()
            n = 1 << i
            merged = (s1 + s2, v1 + v2 + n * n / (2 * n) * (s1 / n - s2 / n) ** 2)
            if i + 1 == len(self.rows):
                self.rows.append(deque())
            self.rows[i + 1].append(merged)
        if self.seen % self.clock == 0 and self.width >= 2 * self.min_side:
            return self._check()
        return None

    def _buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket sizes and sums, oldest first."""
        n, s = [], []
        for i in range(len(self.rows) - 1, -1, -1):
            for total, _ in self.rows[i]:
                n.append(1 << i)
                s.append(total)
        return np.array(n, np.float64), np.array(s)

    def _splits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``(n0, mean0, n1, mean1)`` of every testable split (older W0 | newer W1), or None."""
        if self.width < 2 * self.min_side:
            return None
        n, s = self._buckets()
        n0, s0 = np.cumsum(n)[:-1], np.cumsum(s)[:-1]
        n1, s1 = self.width - n0, self.total - s0
        ok = (n0 >= self.min_side) & (n1 >= self.min_side)
        if not ok.any():
            return None
        return n0[ok], s0[ok] / n0[ok], n1[ok], s1[ok] / n1[ok]

    def _check(self) -> Alarm | None:
        while (splits := self._splits()) is not None:
            n0, mu0, n1, mu1 = splits
            eps = self._eps(n0, n1)
            diff = mu1 - mu0
            cut = np.abs(diff) >= eps
            if not cut.any():
                return None
            up = cut & (diff > 0)
            if up.any() or self.direction == "both":
                k = int(np.argmax(np.where(cut, np.abs(diff) - eps, -np.inf)))
                alarm = Alarm(self.seen, float(mu0[k]), float(mu1[k]))
                self.alarms += 1
                if self.reset_on_alarm:
                    self._reset()
                else:
                    while self._split_changes():
                        self._drop_oldest()
                return alarm
            self._drop_oldest()  # a fall: forget the older values, no alarm
        return None

    def _split_changes(self) -> bool:
        """Whether some split still shows a change (the paper's shrink loop)."""
        splits = self._splits()
        if splits is None:
            return False
        n0, mu0, n1, mu1 = splits
        return bool((np.abs(mu1 - mu0) >= self._eps(n0, n1)).any())

    def _eps(self, n0: np.ndarray, n1: np.ndarray) -> np.ndarray:
        var = self.m2 / self.width
        log_term = math.log(2.0 * math.log(self.width) / self.delta)
        inv_m = 1.0 / n0 + 1.0 / n1
        return np.sqrt(2.0 * var * log_term * inv_m) + 2.0 / 3.0 * log_term * inv_m

    def _drop_oldest(self) -> None:
        i = len(self.rows) - 1
        s, v = self.rows[i].popleft()
        nb = 1 << i
        rest = self.width - nb
        if rest <= 0:
            self._reset()
            return
        mu_rest = (self.total - s) / rest
        self.m2 = max(0.0, self.m2 - v - nb * rest / self.width * (s / nb - mu_rest) ** 2)
        self.width, self.total = rest, self.total - s
        while len(self.rows) > 1 and not self.rows[-1]:
            self.rows.pop()

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        rows = [(i, s, v) for i, row in enumerate(self.rows) for s, v in row]
        arrays = {"row": np.array([r[0] for r in rows], np.int64), "sum": np.array([r[1] for r in rows]),
                  "m2": np.array([r[2] for r in rows])}
        meta = {"kind": "adwin", "delta": self.delta, "clock": self.clock, "max_buckets": self.max_buckets,
                "min_side": self.min_side, "direction": self.direction, "reset_on_alarm": self.reset_on_alarm, "seen": self.seen, "alarms": self.alarms,
                "width": self.width, "total": self.total, "m2": self.m2, "rows": len(self.rows)}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Adwin:
        d = cls(meta["delta"], meta["clock"], meta["max_buckets"], meta["min_side"], meta["direction"],
                meta["reset_on_alarm"])
        d.seen, d.alarms, d.width, d.total, d.m2 = meta["seen"], meta["alarms"], meta["width"], meta["total"], meta["m2"]
        d.rows = [deque() for _ in range(meta["rows"])]
        for i, s, v in zip(arrays["row"].tolist(), arrays["sum"].tolist(), arrays["m2"].tolist()):
            d.rows[i].append((s, v))
        return d


@dataclass(frozen=True)
class PageHinkleyConfig:
    threshold: float = 50.0  # λ: alarm when the cumulative excess over the running mean reaches it
    margin: float = 0.005  # δ: rises smaller than this are tolerated
    min_values: int = 30


class PageHinkley(_Detector):
    """Page-Hinkley test for a rise of the mean; resets after each alarm.

    ``m_t = Σ (x_i − x̄_t − margin)``; alarm when ``m_t − min_{s≤t} m_s > threshold``.
    """

    def __init__(self, threshold: float = 50.0, margin: float = 0.005, min_values: int = 30) -> None:
        self.config = PageHinkleyConfig(threshold, margin, min_values)
        self.seen = 0
        self.alarms = 0
        self._reset()

    def _reset(self) -> None:
        self.n, self.mean, self.cum, self.low = 0, 0.0, 0.0, 0.0
        self.n_low, self.sum_low, self.sum = 0, 0.0, 0.0  # where the minimum was: the change point estimate

    def update(self, x: float) -> Alarm | None:
        c = self.config
        self.seen += 1
        self.n += 1
        self.sum += float(x)
        self.mean += (float(x) - self.mean) / self.n
        self.cum += float(x) - self.mean - c.margin
        if self.cum < self.low:
            self.low, self.n_low, self.sum_low = self.cum, self.n, self.sum
        if self.n >= c.min_values and self.cum - self.low > c.threshold:
            before = self.sum_low / self.n_low if self.n_low else self.mean
            after = (self.sum - self.sum_low) / max(1, self.n - self.n_low)
            alarm = Alarm(self.seen, before, after)
            self.alarms += 1
            self._reset()
            return alarm
        return None

    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"kind": "page_hinkley", "config": asdict(self.config), "seen": self.seen, "alarms": self.alarms,
                    "n": self.n, "mean": self.mean, "cum": self.cum, "low": self.low, "n_low": self.n_low,
                    "sum_low": self.sum_low, "sum": self.sum}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> PageHinkley:
        d = cls(**meta["config"])
        (d.seen, d.alarms, d.n, d.mean, d.cum, d.low, d.n_low, d.sum_low, d.sum) = (
            meta[k] for k in ("seen", "alarms", "n", "mean", "cum", "low", "n_low", "sum_low", "sum"))
        return d


def detector_from_state(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Adwin | PageHinkley:
    """Restore whichever detector :meth:`to_state` wrote."""
    return (Adwin if meta["kind"] == "adwin" else PageHinkley).from_state(arrays, meta)
