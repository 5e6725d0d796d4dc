"""processors.learning.rollout: deterministic monotone assignment and the experiment's phases."""

from __future__ import annotations

import numpy as np

from processors.learning.rollout import (Abort, ExperimentConfig, LabelledPairs, Promoted, Ramping, RolledBack,
                                         Shadow, Tick, bucket, candidate_share, in_candidate_arm, scores_candidate,
                                         start, transition)
from processors.learning.sequential import SequentialConfig

IDS = [f"repo/file_{i}.py" for i in range(20_000)]


def _walk(cfg: ExperimentConfig, diffs: np.ndarray, batch: int = 10):
    s = start(cfg, at=0.0)
    seen = [s.phase]
    for i in range(0, len(diffs), batch):
        s = transition(s, LabelledPairs(diffs[i:i + batch], at=float(i)))
        if s.phase != seen[-1]:
            seen.append(s.phase)
    return s, seen


def test_assignment_is_deterministic_monotone_and_close_to_the_share() -> None:
    cfg = ExperimentConfig("exp-7", min_labels_shadow=1, min_labels_per_step=1, test=SequentialConfig(min_samples=10**5, max_samples=10**6))
    s = start(cfg, 0.0)
    arms = []
    for i in range(6):
        s = transition(s, LabelledPairs(np.array([0.0, 0.0]), at=float(i)))
        if isinstance(s.phase, Ramping) and len(arms) == s.phase.step:
            arms.append({d for d in IDS if in_candidate_arm(d, s)})
    shares = [len(a) / len(IDS) for a in arms]
    assert np.allclose(shares, [0.01, 0.05, 0.25], atol=0.006)
    assert arms[0] <= arms[1] <= arms[2]  # monotone: nobody leaves the candidate arm as it grows
    assert {d for d in IDS if bucket(d, "exp-7") < 0.05} == arms[1]  # a pure function of (id, experiment)
    assert abs(np.mean([bucket(d, "exp-8") < 0.05 for d in arms[1]]) - 0.05) < 0.03  # salts split independently


def test_better_candidate_ramps_then_promotes() -> None:
    cfg = ExperimentConfig("e", min_labels_shadow=100, min_labels_per_step=100)
    s, phases = _walk(cfg, np.random.default_rng(0).normal(0.15, 1.0, 5000))
    assert phases[:4] == [Shadow(), Ramping(0), Ramping(1), Ramping(2)]
    assert isinstance(s.phase, Promoted) and candidate_share(s) == 1.0
    assert all(in_candidate_arm(d, s) for d in IDS[:100]) and not scores_candidate(s)


def test_a_clearly_better_candidate_still_goes_through_every_ramp_step() -> None:
    cfg = ExperimentConfig("e", min_labels_shadow=50, min_labels_per_step=50, test=SequentialConfig(min_samples=20))
    s, phases = _walk(cfg, np.random.default_rng(2).normal(2.0, 1.0, 400))  # decided after 20 labels
    assert phases == [Shadow(), Ramping(0), Ramping(1), Ramping(2), phases[-1]]
    assert isinstance(s.phase, Promoted) and s.test.n <= 220


def test_worse_candidate_rolls_back_early() -> None:
    cfg = ExperimentConfig("e", min_labels_shadow=300, min_labels_per_step=300)
    s, phases = _walk(cfg, np.random.default_rng(1).normal(-0.4, 1.0, 5000))
    assert isinstance(s.phase, RolledBack) and "worse" in s.phase.reason
    assert phases[-2] == Shadow()  # caught before any document was served by it
    assert candidate_share(s) == 0.0 and not any(in_candidate_arm(d, s) for d in IDS[:1000])


def test_inconclusive_stops_at_max_samples_and_keeps_control_by_default() -> None:
    diffs = np.tile([0.001, -0.001], 1000)
    for policy, phase in [("rollback", RolledBack), ("promote", Promoted)]:
        cfg = ExperimentConfig("e", test=SequentialConfig(max_samples=1000), on_max_samples=policy)
        s, _ = _walk(cfg, diffs)
        assert isinstance(s.phase, phase) and "inconclusive" in s.phase.reason and s.test.n == 1000


def test_time_gate_abort_and_terminal_phases() -> None:
    cfg = ExperimentConfig("e", min_labels_shadow=5, min_seconds_per_step=60.0)
    s = transition(start(cfg, at=0.0), LabelledPairs(np.zeros(10), at=10.0))
    assert s.phase == Shadow()
    s = transition(s, Tick(at=61.0))
    assert s.phase == Ramping(0)
    s = transition(s, Abort("p99 latency", at=62.0))
    assert isinstance(s.phase, RolledBack) and "latency" in s.phase.reason
    assert transition(s, LabelledPairs(np.ones(1000), at=63.0)) == s
