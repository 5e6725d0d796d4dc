"""Metric events on ``pipeline.metrics`` for real-time consumers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["indexed", "unchanged", "gated", "rejected", "deleted", "superseded"]


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
