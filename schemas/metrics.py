"""Metric events on ``pipeline.metrics`` for real-time consumers.

Time is in seconds throughout: timestamps are Unix seconds (``emitted_at``, ``input_timestamp``)
and durations are seconds (``stage_s``). ``stage_ms`` carries the same durations in milliseconds
for one more release and is deprecated; each field is filled from the other when only one is given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

Outcome = Literal["indexed", "unchanged", "gated", "rejected", "deleted", "superseded"]

_STAGE_S = "Time per stage (s)"
_STAGE_MS = "Deprecated: the same durations in ms (removed in the next release; read stage_s)"

class ExperimentScores(BaseModel):
    """A document scored by both versions of a running experiment."""

    experiment_id: str
    arm: Literal["control", "candidate"] = Field(..., description="Whose score was served")
    control: float
    candidate: float


class _StageTimes(BaseModel):
    """``stage_s`` and its deprecated millisecond twin, kept consistent."""

    stage_s: dict[str, float] = Field(default_factory=dict, description=_STAGE_S)
    stage_ms: dict[str, float] = Field(default_factory=dict, description=_STAGE_MS, json_schema_extra={"deprecated": True})

    @model_validator(mode="after")
    def _fill_stage_times(self) -> Any:
        if self.stage_ms and not self.stage_s:
            self.stage_s = {k: round(v / 1000, 6) for k, v in self.stage_ms.items()}
        elif self.stage_s and not self.stage_ms:
            self.stage_ms = {k: round(v * 1000, 3) for k, v in self.stage_s.items()}
        return self


class DocumentMetric(_StageTimes):
    """One per input message, after its results are durable."""

    type: Literal["document"] = "document"
    source_id: str | None
    source_version: str | None = None
    doc_type: str | None = None
    outcome: Outcome
    reason: str | None = None
    error_class: str | None = Field(None, description="For outcome 'rejected': the dead letter's error class")
    patterns: int = 0
    stale_removed: int = 0
    bytes: int = 0
    quality: float | None = None
    quality_label: str | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    topic: str
    partition: int
    offset: int
    input_timestamp: float | None = Field(None, description="When the input was produced (Kafka timestamp, Unix s)")
    experiment: ExperimentScores | None = Field(None, description="Set while a model experiment runs: both scores")
    worker: str
    emitted_at: float = Field(..., description="When this event was built (Unix s)")


class BatchMetric(_StageTimes):
    """One per micro-batch the worker processed."""

    type: Literal["batch"] = "batch"
    documents: int
    rejected: int
    gated: int
    deleted: int
    patterns: int
    texts_embedded: int
    model_versions: dict[str, str] = Field(default_factory=dict)
    worker: str
    emitted_at: float


class SetMetric(_StageTimes):
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
    input_timestamp: float | None = Field(
        None, description="When the member update that triggered this re-detection was produced (Unix s)")
    worker: str
    emitted_at: float


class QueryMetric(BaseModel):
    """One per semantic search the worker's API answered."""

    type: Literal["query"] = "query"
    took_s: float = Field(..., description="Embedding the query plus searching the store (s)")
    hits: int
    k: int
    worker: str
    emitted_at: float


class WorkerMetric(BaseModel):
    """A worker's heartbeat: whether it is ready, and its consumer lag (every ``ASSAY_HEARTBEAT_INTERVAL_S``)."""

    type: Literal["worker"] = "worker"
    worker: str
    role: str
    ready: bool
    reasons: list[str] = Field(default_factory=list)
    lag_messages: int = Field(0, description="Sum of the lag of the partitions assigned to this worker")
    interval_s: float = Field(..., description="Seconds until the next heartbeat")
    worker_started_at: float = Field(..., description="When this worker process started (Unix s)")
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
    published_macro_f1: float | None = Field(None, description="The published version's head on the same window")
    published_log_loss: float | None = None
    total_learned: int = 0
    drift: bool = Field(False, description="The error-stream detector fired in this batch")
    base_version: str = Field(..., description="The model whose linear half the online head sits on")
    published_version: str | None = None
    worker: str
    emitted_at: float


PipelineMetric = DocumentMetric | BatchMetric | SetMetric | QueryMetric | WorkerMetric | LearnerMetric
METRIC_TYPES: tuple[type[BaseModel], ...] = (DocumentMetric, BatchMetric, SetMetric, QueryMetric, WorkerMetric,
                                               LearnerMetric)
_METRIC = TypeAdapter(Annotated[PipelineMetric, Field(discriminator="type")])


def parse_metric(raw: bytes | str) -> PipelineMetric:
    """One ``pipeline.metrics`` value as its typed event (raises pydantic's ValidationError)."""
    return _METRIC.validate_json(raw)
