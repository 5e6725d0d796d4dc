"""A/B rollout of a candidate model version: deterministic assignment and a pure state machine.

**Assignment.** A document's bucket is a hash of ``(experiment id, source id)`` mapped to [0, 1);
it is in the candidate arm when its bucket is below the current ramp fraction. The same document
always lands in the same bucket, so the arms are *monotone*: a document served by the candidate
at 5 % is still served by it at 25 %. The salt makes each experiment's split independent.

**Phases.** ``Shadow`` (the candidate scores every document, nothing it says is served) →
``Ramping(step)`` over ``ramp[:-1]`` (1 → 5 → 25 %) → ``Promoted`` (100 %) or ``RolledBack``
(0 %). A candidate is promoted only from the last ramp step (a ``Promote`` decision before it lets
the ramp advance as fast as its label minimums allow); it is rolled back from any phase. The decisions come from the always-valid test of :mod:`processors.learning.sequential` on
paired loss differences over *all* labelled feedback: both versions score every document of the
experiment (for an online head they share the features, so the second score costs a 405×3
product), so evidence does not wait for the candidate's traffic share; the ramp only limits how
many served scores a bad candidate can touch before the test catches it. A phase advances after
``min_labels_per_step`` pairs and ``min_seconds_per_step`` while the test says ``Continue``;
100 % is reached only by ``Promote``.

>>> cfg = ExperimentConfig("exp-1", min_labels_shadow=2, test=SequentialConfig(min_samples=50))
>>> s = start(cfg, at=0.0)
>>> s = transition(s, LabelledPairs(np.array([0.1, -0.1]), at=1.0))
>>> s.phase, candidate_share(s)
(Ramping(step=0), 0.01)
>>> in_candidate_arm("doc-1", s) == in_candidate_arm("doc-1", s)
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal, Union

import numpy as np

from processors.learning.sequential import (Continue, Decision, Promote, Rollback, SequentialConfig,
                                            SequentialState, StopMaxSamples, decide)

__all__ = ["Abort", "ExperimentConfig", "ExperimentState", "LabelledPairs", "Promoted", "Ramping", "RolledBack",
           "Shadow", "Tick", "bucket", "candidate_share", "in_candidate_arm", "scores_candidate", "start",
           "transition"]

DEFAULT_RAMP = (0.01, 0.05, 0.25, 1.0)


def bucket(source_id: str, salt: str) -> float:
    """A stable position in [0, 1) for ``source_id`` within experiment ``salt``.

    >>> 0.0 <= bucket("a", "exp") < 1.0 and bucket("a", "exp") != bucket("a", "other")
    True
    """
    h = hashlib.sha256(f"{salt}\x00{source_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


# ---------------------------------------------------------------------- phases
@dataclass(frozen=True)
class Shadow:
    pass


@dataclass(frozen=True)
class Ramping:
    step: int  # index into ExperimentConfig.ramp


@dataclass(frozen=True)
class Promoted:
    reason: str


@dataclass(frozen=True)
class RolledBack:
    reason: str


Phase = Union[Shadow, Ramping, Promoted, RolledBack]


# ---------------------------------------------------------------------- events
@dataclass(frozen=True)
class LabelledPairs:
    """Loss differences ``loss(control) − loss(candidate)`` of newly labelled documents."""

    diffs: np.ndarray
    at: float


@dataclass(frozen=True)
class Tick:
    """Time passes (lets a phase advance on ``min_seconds_per_step`` with no new labels)."""

    at: float


@dataclass(frozen=True)
class Abort:
    """Roll back now (an operator, or a health check: errors, latency)."""

    reason: str
    at: float


Event = Union[LabelledPairs, Tick, Abort]


@dataclass(frozen=True)
class ExperimentConfig:
    """Attributes:
        experiment_id: salt of the assignment hash (one per candidate version).
        ramp: candidate shares; the last must be 1.0 and is reached only by promotion.
        min_labels_shadow, min_labels_per_step, min_seconds_per_step: what a phase needs before
            the next one.
        test: the sequential test.
        on_max_samples: ``"rollback"`` keeps the control when the test cannot tell (default), or
            ``"promote"`` (e.g. a candidate that is cheaper to run and no worse).
    """

    experiment_id: str
    ramp: tuple[float, ...] = DEFAULT_RAMP
    min_labels_shadow: int = 200
    min_labels_per_step: int = 200
    min_seconds_per_step: float = 0.0
    test: SequentialConfig = field(default_factory=SequentialConfig)
    on_max_samples: Literal["rollback", "promote"] = "rollback"

    def __post_init__(self) -> None:
        r = self.ramp
        if not r or r[-1] != 1.0 or any(not 0 < a < b for a, b in zip(r, r[1:])) or r[0] <= 0:
            raise ValueError(f"ramp must increase strictly from above 0 to 1.0, got {r}")


@dataclass(frozen=True)
class ExperimentState:
    config: ExperimentConfig
    phase: Phase
    test: SequentialState
    phase_labels: int  # pairs since the phase began
    phase_started: float
    last: Decision | None = None


def start(config: ExperimentConfig, at: float) -> ExperimentState:
    """A new experiment, in shadow."""
    return ExperimentState(config, Shadow(), SequentialState(), 0, at)


def candidate_share(state: ExperimentState) -> float:
    """The share of documents the candidate serves now."""
    p = state.phase
    if isinstance(p, Ramping):
        return state.config.ramp[p.step]
    return 1.0 if isinstance(p, Promoted) else 0.0


def in_candidate_arm(source_id: str, state: ExperimentState) -> bool:
    """Whether the candidate serves this document now (monotone in the ramp)."""
    share = candidate_share(state)
    return share > 0.0 and bucket(source_id, state.config.experiment_id) < share


def scores_candidate(state: ExperimentState) -> bool:
    """Whether the candidate must score documents (to be served, or for the paired test)."""
    return isinstance(state.phase, (Shadow, Ramping))


def transition(state: ExperimentState, event: Event) -> ExperimentState:
    """The state after ``event``; terminal phases (promoted, rolled back) never change."""
    if isinstance(state.phase, (Promoted, RolledBack)):
        return state
    if isinstance(event, Abort):
        return replace(state, phase=RolledBack(f"aborted: {event.reason}"), phase_started=event.at)
    if isinstance(event, LabelledPairs):
        diffs = np.asarray(event.diffs, dtype=np.float64)
        state = replace(state, test=state.test.observe(diffs), phase_labels=state.phase_labels + diffs.size)
    decision = decide(state.test, state.config.test)
    state = replace(state, last=decision)
    if isinstance(decision, Promote):
        # The evidence is in, but the candidate still serves each ramp step before it serves all:
        # promotion happens from the last step, the steps' label minimums still apply.
        if not (isinstance(state.phase, Ramping) and state.phase.step == len(state.config.ramp) - 2):
            return _maybe_advance(state, event.at)
        return _enter(state, Promoted(f"better: mean loss difference {decision.mean:.4f} > 0 "
                                      f"(low {decision.low:.4f}) after {decision.n} labels"), event.at)
    if isinstance(decision, Rollback):
        return _enter(state, RolledBack(f"worse: mean loss difference {decision.mean:.4f} < 0 "
                                        f"(high {decision.high:.4f}) after {decision.n} labels"), event.at)
    if isinstance(decision, StopMaxSamples):
        why = f"inconclusive after {decision.n} labels"
        return _enter(state, Promoted(why) if state.config.on_max_samples == "promote" else RolledBack(why), event.at)
    assert isinstance(decision, Continue)
    return _maybe_advance(state, event.at)


def _enter(state: ExperimentState, phase: Phase, at: float) -> ExperimentState:
    return replace(state, phase=phase, phase_labels=0, phase_started=at)


def _maybe_advance(state: ExperimentState, at: float) -> ExperimentState:
    c, p = state.config, state.phase
    need = c.min_labels_shadow if isinstance(p, Shadow) else c.min_labels_per_step
    if state.phase_labels < need or at - state.phase_started < c.min_seconds_per_step:
        return state
    if isinstance(p, Shadow):
        return _enter(state, Ramping(0), at)
    if isinstance(p, Ramping) and p.step + 1 < len(c.ramp) - 1:
        return _enter(state, Ramping(p.step + 1), at)
    return state  # the last step below 100 %: wait for the test
