"""Computed points of one source, on the internal topic ``points.pending`` (key = source id).

Compute (validate → quality → extract → embed, in ``assay worker --role compute``) publishes one
:class:`SourcePoints` per source it decided about; indexing (``--role index``) reads it, compares
it with what the store holds, writes, removes stale points and announces both on
``patterns.enriched``. The record is a source's **complete** set of points, so applying it twice
changes nothing, and applying the latest one is enough.

Vectors travel as base64 of little-endian float32, one per point.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import BaseModel, Field

from schemas.documents import DocumentInfo
from schemas.metrics import ExperimentScores
from schemas.patterns import PatternRecord, QualityScore
from schemas.structure import StructureSummary

#: Bumped when the record's meaning changes; an indexer refuses versions it does not know.
POINTS_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PointRecord:
    """A point to write: id (UUID string), vector and payload."""

    id: str
    vector: Sequence[float]
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredPoint:
    """A point as the store holds it; ``vector`` only when asked for."""

    id: str
    payload: dict[str, Any]
    vector: list[float] | None = None


class InputRef(BaseModel):
    """Where the input behind a record was read: for metrics, latency and dead letters."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    bytes: int = 0


class ComputedPoint(BaseModel):
    """One pattern and its embedding."""

    pattern: PatternRecord
    vector_b64: str = Field(..., description="float32 little-endian, base64")

    @classmethod
    def of(cls, pattern: PatternRecord, vector: np.ndarray) -> "ComputedPoint":
        raw = np.ascontiguousarray(vector, dtype="<f4").tobytes()
        return cls(pattern=pattern, vector_b64=base64.b64encode(raw).decode("ascii"))

    def vector(self) -> np.ndarray:
        return np.frombuffer(base64.b64decode(self.vector_b64), dtype="<f4")


class SourcePoints(BaseModel):
    """Everything indexing needs to bring one source's points in line, and nothing it must look up."""

    schema_version: int = POINTS_SCHEMA_VERSION
    source_id: str
    action: Literal["index", "remove"] = Field(
        ..., description="index: these are the source's points now; remove: the source has none any more")
    reason: str | None = Field(None, description="Why a remove: source_deleted | below_quality_gate")
    document: DocumentInfo | None = Field(None, description="The source (none for a tombstone)")
    quality: QualityScore | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    points: list[ComputedPoint] = Field(default_factory=list)
    summary: StructureSummary | None = Field(None, description="Structural summary of a code document of a set")
    origin: Literal["document", "set"] = Field("document", description="set: the set-level patterns of a set")
    set_members: int | None = Field(None, description="origin set: members the detection ran over")
    set_detections: int | None = Field(None, description="origin set: cross-file design-pattern records")
    input: InputRef
    stage_ms: dict[str, float] = Field(default_factory=dict)
    vectors_reused: bool = Field(False, description="Vectors came from the store (same content and models)")
    experiment: ExperimentScores | None = Field(None, description="Both scores, while a model experiment runs")
    computed_by: str = ""
    emitted_at: float
