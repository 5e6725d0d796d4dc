"""Contract tests for the VectorStore backends, run against real engines (no mocks).

Backends: Qdrant Edge on a temp dir, qdrant-client's local mode (``:memory:``, the same API
as a server), and a real Qdrant server when ``ASSAY_TEST_QDRANT_URL`` is set.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from qdrant_client import QdrantClient

from infra.errors import AssayError, ConfigError, StoreError
from infra.qdrant.base import INDEXED_FIELDS, PointRecord, SearchFilter, VectorStore, hnsw_params_for
from infra.qdrant.edge import EdgeStore
from infra.qdrant.factory import collection_name, open_store, variant_slug
from infra.qdrant.server import ServerStore
from infra.settings import QdrantSettings, Settings

pytestmark = pytest.mark.integration

DIM = 16
SERVER_URL = os.environ.get("ASSAY_TEST_QDRANT_URL")
needs_server = pytest.mark.skipif(not SERVER_URL, reason="set ASSAY_TEST_QDRANT_URL to test against a Qdrant server")

OpenStore = Callable[..., VectorStore]


@pytest.fixture(params=["edge", "memory", pytest.param("server", marks=needs_server)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def open_vs(backend: str, tmp_path: Path) -> Iterator[OpenStore]:
    """A function opening the backend's store (same shard / collection on every call)."""
    opened: list[VectorStore] = []
    client: QdrantClient | None = None
    collection = f"test_{uuid.uuid4().hex[:12]}"
    if backend == "memory":
        client = QdrantClient(":memory:")
    elif backend == "server":
        client = QdrantClient(url=SERVER_URL, api_key=os.environ.get("ASSAY_TEST_QDRANT_API_KEY"))

    def make(dim: int = DIM, expected_points: int = 1_000) -> VectorStore:
        if backend == "edge":
            store: VectorStore = EdgeStore(tmp_path / "shard", dim, expected_points)
        else:
            assert client is not None
            store = ServerStore(client, collection, dim, expected_points)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
    if client is not None:
        if backend == "server" and client.collection_exists(collection):
            client.delete_collection(collection)
        client.close()


def _vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    # Deliberately not normalized: the store must score by cosine regardless of norm.
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32) * 3.0


