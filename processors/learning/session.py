"""One learner's whole streaming state: what the feedback agent calls and checkpoints.

:meth:`OnlineSession.observe` takes a batch of labelled feedback (head features, classes, the
Kafka partition and offset of each event, whether its source is in the held-back slice) and:

1. drops events whose offset is below the partition's covered offset (redelivery after a crash
   is a no-op, so nothing is counted twice);
2. scores every event with the current head *before* learning it: progressive metrics, and the
   0/1 error stream into ADWIN;
3. on an ADWIN alarm, applies the :class:`~processors.learning.learner.DriftPolicy`, forgets the
   metric window and the held-back rows of the old concept;
4. learns the non-held-back events (held-back ones go to a bounded buffer that validates
   candidates and are never learned);
5. advances the covered offsets, and says whether a candidate version is due (N labels, an
   interval, or enough labels after a drift alarm).

:meth:`OnlineSession.cut` freezes a candidate: the online head, or the same head refitted to
convergence on the replay reservoir (:func:`processors.learning.refit.fit_head`), whichever has
the lower log-loss on the held-back rows; both are reported.

:meth:`OnlineSession.to_bytes` holds all of it — head, optimizer, replay, RNG, metrics, detector,
held-back rows *and the covered offsets*. The agent writes it atomically and, on start, restores it
and seeks each partition to :attr:`OnlineSession.next_offsets`: after a kill -9 the events after
the checkpoint are read again and learned once; those before it are skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from processors.learning.drift import Adwin, Alarm, detector_from_state
from processors.learning.learner import DriftPolicy, HeadParams, LearnerConfig, OnlineSoftmax
from processors.learning.metrics import MetricsSnapshot, PrequentialMetrics, Tally
from processors.learning.refit import fit_head
from processors.learning.state import pack, prefixed, unpack, unprefixed

__all__ = ["CandidateReport", "CutPolicy", "FeedbackBatch", "OnlineSession", "SessionConfig", "StepReport"]

STATE_KIND = "assay-learning/session/1"
ADWIN_DELTA = 0.05  # calibrated: ≤ 1 false alarm per 100k events on stationary error streams (bench/online.py)


@dataclass(frozen=True)
class FeedbackBatch:
    """Labelled feedback events, in offset order within each partition.

    Attributes:
        features: (n, d) head features of each event's document (as scored).
        labels: (n,) class indices.
        partitions, offsets: (n,) where each event was read.
        holdout: (n,) whether the event's source is in the held-back slice.
        weights: (n,) optional sample weights.
    """

    features: np.ndarray
    labels: np.ndarray
    partitions: np.ndarray
    offsets: np.ndarray
    holdout: np.ndarray
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class CutPolicy:
    """When a candidate version is due: ``every_labels`` learned labels, ``every_seconds``, or
    every ``after_drift_labels`` labels learned after a drift alarm, ``after_drift_cuts`` times
    (the new concept is learned fast at first, so the served model should follow it in steps);
    whichever first, 0 disables one. ``refit``: also offer the head refitted on the replay
    reservoir (at least ``refit_min_rows``)."""

    every_labels: int = 2000
    every_seconds: float = 86_400.0
    after_drift_labels: int = 300
    after_drift_cuts: int = 3
    refit: bool = True
    refit_min_rows: int = 100


@dataclass(frozen=True)
class SessionConfig:
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    drift_policy: DriftPolicy = field(default_factory=DriftPolicy)
    adwin_delta: float = ADWIN_DELTA
    holdout_capacity: int = 2000
    metrics_window: int = 1000
    cut: CutPolicy = field(default_factory=CutPolicy)

    def to_dict(self) -> dict[str, Any]:
        return {"learner": self.learner.to_dict(), "drift_policy": asdict(self.drift_policy),
                "adwin_delta": self.adwin_delta, "holdout_capacity": self.holdout_capacity,
                "metrics_window": self.metrics_window, "cut": asdict(self.cut)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionConfig:
        return cls(LearnerConfig.from_dict(d["learner"]), DriftPolicy(**d["drift_policy"]), d["adwin_delta"],
                   d["holdout_capacity"], d["metrics_window"], CutPolicy(**d["cut"]))


CutReason = Literal["labels", "interval", "drift"]


@dataclass(frozen=True)
class StepReport:
    """What one :meth:`OnlineSession.observe` did."""

    accepted: int
    duplicates: int
    learned: int
    alarm: Alarm | None
    window: MetricsSnapshot
    cut_due: CutReason | None


@dataclass(frozen=True)
class CandidateReport:
    """A candidate head validated on the held-back rows of the current concept, against the
    published head on the same rows. ``source``: ``"online"`` or ``"refit"``; ``alternatives``:
    every head offered, by source (the choice among two is a mild selection on these rows; the
    A/B test that follows is not)."""

    head: HeadParams
    reason: CutReason
    learned: int
    candidate: MetricsSnapshot
    published: MetricsSnapshot
    source: str = "online"
    alternatives: dict[str, MetricsSnapshot] = field(default_factory=dict)

    def acceptable(self, f1_tolerance: float = 0.005) -> bool:
        """Worth an A/B experiment: strictly lower log-loss, macro-F1 within ``f1_tolerance``."""
        if self.candidate.n == 0:
            return False
        return (self.candidate.log_loss < self.published.log_loss
                and self.candidate.macro_f1 >= self.published.macro_f1 - f1_tolerance)


class OnlineSession:
    """See the module doc. ``head`` starts the learner; ``published`` (default: ``head``) is what
    candidates are validated against until :meth:`publish` says otherwise."""

    def __init__(self, head: HeadParams, config: SessionConfig | None = None, *, now: float = 0.0,
                 published: HeadParams | None = None) -> None:
        self.config = config or SessionConfig()
        self.learner = OnlineSoftmax(head, self.config.learner)
        self.published = published or head
        self.metrics = PrequentialMetrics(head.classes, self.config.metrics_window)
        self.detector: Adwin = Adwin(self.config.adwin_delta)
        self.next_offsets: dict[int, int] = {}
        self._hold_X = np.zeros((self.config.holdout_capacity, head.dim), np.float32)
        self._hold_y = np.zeros(self.config.holdout_capacity, np.int64)
        self._hold_n = 0
        self._hold_next = 0
        self.labels_since_cut = 0
        self.labels_since_drift: int | None = None  # None: no post-drift cut pending
        self.drift_cuts_left = 0
        self.last_cut_at = now
        self.alarms: list[Alarm] = []

    # ------------------------------------------------------------------ the stream
    def observe(self, batch: FeedbackBatch, *, now: float) -> StepReport:
        """Score, monitor and learn one batch (see the module doc)."""
        parts = np.asarray(batch.partitions, np.int64)
        offs = np.asarray(batch.offsets, np.int64)
        covered = np.array([self.next_offsets.get(int(p), 0) for p in parts.tolist()], np.int64)
        fresh = offs >= covered
        for p in np.unique(parts[fresh]).tolist():
            po = offs[fresh & (parts == p)]
            if np.any(np.diff(po) <= 0):
                raise ValueError(f"partition {p}: offsets must increase within a batch")
        X = np.asarray(batch.features, np.float64)[fresh]
        y = np.asarray(batch.labels, np.int64)[fresh]
        hold = np.asarray(batch.holdout, bool)[fresh]
        w = None if batch.weights is None else np.asarray(batch.weights, np.float64)[fresh]
        alarm = None
        if len(y):
            proba = self.learner.predict_proba(X)
            self.metrics.update(y, proba)
            for a in self.detector.update_many((proba.argmax(axis=1) != y).astype(np.float64)):
                alarm = alarm or a
                self.alarms.append(a)
            if alarm is not None:
                self.learner.on_drift(self.config.drift_policy)
                self.metrics.reset_window()
                self._hold_n = self._hold_next = 0
                self.labels_since_drift = 0
                self.drift_cuts_left = self.config.cut.after_drift_cuts
            self._hold(X[hold], y[hold])
            learn = ~hold
            if learn.any():
                self.learner.partial_fit(X[learn], y[learn], None if w is None else w[learn])
            n_learned = int(learn.sum())
            self.labels_since_cut += n_learned
            if self.labels_since_drift is not None:
                self.labels_since_drift += n_learned
            for p in np.unique(parts[fresh]).tolist():
                self.next_offsets[int(p)] = int(offs[fresh & (parts == p)].max()) + 1
        else:
            n_learned = 0
        return StepReport(int(fresh.sum()), int((~fresh).sum()), n_learned, alarm, self.metrics.windowed(),
                          self._cut_due(now))

    def _hold(self, X: np.ndarray, y: np.ndarray) -> None:
        cap = len(self._hold_y)
        for i in range(len(y)):
            self._hold_X[self._hold_next], self._hold_y[self._hold_next] = X[i], y[i]
            self._hold_next = (self._hold_next + 1) % cap
            self._hold_n = min(cap, self._hold_n + 1)

    def _cut_due(self, now: float) -> CutReason | None:
        c = self.config.cut
        if self.labels_since_drift is not None and c.after_drift_labels and self.labels_since_drift >= c.after_drift_labels:
            return "drift"
        if c.every_labels and self.labels_since_cut >= c.every_labels:
            return "labels"
        if c.every_seconds and now - self.last_cut_at >= c.every_seconds and self.labels_since_cut > 0:
            return "interval"
        return None

    # ------------------------------------------------------------------ versions
    @property
    def holdout(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-back rows of the current concept (features, classes)."""
        return self._hold_X[:self._hold_n].astype(np.float64), self._hold_y[:self._hold_n]

    def cut(self, *, now: float) -> CandidateReport:
        """Freeze a candidate (see the module doc) and validate it on the held-back rows."""
        reason = self._cut_due(now) or "labels"
        X, y = self.holdout
        heads = {"online": self.learner.head}
        c = self.config.cut
        if c.refit and len(self.learner.replay) >= c.refit_min_rows:
            heads["refit"] = fit_head(*self.learner.replay.reservoir(), self.learner.head, l2=self.config.learner.l2,
                                      anchor=self.learner.anchor)
        empty = MetricsSnapshot(0, 0.0, 0.0, 0.0, 0.0)
        scored = {k: Tally.of(y, h.predict_proba(X)).snapshot() if len(y) else empty for k, h in heads.items()}
        source = min(scored, key=lambda k: scored[k].log_loss) if len(y) else "online"
        report = CandidateReport(heads[source], reason, self.learner.learned, scored[source],
                                 Tally.of(y, self.published.predict_proba(X)).snapshot() if len(y) else empty,
                                 source, scored)
        self.labels_since_cut, self.last_cut_at = 0, now
        if reason == "drift":
            self.drift_cuts_left -= 1
        self.labels_since_drift = 0 if self.drift_cuts_left > 0 else None
        return report

    def publish(self, head: HeadParams, *, adopt: bool = True) -> None:
        """``head`` is now served (promoted): candidates are validated against it, the learner's
        L2 pull is anchored at it, and with ``adopt`` the learner continues from it (a refitted
        candidate replaces the online weights)."""
        self.published = head
        if adopt:
            self.learner.adopt(head)
        self.learner.rebase(head.weights)
        # the next candidate must have learned something the published head has not
        self.labels_since_cut = 0
        if self.labels_since_drift is not None:
            self.labels_since_drift = 0

    # ------------------------------------------------------------------ state
    def to_bytes(self) -> bytes:
        la, lm = self.learner.to_state()
        ma, mm = self.metrics.to_state()
        da, dm = self.detector.to_state()
        arrays = prefixed("learner", la) | prefixed("metrics", ma) | prefixed("detector", da)
        arrays |= {"hold.X": self._hold_X[:self._hold_n], "hold.y": self._hold_y[:self._hold_n],
                   "published.W": self.published.weights, "published.b": self.published.bias}
        meta = {"config": self.config.to_dict(), "learner": lm, "metrics": mm, "detector": dm,
                "next_offsets": {str(p): o for p, o in sorted(self.next_offsets.items())},
                "hold_next": self._hold_next, "labels_since_cut": self.labels_since_cut,
                "labels_since_drift": self.labels_since_drift, "drift_cuts_left": self.drift_cuts_left,
                "last_cut_at": self.last_cut_at,
                "alarms": [asdict(a) for a in self.alarms]}
        return pack(STATE_KIND, arrays, meta)

    @classmethod
    def from_bytes(cls, blob: bytes) -> OnlineSession:
        arrays, meta = unpack(blob, STATE_KIND)
        config = SessionConfig.from_dict(meta["config"])
        s = cls(HeadParams(arrays["published.W"], arrays["published.b"]), config, now=meta["last_cut_at"])
        s.learner = OnlineSoftmax.from_state(unprefixed("learner", arrays), meta["learner"])
        s.metrics = PrequentialMetrics.from_state(unprefixed("metrics", arrays), meta["metrics"])
        s.detector = detector_from_state(unprefixed("detector", arrays), meta["detector"])
        n = len(arrays["hold.y"])
        s._hold_X[:n], s._hold_y[:n], s._hold_n, s._hold_next = arrays["hold.X"], arrays["hold.y"], n, meta["hold_next"]
        s.next_offsets = {int(p): int(o) for p, o in meta["next_offsets"].items()}
        s.labels_since_cut, s.labels_since_drift = meta["labels_since_cut"], meta["labels_since_drift"]
        s.drift_cuts_left = meta["drift_cuts_left"]
        s.alarms = [Alarm(**a) for a in meta["alarms"]]
        return s
