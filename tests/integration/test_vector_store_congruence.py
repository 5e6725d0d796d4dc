"""The same calls on Qdrant Edge and on qdrant-client give the same answers.

qdrant-client's local mode (``:memory:``) implements the server's API and semantics in Python, so
the ``ServerStore`` code path runs here without a server; with ``ASSAY_TEST_QDRANT_URL`` set, a
real server joins the comparison. Each backend gets one script of upserts, overwrites and deletes;
then counts, filtered counts, every source's points (ids, payloads, vectors) and exact searches
(with and without filters) must agree.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from qdrant_client import QdrantClient

from infra.errors import StoreError
from infra.qdrant.base import PointRecord, SearchFilter, SearchParams, VectorStore
from infra.qdrant.edge import EdgeStore
from infra.qdrant.server import ServerStore

pytestmark = pytest.mark.integration

DIM = 24
SOURCES = [f"src-{i}" for i in range(6)]
FILTERS = [
    None,
    SearchFilter(equals={"doc_type": "code"}),
    SearchFilter(equals={"source_id": "src-2"}),
    SearchFilter(min_quality=3.0),
    SearchFilter(equals={"doc_type": "documentation", "language": "en"}, min_quality=2.0),
]


def script() -> tuple[list[list[PointRecord]], list[list[str]]]:
    """Upsert rounds (the second overwrites half of the first) and delete rounds."""
    rng = np.random.default_rng(7)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"p{i}")) for i in range(240)]

    def point(i: int, rev: int) -> PointRecord:
        src = SOURCES[i % len(SOURCES)]
        payload = {"source_id": src, "doc_type": "code" if i % 3 else "documentation",
                   "language": "python" if i % 3 else "en", "quality": float(1 + (i * 7 + rev) % 5), "rev": rev,
                   "tags": [{"name": f"t{i % 4}", "confidence": 0.5}]}
        return PointRecord(ids[i], (rng.normal(size=DIM) * 2).astype(np.float32).tolist(), payload)

    upserts = [[point(i, 1) for i in range(240)], [point(i, 2) for i in range(0, 240, 2)]]
    deletes = [ids[100:140], [ids[5], ids[7], str(uuid.uuid4())]]
    return upserts, deletes


def run_script(stores: dict[str, VectorStore]) -> None:
    """The same upserts, overwrites and deletes on every store, then its index built."""
    upserts, deletes = script()
    for store in stores.values():
        for batch in upserts:
            store.upsert(batch)
        for ids in deletes:
            store.delete(ids)
        store.optimize()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[dict[str, VectorStore]]:
    opened: dict[str, VectorStore] = {"edge": EdgeStore(tmp_path / "edge", DIM, 1_000)}
    clients = {"memory": QdrantClient(":memory:")}
    server = os.environ.get("ASSAY_TEST_QDRANT_URL")
    if server:
        clients["server"] = QdrantClient(url=server, api_key=os.environ.get("ASSAY_TEST_QDRANT_API_KEY"))
    collection = f"congruence_{uuid.uuid4().hex[:10]}"
    for name, client in clients.items():
        opened[name] = ServerStore(client, collection, DIM, 1_000)
    yield opened
    for store in opened.values():
        store.close()
    if "server" in clients and clients["server"].collection_exists(collection):
        clients["server"].delete_collection(collection)
    for client in clients.values():
        client.close()


def test_every_backend_answers_the_same(stores: dict[str, VectorStore]) -> None:
    run_script(stores)
    reference_name, reference = next(iter(stores.items()))
    queries = np.random.default_rng(11).normal(size=(8, DIM)).astype(np.float32)
    for name, store in stores.items():
        if store is reference:
            continue
        label = f"{name} vs {reference_name}"
        assert store.count() == reference.count() == 240 - 40 - 2, label
        for flt in FILTERS[1:]:
            assert store.count(flt) == reference.count(flt), (label, flt)
        for src in SOURCES:
            mine = {p.id: p for p in store.points_of_source(src, with_vectors=True)}
            theirs = {p.id: p for p in reference.points_of_source(src, with_vectors=True)}
            assert mine.keys() == theirs.keys(), (label, src)
            for pid, p in mine.items():
                assert p.payload == theirs[pid].payload, (label, pid)
                assert np.allclose(p.vector, theirs[pid].vector, atol=1e-5), (label, pid)
        for q in queries:
            for flt in FILTERS:
                a = store.search(q.tolist(), k=10, flt=flt)
                b = reference.search(q.tolist(), k=10, flt=flt)
                assert [h.id for h in a] == [h.id for h in b], (label, flt)
                assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-4), (label, flt)
                assert [h.payload for h in a] == [h.payload for h in b], (label, flt)


def brute_force(points: dict[str, np.ndarray], q: np.ndarray, k: int) -> list[str]:
    ids = list(points)
    m = np.stack([points[i] for i in ids])
    scores = (m / np.linalg.norm(m, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.mark.filterwarnings("ignore:Local mode performs exact")
def test_search_params_mean_the_same_on_every_backend(stores: dict[str, VectorStore]) -> None:
    """An exact search is the brute-force top-k everywhere; a beam width is accepted everywhere."""
    run_script(stores)
    any_store = next(iter(stores.values()))
    live = {p.id: np.asarray(p.vector) for src in SOURCES for p in any_store.points_of_source(src, with_vectors=True)}
    queries = np.random.default_rng(5).normal(size=(6, DIM)).astype(np.float32)
    for name, store in stores.items():
        status = store.index_status()
        assert status.points == store.count() == len(live), name
        for q in queries:
            exact = store.search(q.tolist(), k=10, params=SearchParams(exact=True))
            assert [h.id for h in exact] == brute_force(live, q, 10), name
            wide = store.search(q.tolist(), k=10, params=SearchParams(hnsw_ef=256))
            assert [h.id for h in wide] == [h.id for h in exact], name  # no index on so few points: a scan
    with pytest.raises(StoreError):
        SearchParams(hnsw_ef=0)


def test_beam_width_reaches_the_edge_index(tmp_path: Path) -> None:
    """On an indexed Edge shard a narrow beam misses true neighbours that a wide one and an exact scan find."""
    dim, n = 384, 8_000  # 12 MB of vectors: above the full-scan threshold, so optimize() builds HNSW
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"hnsw-{i}")) for i in range(n)]
    store = EdgeStore(tmp_path / "edge", dim, n)
    try:
        for s in range(0, n, 1_000):
            store.upsert([PointRecord(ids[i], vectors[i].tolist(), {"source_id": "s"}) for i in range(s, min(s + 1_000, n))])
        store.optimize()
        status = store.index_status()
        assert status.points == n and status.indexed_vectors == n, status
        points = dict(zip(ids, vectors))
        found = {"ef=10": 0, "ef=512": 0, "exact": 0}
        params = {"ef=10": SearchParams(hnsw_ef=10), "ef=512": SearchParams(hnsw_ef=512), "exact": SearchParams(exact=True)}
        for q in rng.normal(size=(40, dim)).astype(np.float32):
            truth = set(brute_force(points, q, 10))
            for label, p in params.items():
                found[label] += len(truth & {h.id for h in store.search(q.tolist(), k=10, params=p)})
        assert found["exact"] == 400, found
        assert found["ef=10"] < found["ef=512"], found
    finally:
        store.close()
