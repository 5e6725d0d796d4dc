"""Several workers share the work: two compute workers and one indexer on the embedded default.

One compute worker is killed with SIGKILL midway; the other takes over its partitions, every
document gets its result, and the indexer's store holds exactly the point ids announced on
``patterns.enriched`` — no loss, no duplicates, no orphans.
"""

from __future__ import annotations

import ast
import signal
import sysconfig
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from infra.kafka.admin import group_lag
from infra.kafka.topics import PATTERNS_ENRICHED, PIPELINE_METRICS, POINTS_PENDING, SOURCES_RAW
from infra.qdrant.factory import open_store
from infra.settings import Settings

pytestmark = pytest.mark.integration

DOCUMENTS = 500


def stdlib_functions(n: int) -> list[tuple[str, bytes]]:
    """``n`` real documents: documented top-level functions of the standard library, one per document."""
    docs: list[tuple[str, bytes]] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines = source.splitlines()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) and node.end_lineno:
                text = "\n".join(lines[node.lineno - 1: node.end_lineno]) + "\n"
                sid = f"{path.name}:{node.name}"
                docs.append((sid, orjson.dumps({"id": sid, "type": "code", "language": "python",
                                                "uri": f"{path.name}#{node.name}", "content": text})))
                if len(docs) == n:
                    return docs
    return docs


def live_ids(enriched: list[dict[str, Any]]) -> set[str]:
    """Replay the enriched topic per partition order: upserts add a point, deletes remove it."""
    live: set[str] = set()
    for m in sorted(enriched, key=lambda m: (m["partition"], m["offset"])):
        ev = m["value"]
        (live.add if ev["event"] == "upsert" else live.discard)(ev["point_id"])
    return live


def ready(worker: Any) -> dict[str, Any]:
    try:
        return httpx.get(f"{worker.url}/ready", timeout=5).json()
    except httpx.HTTPError:
        return {"ready": False, "assigned": []}


def wait_until(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def test_two_compute_workers_and_an_indexer_survive_a_kill(topics, start_worker, tmp_path, embedder):
    docs = stdlib_functions(DOCUMENTS)
    assert len(docs) == DOCUMENTS
    index_dir = tmp_path / "indexer"
    indexer = start_worker(topics, data_dir=index_dir, ASSAY_WORKER_ROLE="index")
    first = start_worker(topics, data_dir=tmp_path / "c1", ASSAY_WORKER_ROLE="compute", ASSAY_BATCH_SIZE="8")
    second = start_worker(topics, data_dir=tmp_path / "c2", ASSAY_WORKER_ROLE="compute", ASSAY_BATCH_SIZE="8")
    raw = topics.name(SOURCES_RAW)

    def owned(worker: Any) -> set[str]:
        return {a for a in ready(worker).get("assigned", []) if a.startswith(raw)}

    wait_until(lambda: owned(first) and owned(second), 90, "both compute workers to own a partition of sources.raw")
    topics.produce(SOURCES_RAW, docs)

    def documents(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m["value"] for m in msgs if m["value"]["type"] == "document"]

    topics.consume(PIPELINE_METRICS, lambda ms: len(documents(ms)) >= DOCUMENTS // 4, timeout_s=300)
    second.stop(signal.SIGKILL)

    wanted = {sid for sid, _ in docs}

    def every_document_has_a_result(msgs: list[dict[str, Any]]) -> bool:
        return {m["source_id"] for m in documents(msgs)} >= wanted

    metrics = documents(topics.consume(PIPELINE_METRICS, every_document_has_a_result, timeout_s=600))
    partitions = {f"{raw}[{p}]" for p in range(topics.kafka.partitions)}
    assert owned(first) == partitions, "the surviving compute worker did not take over the dead one's partitions"
    assert {m["outcome"] for m in metrics} <= {"indexed", "unchanged", "gated"}

    # Let the indexer drain, then read its shard: exactly the live ids announced, each once.
    conf = topics.conf
    wait_until(lambda: sum(group_lag(conf, f"{topics.prefix}assay-pipeline-index", topics.name(POINTS_PENDING),
                                     topics.kafka.partitions).values()) == 0, 120, "the indexer to drain")
    latest: dict[str, dict[str, Any]] = {}
    for m in metrics:  # the last result per source counts (a replay after the kill says "unchanged")
        latest[m["source_id"]] = m
    expected_points = sum(m["patterns"] for m in latest.values())
    enriched = topics.consume(PATTERNS_ENRICHED, lambda ms: len(live_ids(ms)) >= expected_points, timeout_s=120)
    announced = live_ids(enriched)
    assert indexer.stop(signal.SIGTERM) == 0
    first.stop(signal.SIGTERM)
    settings = Settings(data_dir=index_dir)
    store = open_store(settings, embedder.variant.dim, embedder.variant.id)
    try:
        count = store.count()  # every point, whatever its source: orphans would show here
        stored_ids = [p.id for sid in wanted for p in store.points_of_source(sid)]
    finally:
        store.close()
    assert len(stored_ids) == len(set(stored_ids)) == count == expected_points
    assert set(stored_ids) == announced
