"""The vector-store interface Assay writes patterns to and searches.

Two backends implement it (``edge.EdgeStore`` in-process, ``server.ServerStore`` over
qdrant-client) and run through the same contract tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

# Payload fields with an index; filters on these are cheap.
INDEXED_FIELDS: dict[str, str] = {
    "source_id": "keyword",
    "set_id": "keyword",
    "doc_type": "keyword",
    "quality_label": "keyword",
    "language": "keyword",
    "kind": "keyword",
    "quality": "float",
}


@dataclass(frozen=True)
class PointRecord:
    id: str  # UUID string
    vector: Sequence[float]
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchFilter:
    """Payload filter: exact matches (AND) plus an optional minimum quality."""

    equals: dict[str, str] = field(default_factory=dict)
    min_quality: float | None = None


class VectorStore(ABC):
    """One collection of pattern vectors (cosine distance, fixed dimension)."""

    dim: int

    @abstractmethod
    def upsert(self, points: Sequence[PointRecord]) -> None:
        """Insert or overwrite points; durable when it returns."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id (missing ids are ignored)."""

    @abstractmethod
    def points_of_source(self, source_id: str) -> list[tuple[str, dict[str, Any]]]:
        """All (point id, payload) of one source, for stale-point removal."""

    @abstractmethod
    def search(self, vector: Sequence[float], k: int = 10, flt: SearchFilter | None = None) -> list[SearchHit]:
        """Top-k by cosine similarity, best first."""

    @abstractmethod
    def count(self, flt: SearchFilter | None = None) -> int:
        """Exact number of points (matching the filter)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources."""
