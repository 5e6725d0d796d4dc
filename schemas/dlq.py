"""Dead letters on ``sources.dlq``: every rejected input, with everything needed to replay it.

A dead letter always fits the producer's message limit. When the original record fits too, it
is kept whole (base64); otherwise the largest parts are cut to a prefix, ``truncated`` names
them, and ``*_size`` and ``*_sha256`` describe the whole original, so ``assay dlq replay`` can
read it back from its topic, partition and offset and check it is the same record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TruncatedPart = Literal["key", "value", "headers"]


class DeadLetter(BaseModel):
    key_b64: str | None = Field(None, description="Original key bytes, base64 (a prefix when 'key' is truncated)")
    value_b64: str | None = Field(None, description="Original value bytes, base64 (a prefix when 'value' is truncated)")
    headers: list[tuple[str, str]] = Field(default_factory=list,
                                           description="(name, base64 value) pairs (the first ones when truncated)")
    key_size: int | None = Field(None, description="Bytes of the original key; null = no key")
    value_size: int | None = Field(None, description="Bytes of the original value; null = tombstone")
    headers_count: int = Field(0, description="Headers of the original record")
    key_sha256: str | None = Field(None, description="sha256 of the original key (hex)")
    value_sha256: str | None = Field(None, description="sha256 of the original value (hex)")
    truncated: list[TruncatedPart] = Field(
        default_factory=list, description="Parts cut to fit the message limit; empty = the original is whole")
    stage: str = Field(..., description="Pipeline stage that rejected it: decode | validate | extract | embed | "
                                        "store | publish | internal | set")
    error_class: str = Field(..., description="Stable machine-readable class, e.g. invalid_json, empty_content")
    reason: str = Field(..., description="Human-readable explanation")
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    worker: str
    rejected_at: float
    replay_of: str | None = Field(None, description="Set on a replayed record that failed again: the replay id")
