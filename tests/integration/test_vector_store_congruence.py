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

from infra.qdrant.base import PointRecord, SearchFilter, VectorStore
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
    upserts, deletes = script()
    for store in stores.values():
        for batch in upserts:
            store.upsert(batch)
        for ids in deletes:
            store.delete(ids)
        store.optimize()
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
