"""Replay buffer: earlier labelled examples mixed into every online update (against forgetting).

Two parts, fixed memory:

* a **reservoir** (Vitter's algorithm R): a uniform sample of everything ever offered, the
  training set included (:meth:`ReplayBuffer.seed`), so the head keeps seeing the whole history;
* a **recency ring**: the last ``recent`` labelled examples, so replay also leans on the present.

Each entry carries a loss weight and the drift *epoch* it arrived in. After a confirmed concept
shift :meth:`ReplayBuffer.reweight_before` scales the weights of pre-shift entries (0 drops them
and lets the reservoir refill from the new concept: their labels now contradict it).

>>> rng = np.random.default_rng(0)
>>> buf = ReplayBuffer(dim=2, capacity=4, recent=2)
>>> buf.seed(np.zeros((10, 2)), np.zeros(10, dtype=int), rng)
>>> buf.add(np.ones((3, 2)), np.ones(3, dtype=int), None, epoch=1, rng=rng)
>>> len(buf), buf.recent_filled
(4, 2)
>>> buf.reweight_before(1, 0.0); len(buf) <= 3
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """Reservoir + recency ring of ``(x, y, weight, epoch)`` rows.

    Args:
        dim: feature width.
        capacity: reservoir rows.
        recent: recency-ring rows (0 = no ring).
    """

    def __init__(self, dim: int, capacity: int = 5000, recent: int = 1000) -> None:
        if capacity < 1 or recent < 0:
            raise ValueError(f"capacity must be ≥ 1 and recent ≥ 0, got {capacity}, {recent}")
        self.dim, self.capacity, self.recent = dim, capacity, recent
        self._res = _Rows(capacity, dim)
        self.offered = 0  # rows ever offered to the reservoir (algorithm R's counter)
        self._ring = _Rows(recent, dim)
        self._ring_next = 0

    def __len__(self) -> int:
        return self._res.n

    @property
    def recent_filled(self) -> int:
        return self._ring.n

    def seed(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, w: np.ndarray | None = None) -> None:
        """Offer the training set to the reservoir (epoch 0; not to the recency ring)."""
        self._offer(X, y, _weights(w, len(y)), np.zeros(len(y), np.int32), rng)

    def add(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, *, epoch: int, rng: np.random.Generator) -> None:
        """Offer new labelled rows to the reservoir and push them into the recency ring."""
        w = _weights(w, len(y))
        ep = np.full(len(y), epoch, np.int32)
        self._offer(X, y, w, ep, rng)
        for i in range(len(y)):
            if self.recent == 0:
                break
            j = self._ring_next
            self._ring.put(j, X[i], y[i], w[i], ep[i])
            self._ring.n = max(self._ring.n, j + 1)
            self._ring_next = (j + 1) % self.recent

    def _offer(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, ep: np.ndarray, rng: np.random.Generator) -> None:
        for i in range(len(y)):
            self.offered += 1
            if self._res.n < self.capacity:
                j = self._res.n
                self._res.n += 1
            else:
                j = int(rng.integers(self.offered))
                if j >= self.capacity:
                    continue
            self._res.put(j, X[i], y[i], w[i], ep[i])

    def sample(self, n: int, rng: np.random.Generator, recent_share: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` rows drawn with replacement: each from the ring with probability ``recent_share``
        (when it has rows), else from the reservoir. Returns ``(X, y, w)``."""
        if n <= 0 or (self._res.n == 0 and self._ring.n == 0):
            return np.zeros((0, self.dim), np.float32), np.zeros(0, np.int64), np.zeros(0)
        share = recent_share if self._ring.n else 0.0
        share = 1.0 if self._res.n == 0 else share
        from_ring = rng.random(n) < share
        k = int(from_ring.sum())
        ri = rng.integers(self._ring.n, size=k) if k else np.zeros(0, np.int64)
        si = rng.integers(self._res.n, size=n - k) if n - k else np.zeros(0, np.int64)
        X = np.concatenate([self._ring.X[ri], self._res.X[si]])
        y = np.concatenate([self._ring.y[ri], self._res.y[si]])
        w = np.concatenate([self._ring.w[ri], self._res.w[si]]).astype(np.float64)
        return X, y, w

    def reservoir(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reservoir's rows ``(X, y, w)``: a uniform sample of the current history (a batch refit's data)."""
        r = self._res
        return r.X[:r.n].astype(np.float64), r.y[:r.n].copy(), r.w[:r.n].astype(np.float64)

    def reweight_before(self, epoch: int, factor: float) -> None:
        """Scale the weight of rows from epochs before ``epoch`` by ``factor``; 0 drops them (and
        restarts the reservoir's count, so it refills from what comes next)."""
        for rows in (self._res, self._ring):
            old = rows.epoch[:rows.n] < epoch
            if factor > 0:
                rows.w[:rows.n][old] *= factor
            elif old.any():
                rows.keep(~old)
        if factor <= 0:
            self.offered = self._res.n
            self._ring_next = self._ring.n % self.recent if self.recent else 0

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {f"res.{k}": v for k, v in self._res.arrays().items()}
        arrays |= {f"ring.{k}": v for k, v in self._ring.arrays().items()}
        meta = {"dim": self.dim, "capacity": self.capacity, "recent": self.recent, "offered": self.offered,
                "ring_next": self._ring_next, "res_n": self._res.n, "ring_n": self._ring.n}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ReplayBuffer:
        b = cls(meta["dim"], meta["capacity"], meta["recent"])
        b.offered, b._ring_next = int(meta["offered"]), int(meta["ring_next"])
        b._res.load({k[4:]: v for k, v in arrays.items() if k.startswith("res.")}, int(meta["res_n"]))
        b._ring.load({k[5:]: v for k, v in arrays.items() if k.startswith("ring.")}, int(meta["ring_n"]))
        return b


def _weights(w: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if w is None else np.asarray(w, dtype=np.float64)


class _Rows:
    """Preallocated rows; the first ``n`` are filled."""

    def __init__(self, cap: int, dim: int) -> None:
        self.n = 0
        self.X = np.zeros((cap, dim), np.float32)
        self.y = np.zeros(cap, np.int64)
        self.w = np.zeros(cap, np.float32)
        self.epoch = np.zeros(cap, np.int32)

    def put(self, j: int, x: np.ndarray, y: int, w: float, epoch: int) -> None:
        self.X[j], self.y[j], self.w[j], self.epoch[j] = x, y, w, epoch

    def keep(self, mask: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        for a in (self.X, self.y, self.w, self.epoch):
            a[:len(idx)] = a[idx]
        self.n = len(idx)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"X": self.X[:self.n], "y": self.y[:self.n], "w": self.w[:self.n], "epoch": self.epoch[:self.n]}

    def load(self, a: dict[str, np.ndarray], n: int) -> None:
        self.n = n
        self.X[:n], self.y[:n], self.w[:n], self.epoch[:n] = a["X"], a["y"], a["w"], a["epoch"]
