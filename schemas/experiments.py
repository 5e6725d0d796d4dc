"""The running model experiment, on the compacted ``experiments`` topic (key: the model kind).

The learner is the only writer once an experiment runs; ``assay experiment start`` writes a
``requested`` record the learner picks up. Every worker follows the latest record between
micro-batches: in ``shadow`` it scores learned documents with both versions (the control's score
is served, both are in the metric event); in ``ramping`` the candidate serves the documents whose
hash falls in its share; ``promoted`` and ``rolled_back`` end it (a promotion also goes to the
``models`` topic, as ``assay model promote`` does).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ExperimentPhase = Literal["requested", "shadow", "ramping", "promoted", "rolled_back"]


class SequentialBounds(BaseModel):
    """The always-valid test on paired per-example log-loss differences (control − candidate)."""

    n: int = 0
    mean: float = 0.0
    low: float | None = None
    high: float | None = None
    decision: str = Field("continue", description="continue | promote | rollback | stop_max_samples")


class ExperimentRecord(BaseModel):
    """The state of one experiment (latest record wins)."""

    experiment_id: str = Field(..., description="Salt of the assignment hash; one per candidate")
    kind: Literal["quality"] = "quality"
    control_version: str
    candidate_version: str
    candidate_checksum: str | None = Field(None, description="sha256 of the candidate's manifest")
    phase: ExperimentPhase
    share: float = Field(0.0, ge=0.0, le=1.0, description="Share of documents the candidate serves")
    ramp: list[float] = Field(default_factory=lambda: [0.01, 0.05, 0.25, 1.0])
    labels: int = Field(0, description="Labelled pairs seen by the test")
    test: SequentialBounds = Field(default_factory=SequentialBounds)
    reason: str | None = Field(None, description="Why it started, or why it ended")
    origin: str = Field("learner", description="learner (a cut of the online learner) | operator")
    started_at: float
    updated_at: float