def _cosines(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    m = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return m @ (query / np.linalg.norm(query))


def _points(vectors: np.ndarray, payload: Callable[[int], dict[str, Any]] | None = None) -> list[PointRecord]:
    return [
        PointRecord(id=str(uuid.uuid4()), vector=v.tolist(), payload=payload(i) if payload else {"source_id": "s", "n": i})
        for i, v in enumerate(vectors)
    ]


def _payload(i: int) -> dict[str, Any]:
    return {
        "source_id": f"src{i % 3}",
        "doc_type": "code" if i % 2 else "markdown",
        "quality": float(i % 5) + 1.0,  # 1.0 … 5.0
        "n": i,
    }


# -- contract ---------------------------------------------------------------------------------


def test_upsert_then_count(open_vs: OpenStore) -> None:
    store = open_vs()
    assert store.count() == 0
    store.upsert(_points(_vectors(25)))
    assert store.count() == 25
    store.upsert([])  # empty batch is a no-op
    assert store.count() == 25


def test_upsert_same_ids_twice_overwrites(open_vs: OpenStore) -> None:
    store = open_vs()
    pts = _points(_vectors(20))
    store.upsert(pts)
    updated = [PointRecord(p.id, p.vector, {**p.payload, "rev": 2}) for p in pts]
    store.upsert(updated)
    assert store.count() == 20
    assert all(p.payload["rev"] == 2 for p in store.points_of_source("s"))


def test_search_nearest_first_with_cosine_scores(open_vs: OpenStore) -> None:
    store = open_vs()
    vecs = _vectors(60, seed=1)
    pts = _points(vecs)
    store.upsert(pts)
    query = _vectors(1, seed=2)[0]
    expected = _cosines(vecs, query)
    order = np.argsort(-expected)[:10]

    hits = store.search(query.tolist(), k=10)

    assert [h.id for h in hits] == [pts[i].id for i in order]
    assert [h.score for h in hits] == pytest.approx([float(expected[i]) for i in order], abs=1e-5)
    assert hits[0].payload == pts[order[0]].payload
    # A stored vector, rescaled, is its own best match with cosine 1.
    self_hit = store.search((vecs[7] * 0.5).tolist(), k=1)[0]
    assert self_hit.id == pts[7].id
    assert self_hit.score == pytest.approx(1.0, abs=1e-5)
    assert store.search(query.tolist(), k=0) == []


def test_filters(open_vs: OpenStore) -> None:
    store = open_vs()
    vecs = _vectors(90, seed=3)
    pts = _points(vecs, _payload)
    store.upsert(pts)
    query = _vectors(1, seed=4)[0]
    cos = _cosines(vecs, query)

    cases = [
        SearchFilter(equals={"source_id": "src1"}),
        SearchFilter(equals={"source_id": "src1", "doc_type": "code"}),
        SearchFilter(min_quality=4.0),
        SearchFilter(equals={"doc_type": "markdown"}, min_quality=3.0),
        SearchFilter(),
    ]
    for flt in cases:
        keep = [
            i for i, p in enumerate(pts)
            if all(p.payload[k] == v for k, v in flt.equals.items())
            and (flt.min_quality is None or p.payload["quality"] >= flt.min_quality)
        ]
        assert store.count(flt) == len(keep), flt
        hits = store.search(query.tolist(), k=5, flt=flt)
        best = sorted(keep, key=lambda i: -cos[i])[:5]
        assert [h.id for h in hits] == [pts[i].id for i in best], flt
    assert store.count(SearchFilter(equals={"source_id": "nope"})) == 0
    assert store.search(query.tolist(), k=5, flt=SearchFilter(equals={"source_id": "nope"})) == []


def test_points_of_source_scrolls_all_pages(open_vs: OpenStore) -> None:
    store = open_vs()
    big = _points(_vectors(300, seed=5), lambda i: {"source_id": "big", "n": i})
    other = _points(_vectors(40, seed=6), lambda i: {"source_id": "other", "n": i})
    store.upsert(big + other)
    assert len(big) > store.SCROLL_PAGE  # type: ignore[attr-defined]  # really spans pages

    got = store.points_of_source("big")

    assert len(got) == 300
    assert {p.id: p.payload for p in got} == {p.id: p.payload for p in big}
    assert all(p.vector is None for p in got)  # not asked for
    with_vectors = {p.id: p.vector for p in store.points_of_source("big", with_vectors=True)}
    for p in big:  # vectors come back as stored (cosine stores normalise them)
        v = np.asarray(p.vector, dtype=np.float32)
        assert np.allclose(with_vectors[p.id], v / np.linalg.norm(v), atol=1e-5)
    assert {p.id for p in store.points_of_source("other")} == {p.id for p in other}
    assert store.points_of_source("missing") == []


def test_delete(open_vs: OpenStore) -> None:
    store = open_vs()
    vecs = _vectors(30, seed=7)
    pts = _points(vecs)
    store.upsert(pts)
    gone = [p.id for p in pts[:10]]

    store.delete(gone + [str(uuid.uuid4())])  # an unknown id is ignored
    store.delete([])

    assert store.count() == 20
    assert not set(gone) & {p.id for p in store.points_of_source("s")}
    assert store.search(vecs[0].tolist(), k=1)[0].id != pts[0].id


def test_bad_input_raises_store_error(open_vs: OpenStore) -> None:
    store = open_vs()
    with pytest.raises(StoreError, match="dimension"):
        store.upsert([PointRecord(str(uuid.uuid4()), [0.1] * (DIM + 1), {})])
    with pytest.raises(StoreError, match="not a UUID"):
        store.upsert([PointRecord("doc-1", [0.1] * DIM, {})])
    with pytest.raises(StoreError):
        store.search([float("nan")] * DIM)
    assert store.count() == 0


def test_reopen_keeps_points(open_vs: OpenStore) -> None:
    store = open_vs()
    vecs = _vectors(50, seed=8)
    pts = _points(vecs)
    store.upsert(pts)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.count()

    again = open_vs()

    assert again.count() == 50
    assert again.search(vecs[3].tolist(), k=1)[0].id == pts[3].id
    assert len(again.points_of_source("s")) == 50


def test_dim_mismatch_on_reopen_raises(open_vs: OpenStore) -> None:
    store = open_vs()
    store.upsert(_points(_vectors(5)))
    store.close()
    with pytest.raises(StoreError, match=r"holds 16-dimensional vectors, not 32") as info:
        open_vs(dim=32)
    assert isinstance(info.value, AssayError)
    assert open_vs().count() == 5  # the right dimension still opens it


# -- backend specifics ----------------------------------------------------------------------


def test_edge_creates_shard_with_tier_and_indexes(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "s", DIM, expected_points=50_000) as store:
        config = json.loads((tmp_path / "s" / "edge_config.json").read_text())
        assert (config["hnsw_config"]["m"], config["hnsw_config"]["ef_construct"]) == hnsw_params_for(50_000)
        assert set(INDEXED_FIELDS) <= set(store._shard.info().payload_schema)  # type: ignore[union-attr]


def test_edge_second_open_of_same_shard_is_refused(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "s", DIM):
        with pytest.raises(StoreError, match="one process per shard"):
            EdgeStore(tmp_path / "s", DIM)


def test_edge_concurrent_calls(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with EdgeStore(tmp_path / "s", DIM) as store:

        def work(seed: int) -> None:
            try:
                for j in range(3):
                    store.upsert(_points(_vectors(20, seed=seed * 10 + j)))
                    store.search(_vectors(1, seed=seed)[0].tolist(), k=3)
                    store.points_of_source("s")
            except BaseException as e:  # collected and asserted in the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count() == 4 * 3 * 20
        store.optimize()  # HNSW build on an existing shard keeps every point
        assert store.count() == 240


@needs_server  # local mode reports default HNSW params and keeps no payload indexes
def test_server_creates_collection_with_tier_and_indexes() -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    store = ServerStore.from_url(SERVER_URL or "", os.environ.get("ASSAY_TEST_QDRANT_API_KEY"), name, DIM, 5_000_000)
    try:
        info = store.client.get_collection(name)
        assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == hnsw_params_for(5_000_000)
        assert set(INDEXED_FIELDS) <= set(info.payload_schema)
    finally:
        store.client.delete_collection(name)
        store.close()


def test_hnsw_params_for_tiers() -> None:
    assert hnsw_params_for(0) == hnsw_params_for(19_999) == (16, 100)
    assert hnsw_params_for(20_000) == hnsw_params_for(999_999) == (16, 200)
    assert hnsw_params_for(1_000_000) == hnsw_params_for(10**9) == (32, 256)
    with pytest.raises(ValueError):
        hnsw_params_for(-1)


# -- factory ----------------------------------------------------------------------------------


def test_variant_slug_is_short_safe_and_distinct() -> None:
    ids = [
        "sentence-transformers/all-MiniLM-L6-v2@main/int8/onnx",
        "sentence-transformers/all-MiniLM-L6-v2@main/fp32/onnx",
        "Sentence-Transformers/all-MiniLM-L6-v2@main/INT8/onnx",
        "other-org/all-MiniLM-L6-v2@main/int8/onnx",
        "x" * 200,
        "../../etc",
        "äöü",
    ]
    slugs = [variant_slug(i) for i in ids]
    assert len(set(slugs)) == len(slugs)
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", s) and len(s) <= 41, s
    assert variant_slug(ids[0]) == variant_slug(ids[0])  # stable across runs
    assert variant_slug(ids[0]).startswith("all-minilm-l6-v2-main-int8-onnx-")
    assert collection_name("assay_patterns", ids[0]).startswith("assay_patterns__")
    with pytest.raises(ConfigError):
        collection_name("bad/name", ids[0])
    with pytest.raises(ConfigError):
        variant_slug("")


def test_open_store_edge_per_variant(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, qdrant=QdrantSettings(url=None, collection="pat", expected_points=1_000))
    with open_store(settings, DIM, "model-a@fp32") as a, open_store(settings, DIM, "model-b@int8") as b:
        assert isinstance(a, EdgeStore) and isinstance(b, EdgeStore)
        assert a.path == tmp_path / "qdrant" / f"pat__{variant_slug('model-a@fp32')}"
        assert a.path != b.path
        a.upsert(_points(_vectors(3)))
        assert (a.count(), b.count()) == (3, 0)


@needs_server
def test_open_store_server_per_variant() -> None:
    settings = Settings(qdrant=QdrantSettings(url=SERVER_URL, api_key=os.environ.get("ASSAY_TEST_QDRANT_API_KEY"),
                                              collection=f"t{uuid.uuid4().hex[:8]}"))
    store = open_store(settings, DIM, "model-a@fp32")
    try:
        assert isinstance(store, ServerStore)
        assert store.collection == collection_name(settings.qdrant.collection, "model-a@fp32")
    finally:
        store.client.delete_collection(store.collection)
        store.close()
