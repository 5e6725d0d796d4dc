"""processors.learning.session: offsets make a crash and a redelivery harmless; a concept shift
is detected once, followed, and a candidate validated on the new concept's held-back rows."""

from __future__ import annotations

import numpy as np

from processors.learning.learner import HeadParams, LearnerConfig
from processors.learning.optimizer import OptimizerConfig
from processors.learning.session import CutPolicy, FeedbackBatch, OnlineSession, SessionConfig

DIM = 6


def _events(n: int, seed: int, rotate_after: int | None = None, partitions: int = 2) -> list[FeedbackBatch]:
    """Three Gaussian classes; events round-robin over partitions, batches of 24; labels rotate
    after ``rotate_after`` events (a concept shift)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    X = np.eye(3, DIM)[y] * 2.0 + rng.normal(size=(n, DIM))
    if rotate_after is not None:
        y[rotate_after:] = (y[rotate_after:] + 1) % 3
    part = np.arange(n) % partitions
    off = np.arange(n) // partitions + 100
    hold = rng.random(n) < 0.1
    return [FeedbackBatch(X[i:i + 24], y[i:i + 24], part[i:i + 24], off[i:i + 24], hold[i:i + 24])
            for i in range(0, n, 24)]


def _session(**cut) -> OnlineSession:
    cfg = SessionConfig(LearnerConfig(optimizer=OptimizerConfig(lr=0.05), replay_capacity=500, replay_recent=100),
                        cut=CutPolicy(**cut) if cut else CutPolicy())
    return OnlineSession(HeadParams(np.zeros((DIM, 3)), np.zeros(3)), cfg)


def test_kill_minus_nine_neither_loses_nor_double_counts() -> None:
    batches = _events(2400, 0)
    straight = _session()
    for i, b in enumerate(batches):
        straight.observe(b, now=float(i))

    crashed = _session()
    checkpoint = None
    for i, b in enumerate(batches[:70]):
        crashed.observe(b, now=float(i))
        if i == 40:
            checkpoint = crashed.to_bytes()  # written atomically by the agent
    # kill -9 after batch 69: batches 41..69 were learned but not checkpointed
    restored = OnlineSession.from_bytes(checkpoint)
    assert restored.next_offsets == {0: 100 + 41 * 12, 1: 100 + 41 * 12}
    for i, b in enumerate(batches[41:], start=41):  # the consumer seeks to next_offsets and reads on
        restored.observe(b, now=float(i))
    assert restored.to_bytes() == straight.to_bytes()
    assert restored.metrics.cumulative().n == 2400 and restored.learner.learned == straight.learner.learned


def test_redelivered_and_overlapping_batches_are_not_counted_twice() -> None:
    batches = _events(240, 1)
    s = _session()
    for b in batches[:5]:
        s.observe(b, now=0.0)
    before = s.to_bytes()
    r = s.observe(batches[3], now=0.0)
    assert (r.accepted, r.duplicates, r.learned) == (0, 24, 0) and s.to_bytes() == before
    mixed = FeedbackBatch(*(np.concatenate([getattr(batches[4], f), getattr(batches[5], f)])
                            for f in ("features", "labels", "partitions", "offsets", "holdout")))
    r = s.observe(mixed, now=0.0)
    assert (r.accepted, r.duplicates) == (24, 24)
    assert s.metrics.cumulative().n == 6 * 24


def test_held_back_rows_are_scored_but_never_learned() -> None:
    s = _session()
    n_hold = 0
    for b in _events(480, 2):
        s.observe(b, now=0.0)
        n_hold += int(b.holdout.sum())
    assert s.learner.learned == 480 - n_hold and len(s.holdout[1]) == n_hold
    assert s.metrics.cumulative().n == 480


def test_a_shift_fires_once_and_candidates_for_the_new_concept_are_cut() -> None:
    s = _session(every_labels=0, every_seconds=0, after_drift_labels=600, after_drift_cuts=2, refit=False)
    batches = _events(4800, 3, rotate_after=2400)
    alarms, cuts = [], []
    for i, b in enumerate(batches):
        r = s.observe(b, now=float(i))
        if r.alarm:
            alarms.append(i * 24)
        if r.cut_due:
            cuts.append(i * 24)
            report = s.cut(now=float(i))
    assert len(alarms) == 1 and 2400 <= alarms[0] < 2700
    assert len(cuts) == 2 and report.reason == "drift" and 1100 < cuts[1] - alarms[0] < 1500
    X, y = s.holdout
    assert len(y) > 0  # only post-shift held-back rows remain
    assert report.candidate.macro_f1 > 0.75 and report.published.macro_f1 < 0.4 and report.acceptable()


def test_interval_and_label_cuts() -> None:
    s = _session(every_labels=200, every_seconds=0)
    due = [s.observe(b, now=0.0).cut_due for b in _events(240, 4)]
    assert due.index("labels") in (8, 9)
    s = _session(every_labels=0, every_seconds=60.0)
    assert s.observe(_events(24, 5)[0], now=30.0).cut_due is None
    assert s.observe(_events(48, 5)[1], now=61.0).cut_due == "interval"


def test_after_a_shift_the_refitted_candidate_wins_and_is_adopted_on_publish() -> None:
    s = _session(every_labels=0, every_seconds=0, after_drift_labels=300)
    for i, b in enumerate(_events(4800, 6, rotate_after=2400)):
        if s.observe(b, now=float(i)).cut_due:
            report = s.cut(now=float(i))
            break
    assert set(report.alternatives) == {"online", "refit"}
    assert report.source == "refit" and report.candidate == report.alternatives["refit"]
    assert report.alternatives["refit"].log_loss < report.alternatives["online"].log_loss
    s.publish(report.head)
    assert np.array_equal(s.learner.head.weights, report.head.weights)
    assert np.array_equal(s.learner.anchor, report.head.weights)
    assert s.observe(_events(48, 7)[0], now=0.0).cut_due is None  # publishing restarts the count
