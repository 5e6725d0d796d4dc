"""Dead letters on ``sources.dlq``: every rejected input, with everything needed to replay it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DeadLetter(BaseModel):
    key_b64: str | None = Field(None, description="Original key bytes, base64")
    value_b64: str | None = Field(None, description="Original value bytes, base64")
    headers: list[tuple[str, str]] = Field(default_factory=list, description="(name, base64 value) pairs")
    stage: str = Field(..., description="Pipeline stage that rejected it: decode | validate | extract | …")
    error_class: str = Field(..., description="Stable machine-readable class, e.g. invalid_json, empty_content")
    reason: str = Field(..., description="Human-readable explanation")
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    worker: str
    rejected_at: float
