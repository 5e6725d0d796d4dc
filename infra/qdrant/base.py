"""The vector-store interface Assay writes patterns to and searches.

Two backends implement it (``edge.EdgeStore`` in-process, ``server.ServerStore`` over
qdrant-client) and run through the same contract tests.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from infra.errors import StoreError
from schemas.points import PointRecord, StoredPoint

__all__ = ["IndexStatus", "PointRecord", "SearchFilter", "SearchHit", "SearchParams", "StoredPoint", "VectorStore"]

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


# HNSW size tiers: (upper bound on expected points, m, ef_construct). Bigger collections
# need a denser graph / wider build beam to keep recall up; small ones build faster.
_HNSW_TIERS: tuple[tuple[int, int, int], ...] = (
    (20_000, 16, 100),
    (1_000_000, 16, 200),
)
_HNSW_LARGE: tuple[int, int] = (32, 256)

# Qdrant's default: segments smaller than this (in KB of vectors) are searched by full scan.
HNSW_FULL_SCAN_THRESHOLD_KB = 10_000


def hnsw_params_for(expected_points: int) -> tuple[int, int]:
    """HNSW ``(m, ef_construct)`` for a collection expected to hold ``expected_points``.

    Tiers: small (< 20k) 16/100, medium (< 1M) 16/200, large 32/256.
    """
    if expected_points < 0:
        raise ValueError(f"expected_points must be >= 0, got {expected_points}")
    for bound, m, ef in _HNSW_TIERS:
        if expected_points < bound:
            return m, ef
    return _HNSW_LARGE


def vectors_as_floats(vectors: Sequence[Sequence[float]], dim: int) -> list[list[float]]:
    """The vectors as plain float lists, checked against the store's dimension.

    Raises:
        StoreError: wrong shape (usually a model variant writing to another variant's store)
            or a NaN/inf component (a broken embedding would poison cosine scores).
    """
    if len(vectors) == 0:
        return []
    # One numpy conversion for the whole batch: per-vector conversion costs ~3x more.
    try:
        arr = np.asarray(vectors, dtype=np.float32)
    except ValueError:  # ragged: some vector has another length
        arr = np.empty((0,))
    if arr.ndim != 2 or arr.shape[1] != dim:
        sizes = sorted({int(np.size(v)) for v in vectors})
        raise StoreError(
            f"got vectors of {sizes} dimensions but the store holds {dim}-dimensional vectors; "
            "open the store for the embedding model variant that produced these vectors"
        )
    if not np.isfinite(arr).all():
        raise StoreError("vector contains NaN or infinite values; check the embedding model's output")
    return arr.tolist()


def vector_as_floats(vector: Sequence[float], dim: int) -> list[float]:
    """One vector as a plain float list; see ``vectors_as_floats``."""
    return vectors_as_floats([vector], dim)[0]


def stored_vector(raw: Any) -> list[float] | None:
    """The unnamed vector of a scrolled record as floats (None when absent), from either backend."""
    if raw is None:
        return None
    if isinstance(raw, dict):  # named vectors: ours has one, unnamed ("")
        raw = raw.get("") if "" in raw else next(iter(raw.values()), None)
    return None if raw is None else [float(x) for x in raw]


def canonical_id(point_id: str) -> str:
    """The point id in canonical UUID form (lowercase, hyphenated), as both backends return it.

    Raises:
        StoreError: not a UUID (Qdrant accepts only UUIDs and unsigned integers as ids).
    """
    try:
        return str(uuid.UUID(str(point_id)))
    except ValueError:
        raise StoreError(
            f"point id {point_id!r} is not a UUID; derive ids with uuid.uuid5(...) or uuid.uuid4()"
        ) from None


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


MAX_HNSW_EF = 10_000


@dataclass(frozen=True)
class SearchParams:
    """How hard one search looks, the same on both backends.

    ``hnsw_ef``: the HNSW beam width for this search (``None``: the store's default, ``ef_construct``);
    wider finds more of the true top-k at more cost (``bench/query.py`` measures the trade).
    ``exact``: skip the index and scan every (matching) vector: recall 1, cost linear in the points.
    """

    hnsw_ef: int | None = None
    exact: bool = False

    def __post_init__(self) -> None:
        if self.hnsw_ef is not None and not (isinstance(self.hnsw_ef, int) and 1 <= self.hnsw_ef <= MAX_HNSW_EF):
            raise StoreError(f"hnsw_ef must be an integer from 1 to {MAX_HNSW_EF}, got {self.hnsw_ef!r}")


@dataclass(frozen=True)
class IndexStatus:
    """How much of a store the HNSW index covers: searches over unindexed vectors scan them."""

    points: int
    segments: int
    indexed_vectors: int


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
    def points_of_source(self, source_id: str, with_vectors: bool = False) -> list[StoredPoint]:
        """Every point of one source: to find stale points, and to reuse vectors of unchanged texts."""

    @abstractmethod
    def search(self, vector: Sequence[float], k: int = 10, flt: SearchFilter | None = None,
               params: SearchParams | None = None) -> list[SearchHit]:
        """Top-k by cosine similarity, best first; ``params``: beam width or exact scan."""

    @abstractmethod
    def count(self, flt: SearchFilter | None = None) -> int:
        """Exact number of points (matching the filter)."""

    @abstractmethod
    def index_status(self) -> IndexStatus:
        """Points, segments and how many vectors the HNSW index covers."""

    def optimize(self) -> None:
        """Build pending indexes now, where the backend does not do so by itself (default: no-op)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources."""

    def __enter__(self) -> "VectorStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
