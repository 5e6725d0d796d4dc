"""The running experiment as the learner drives it: both versions, the pure state machine, the record.

:class:`ExperimentRunner` holds the control and candidate :class:`QualityModel` of one experiment,
scores every labelled example with both (:func:`processors.learning.examples.model_proba`), feeds
the paired log-loss differences to :func:`processors.learning.rollout.transition` (an always-valid
sequential test: peeking after every batch is legitimate) and turns the state into the
:class:`~schemas.experiments.ExperimentRecord` that workers follow. Its state round-trips through
the learner's checkpoint (:meth:`to_dict` / :meth:`from_dict`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from processors.learning.examples import model_proba
from processors.learning.rollout import (Abort, ExperimentConfig, ExperimentState, LabelledPairs, Promoted, Ramping,
                                         RolledBack, Shadow, candidate_share, start, transition)
from processors.learning.sequential import (Continue, Promote, Rollback, SequentialConfig, SequentialState,
                                            StopMaxSamples, log_loss_differences)
from processors.quality.model import QualityModel
from processors.quality.registry import Registry
from schemas.documents import Document
from schemas.experiments import ExperimentRecord, SequentialBounds

_DECISIONS = {Continue: "continue", Promote: "promote", Rollback: "rollback", StopMaxSamples: "stop_max_samples"}


def _phase_name(state: ExperimentState) -> str:
    return {Shadow: "shadow", Ramping: "ramping", Promoted: "promoted", RolledBack: "rolled_back"}[type(state.phase)]


class ExperimentRunner:
    def __init__(self, config: ExperimentConfig, state: ExperimentState, control: QualityModel,
                 candidate: QualityModel, *, origin: str, reason: str, started_at: float) -> None:
        self.config = config
        self.state = state
        self.control = control
        self.candidate = candidate
        self.origin = origin
        self.reason = reason
        self.started_at = started_at

    @classmethod
    def begin(cls, template: ExperimentConfig, control: QualityModel, candidate: QualityModel, *, origin: str,
              reason: str, now: float | None = None) -> "ExperimentRunner":
        now = time.time() if now is None else now
        config = replace(template, experiment_id=f"{candidate.version}-{uuid.uuid4().hex[:8]}")
        return cls(config, start(config, now), control, candidate, origin=origin, reason=reason, started_at=now)

    # -- the test ------------------------------------------------------------------------------

    def observe(self, docs: list[Document], embeddings: np.ndarray, labels: np.ndarray,
                now: float | None = None) -> bool:
        """Pair-score labelled examples; True when the phase changed."""
        if not len(docs) or self.finished:
            return False
        p_control = model_proba(self.control, docs, embeddings)
        p_candidate = model_proba(self.candidate, docs, embeddings)
        diffs = log_loss_differences(np.asarray(labels), p_control, p_candidate)
        before = type(self.state.phase), getattr(self.state.phase, "step", None)
        self.state = transition(self.state, LabelledPairs(diffs, at=time.time() if now is None else now))
        return (type(self.state.phase), getattr(self.state.phase, "step", None)) != before

    def abort(self, reason: str, now: float | None = None) -> None:
        self.state = transition(self.state, Abort(reason, at=time.time() if now is None else now))

    @property
    def finished(self) -> bool:
        return isinstance(self.state.phase, (Promoted, RolledBack))

    @property
    def promoted(self) -> bool:
        return isinstance(self.state.phase, Promoted)

    # -- what workers follow ---------------------------------------------------------------------

    def record(self, now: float | None = None) -> ExperimentRecord:
        d = self.state.last
        bounds = SequentialBounds(n=self.state.test.n, mean=round(self.state.test.mean, 6))
        if d is not None:
            finite = [v if np.isfinite(v) else None for v in (d.low, d.high)]
            bounds = SequentialBounds(n=d.n, mean=round(d.mean, 6),
                                      low=None if finite[0] is None else round(finite[0], 6),
                                      high=None if finite[1] is None else round(finite[1], 6),
                                      decision=_DECISIONS[type(d)])
        phase = self.state.phase
        reason = phase.reason if isinstance(phase, (Promoted, RolledBack)) else self.reason
        return ExperimentRecord(
            experiment_id=self.config.experiment_id, control_version=self.control.version,
            candidate_version=self.candidate.version,
            candidate_checksum=self.candidate.manifest.get("manifest_sha256"), phase=_phase_name(self.state),
            share=candidate_share(self.state), ramp=list(self.config.ramp), labels=self.state.test.n, test=bounds,
            reason=reason, origin=self.origin, started_at=self.started_at,
            updated_at=time.time() if now is None else now)

    # -- checkpoint ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        s = self.state
        return {"experiment_id": self.config.experiment_id, "control": self.control.version,
                "candidate": self.candidate.version, "origin": self.origin, "reason": self.reason,
                "started_at": self.started_at, "phase": _phase_name(s), "step": getattr(s.phase, "step", None),
                "end_reason": getattr(s.phase, "reason", None), "test": asdict(s.test),
                "phase_labels": s.phase_labels, "phase_started": s.phase_started}

    @classmethod
    def from_dict(cls, d: dict[str, Any], template: ExperimentConfig, registry: Registry) -> "ExperimentRunner":
        config = replace(template, experiment_id=d["experiment_id"])
        phase = {"shadow": lambda: Shadow(), "ramping": lambda: Ramping(int(d["step"])),
                 "promoted": lambda: Promoted(d["end_reason"]), "rolled_back": lambda: RolledBack(d["end_reason"])}
        state = ExperimentState(config, phase[d["phase"]](), SequentialState(**d["test"]), d["phase_labels"],
                                d["phase_started"])
        return cls(config, state, registry.load(d["control"]), registry.load(d["candidate"]), origin=d["origin"],
                   reason=d["reason"], started_at=d["started_at"])


def experiment_config(*, min_labels_shadow: int, min_labels_per_step: int, min_samples: int, max_samples: int,
                      alpha: float) -> ExperimentConfig:
    """The template every experiment starts from (its id is set per candidate)."""
    return ExperimentConfig("template", min_labels_shadow=min_labels_shadow, min_labels_per_step=min_labels_per_step,
                            test=SequentialConfig(alpha=alpha, alpha_rollback=alpha, min_samples=min_samples,
                                                  max_samples=max_samples))
