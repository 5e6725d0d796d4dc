"""Metric events on ``pipeline.metrics`` for real-time consumers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["indexed", "unchanged", "gated", "rejected", "deleted", "superseded"]


class ExperimentScores(BaseModel):
    """A document scored by both versions of a running experiment."""

    experiment_id: str
    arm: Literal["control", "candidate"] = Field(..., description="Whose score was served")
    control: float
    candidate: float


class DocumentMetric(BaseModel):
    """One per input message, after its results are durable."""

    type: Literal["document"] = "document"
    source_id: str | None
    source_version: str | None = None
    doc_type: str | None = None
    outcome: Outcome
    reason: str | None = None
    patterns: int = 0
    stale_removed: int = 0
    bytes: int = 0
    quality: float | None = None
    quality_label: str | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    stage_ms: dict[str, float] = Field(default_factory=dict)
    topic: str
    partition: int
    offset: int
    input_timestamp: float | None = Field(None, description="When the input was produced (Kafka timestamp, Unix s)")
    experiment: ExperimentScores | None = Field(None, description="Set while a model experiment runs: both scores")
    worker: str
    emitted_at: float = Field(..., description="When this event was built (Unix s)")


class BatchMetric(BaseModel):
    """One per micro-batch the worker processed."""

    type: Literal["batch"] = "batch"
    documents: int
    rejected: int
    gated: int
    deleted: int
    patterns: int
    texts_embedded: int
    stage_ms: dict[str, float] = Field(default_factory=dict)
    model_versions: dict[str, str] = Field(default_factory=dict)
    worker: str
    emitted_at: float


class SetMetric(BaseModel):
    """One per set the set agent re-derived in a micro-batch."""

    type: Literal["set"] = "set"
    set_id: str
    set_version: str = Field(..., description="Hash of the set's member ids and versions")
    members: int
    detections: int = Field(..., description="Cross-file design-pattern records")
    patterns: int = Field(..., description="Set-level records (overview + cross-file detections)")
    upserted: int
    deleted: int
    unchanged: bool
    model_versions: dict[str, str] = Field(default_factory=dict)
    stage_ms: dict[str, float] = Field(default_factory=dict)
    worker: str
    emitted_at: float


class LearnerMetric(BaseModel):
    """One per learner micro-batch: progressive validation (each example scored before it is learned)."""

    type: Literal["learner"] = "learner"
    accepted: int = Field(..., description="New labelled examples in this batch")
    duplicates: int = Field(0, description="Examples already covered by the checkpoint (redelivered)")
    learned: int = Field(0, description="Examples learned (held-back ones are not)")
    pending: int = Field(0, description="Feedback waiting for its source document")
    window_n: int = 0
    macro_f1: float | None = Field(None, description="Progressive macro-F1 over the recent window")
    log_loss: float | None = None
    ece: float | None = Field(None, description="Expected calibration error (progressive, recent window)")
    accuracy: float | None = None
    total_learned: int = 0
    drift: bool = Field(False, description="The error-stream detector fired in this batch")
    base_version: str = Field(..., description="The model whose linear half the online head sits on")
    published_version: str | None = None
    worker: str
    emitted_at: float
