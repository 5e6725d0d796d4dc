"""In-process vector store on a Qdrant Edge shard (no server needed).

Measured with ``EdgeStore`` itself (dim 384, 2-core dev VM, flush included):

* ``upsert`` of 10k points in one call: ~0.5 s on a quiet box (~20k points/s; ~0.45 s of
  CPU, mostly list conversion and Edge's update), ~1 s while other jobs load the CPU/disk.
* ``upsert`` of a 300-point micro-batch: ~30 ms quiet, up to ~0.3 s loaded. The flush
  dominates: it syncs every payload index (7 of them), whether touched or not.
* top-10 ``search`` over 10k points: ~0.5 ms (exact scan; filtered ~0.1 ms).
* ``optimize()`` (HNSW build) of 10k points: ~2 s quiet, ~8 s loaded.

Edge runs no background optimizer: until ``optimize()`` is called, points stay in the
appendable segment and searches are exact full scans (~7 ms at 100k points, loaded box).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import qdrant_edge as qe

from infra.errors import StoreError
from infra.qdrant.base import (
    IndexStatus,
    HNSW_FULL_SCAN_THRESHOLD_KB,
    INDEXED_FIELDS,
    PointRecord,
    SearchFilter,
    SearchHit,
    SearchParams,
    StoredPoint,
    stored_vector,
    VectorStore,
    canonical_id,
    hnsw_params_for,
    vector_as_floats,
    vectors_as_floats,
)

_SCHEMA_TYPES: dict[str, qe.PayloadSchemaType] = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "float": qe.PayloadSchemaType.Float,
    "integer": qe.PayloadSchemaType.Integer,
    "bool": qe.PayloadSchemaType.Bool,
}
_CONFIG_FILE = "edge_config.json"


class EdgeStore(VectorStore):
    """A Qdrant Edge shard in a directory: cosine distance, fixed dimension.

    Qdrant Edge does not promise thread safety, so every shard call holds one lock. Only
    one ``EdgeStore`` (in any process) can have a shard directory open at a time.
    """

    SCROLL_PAGE = 256  # points per scroll page in points_of_source
    UPSERT_CHUNK = 1024  # points per Edge update, bounds the transient copies of a big batch

    def __init__(self, path: Path, dim: int, expected_points: int = 100_000) -> None:
        """Open the shard at ``path``, creating it (and its payload indexes) when absent.

        Raises:
            StoreError: the shard holds vectors of another dimension or distance, is open
                elsewhere, or cannot be read or created.
        """
        if dim < 1:
            raise StoreError(f"vector dimension must be >= 1, got {dim}")
        self.path = Path(path)
        self.dim = dim
        self._lock = threading.Lock()
        m, ef_construct = hnsw_params_for(expected_points)
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=HNSW_FULL_SCAN_THRESHOLD_KB),
        )
        self._shard: qe.EdgeShard | None = self._open(config)
        try:
            self._ensure_indexes()
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------------------

    def _open(self, config: qe.EdgeConfig) -> qe.EdgeShard:
        exists = (self.path / _CONFIG_FILE).exists() or (self.path / "segments").is_dir()
        if not exists:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                return qe.EdgeShard.create(str(self.path), config)
            except Exception as e:
                raise StoreError(
                    f"cannot create the Qdrant Edge shard at {self.path}: {e}; "
                    "check that the data dir (ASSAY_DATA_DIR) is writable and has free space"
                ) from e
        self._check_stored_dim()
        try:
            # Passing the config makes Edge validate vector size/distance against the
            # segments and persist the (possibly re-tiered) HNSW parameters.
            return qe.EdgeShard.load(str(self.path), config)
        except Exception as e:
            msg = str(e)
            if "ncompatible" in msg:
                hint = self._mismatch_hint()
            elif "WAL" in msg or "WouldBlock" in msg:
                hint = (
                    "another worker or EdgeStore has it open; Qdrant Edge allows one process per "
                    "shard: stop the other one, or share a Qdrant server (ASSAY_QDRANT_URL)"
                )
            else:
                hint = f"if the shard is damaged, delete {self.path} and re-index its sources"
            raise StoreError(f"cannot open the Qdrant Edge shard at {self.path}: {msg}; {hint}") from e

    def _check_stored_dim(self) -> None:
        """Fail early with a precise message when the shard's config names another size."""
        try:
            stored = json.loads((self.path / _CONFIG_FILE).read_text())["vectors"][""]["size"]
        except (OSError, ValueError, KeyError, TypeError):
            return  # unknown layout: leave the check to EdgeShard.load
        if stored != self.dim:
            raise StoreError(
                f"the Qdrant Edge shard at {self.path} holds {stored}-dimensional vectors, "
                f"not {self.dim}; {self._mismatch_hint()}"
            )

    def _mismatch_hint(self) -> str:
        return (
            "it was built for another embedding model variant; open the store for that variant, "
            f"or delete {self.path} to rebuild it (its points are lost)"
        )

    def _ensure_indexes(self) -> None:
        with self._guard("payload index creation") as shard:
            existing = set(shard.info().payload_schema)
            missing = [name for name in INDEXED_FIELDS if name not in existing]
            for name in missing:
                shard.update(qe.UpdateOperation.create_field_index(name, _SCHEMA_TYPES[INDEXED_FIELDS[name]]))
            if missing:
                shard.flush()

    @contextmanager
    def _guard(self, action: str) -> Iterator[qe.EdgeShard]:
        """Hold the lock and turn Edge's bare exceptions into StoreError."""
        with self._lock:
            if self._shard is None:
                raise StoreError(f"the Qdrant Edge store at {self.path} is closed; open a new EdgeStore")
            try:
                yield self._shard
            except StoreError:
                raise
            except Exception as e:
                # An I/O error (disk full, a file busy) can pass; anything else is about the request.
                raise StoreError(
                    f"Qdrant Edge {action} failed at {self.path}: {e}; "
                    "check disk space and permissions of the data dir",
                    transient=isinstance(e, OSError),
                ) from e

    # -- VectorStore ----------------------------------------------------------------------

    def upsert(self, points: Sequence[PointRecord]) -> None:
        for start in range(0, len(points), self.UPSERT_CHUNK):
            records = points[start : start + self.UPSERT_CHUNK]
            vectors = vectors_as_floats([p.vector for p in records], self.dim)
            chunk = [qe.Point(canonical_id(p.id), v, dict(p.payload)) for p, v in zip(records, vectors)]
            with self._guard("upsert") as shard:
                shard.update(qe.UpdateOperation.upsert_points(chunk))
        if points:
            # The WAL alone is not fsynced per update; flush makes the batch durable.
            with self._guard("flush") as shard:
                shard.flush()

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        point_ids = [canonical_id(i) for i in ids]
        with self._guard("delete") as shard:
            shard.update(qe.UpdateOperation.delete_points(point_ids))
            shard.flush()

    def points_of_source(self, source_id: str, with_vectors: bool = False) -> list[StoredPoint]:
        flt = _edge_filter(SearchFilter(equals={"source_id": source_id}))
        out: list[StoredPoint] = []
        offset: Any = None
        while True:
            # One lock hold per page, so writers are not starved by a long scroll.
            with self._guard("scroll") as shard:
                records, offset = shard.scroll(
                    qe.ScrollRequest(offset=offset, limit=self.SCROLL_PAGE, filter=flt, with_payload=True, with_vector=with_vectors)
                )
            out.extend(StoredPoint(str(r.id), dict(r.payload or {}), stored_vector(r.vector) if with_vectors else None)
                       for r in records)
            if offset is None:
                return out

    def search(self, vector: Sequence[float], k: int = 10, flt: SearchFilter | None = None,
               params: SearchParams | None = None) -> list[SearchHit]:
        query = vector_as_floats(vector, self.dim)
        if k < 1:
            return []
        request = qe.QueryRequest(
            limit=k, query=qe.Query.Nearest(query), filter=_edge_filter(flt), with_payload=True, with_vector=False,
            params=None if params is None else qe.SearchParams(hnsw_ef=params.hnsw_ef, exact=params.exact),
        )
        with self._guard("search") as shard:
            hits = shard.query(request)
        return [SearchHit(id=str(h.id), score=float(h.score), payload=dict(h.payload or {})) for h in hits]

    def count(self, flt: SearchFilter | None = None) -> int:
        with self._guard("count") as shard:
            return int(shard.count(qe.CountRequest(exact=True, filter=_edge_filter(flt))))

    def index_status(self) -> IndexStatus:
        with self._guard("info") as shard:
            info = shard.info()
        return IndexStatus(points=int(info.points_count), segments=int(info.segments_count),
                           indexed_vectors=int(info.indexed_vectors_count))

    def optimize(self) -> None:
        """Merge segments and build the HNSW index; blocks all other calls while it runs."""
        with self._guard("optimize") as shard:
            shard.optimize()

    def close(self) -> None:
        with self._lock:
            shard, self._shard = self._shard, None
        if shard is None:
            return  # already closed
        try:
            shard.flush()
        finally:
            shard.close()


def _edge_filter(flt: SearchFilter | None) -> qe.Filter | None:
    """SearchFilter → Edge Filter: every condition in ``must`` (AND)."""
    if flt is None:
        return None
    must: list[Any] = [qe.FieldCondition(key, match=qe.MatchValue(value)) for key, value in flt.equals.items()]
    if flt.min_quality is not None:
        must.append(qe.FieldCondition("quality", range=qe.RangeFloat(gte=float(flt.min_quality))))
    return qe.Filter(must=must) if must else None
