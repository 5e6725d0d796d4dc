"""Per-minute aggregates of ``pipeline.metrics`` on ``metrics.aggregated`` (key: the window's start, ISO 8601 UTC).

Times are seconds (Unix seconds for instants), like every metric event.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Summary(BaseModel):
    """A distribution of durations in one window (seconds)."""

    count: int = 0
    mean: float | None = None
    p50: float | None = None
    p99: float | None = None
    max: float | None = None


class QualitySummary(BaseModel):
    """Quality scores (1–5) of the documents scored in one window."""

    count: int = 0
    mean: float | None = None
    distribution: dict[str, int] = Field(
        default_factory=dict, description="Documents per score bucket: '1-2', '2-3', '3-4', '4-5' (5.0 counts in 4-5)")


class WindowAggregate(BaseModel):
    """What the pipeline did in one window, from the metric events emitted in it."""

    window: str = Field(..., description="The window's start, ISO 8601 UTC (also the record's key)")
    window_start: float = Field(..., description="Unix s")
    window_s: float = Field(..., description="The window's length (s)")
    documents: int = Field(..., description="Input messages with a final outcome")
    outcomes: dict[str, int] = Field(default_factory=dict, description="Documents by outcome")
    doc_types: dict[str, int] = Field(default_factory=dict, description="Documents by document type")
    patterns: int = Field(0, description="Patterns of the documents indexed in the window")
    errors: dict[str, int] = Field(default_factory=dict, description="Rejected documents by error class")
    latency_s: Summary = Field(default_factory=Summary,
                               description="Produce → result published by the indexer (input's Kafka timestamp)")
    quality: QualitySummary = Field(default_factory=QualitySummary)
    batches: int = Field(0, description="Document micro-batches processed")
    extraction_rate: float | None = Field(
        None, description="Patterns per second of micro-batch processing time (busy time, not wall time)")
    embed_s_per_pattern: float | None = Field(None, description="Embedding time per pattern text (s)")
    queries: Summary = Field(default_factory=Summary, description="Search times (s)")
    sets: int = Field(0, description="Sets re-detected")
    set_lag_s: Summary = Field(default_factory=Summary, description="Member update → the set's points indexed (s)")
    workers: int = Field(0, description="Workers that sent heartbeats")
    availability: float | None = Field(
        None, description="Share of heartbeats reporting ready (a worker's first start-up grace excluded)")
    lag_max_messages: int | None = Field(None, description="Largest consumer lag a heartbeat reported")
    busy_s: float = Field(0.0, description="Document micro-batch processing time, summed over workers (s)")
    embed_s: float = Field(0.0, description="The embedding stage's share of busy_s (s)")
    input_workers: int = Field(0, description="Workers taking input documents (role all or compute) that sent heartbeats")
    input_lag_messages: int | None = Field(
        None, description="Consumer lag of those workers at the window's end: the last heartbeat of each, summed")
    events: int = Field(0, description="Metric events aggregated")
    late_events: int = Field(0, description="Events that arrived after their window was emitted (not included)")
    emitted_at: float
