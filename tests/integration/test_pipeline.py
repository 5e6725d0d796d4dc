"""End to end on the real broker: produce documents, run a real worker, check Qdrant and every topic."""

from __future__ import annotations

import base64
import inspect
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest

from infra.kafka.broker import free_port
from infra.kafka.topics import PATTERNS_ENRICHED, PIPELINE_METRICS, SOURCES_DLQ, SOURCES_RAW
from processors.ids import point_id

pytestmark = pytest.mark.integration

CODE_V1 = textwrap.dedent('''
    """Helpers for talking to flaky services."""
    import time


    def retry_with_backoff(fn, attempts=5, base_delay=0.1):
        """Call fn until it succeeds, sleeping exponentially longer between attempts."""
        for attempt in range(attempts):
            try:
                return fn()
            except Exception:
                time.sleep(base_delay * 2 ** attempt)
        raise RuntimeError("gave up")


    def parse_port(text):
        """Parse a TCP port number from text and check its range."""
        port = int(text)
        if not 0 < port < 65536:
            raise ValueError(port)
        return port
''')

CODE_V2 = CODE_V1.replace("def parse_port(text):", "def parse_host(text):").replace(
    "Parse a TCP port number from text and check its range.", "Parse a host name and lower-case it.")

DOCS = textwrap.dedent('''
    # Deploying the service

    Run the service behind a load balancer. You should always enable health checks so that
    failed instances are taken out of rotation quickly.

    ## Configuration

    Settings come from environment variables. Never commit secrets to the repository;
    prefer a secret manager and rotate credentials regularly.
''')


def doc(id_: str, content: str, type_: str | None = None, **extra: Any) -> tuple[str, bytes]:
    body: dict[str, Any] = {"id": id_, "content": content, **extra}
    if type_:
        body["type"] = type_
    return id_, orjson.dumps(body)


def doc_metrics(n: int):
    return lambda msgs: len([m for m in msgs if m["value"]["type"] == "document"]) >= n


def documents(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in msgs if m["value"]["type"] == "document"]


def search(worker: Any, q: str, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{worker.url}/search", params={"q": q, **params}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["hits"]


def points_of(worker: Any, source_id: str) -> dict[str, dict[str, Any]]:
    return {h["id"]: h["payload"] for h in search(worker, "anything", source_id=source_id, k=1000)}


def test_documents_flow_to_qdrant_and_enriched_events(topics, start_worker):
    sid = f"src-{uuid.uuid4().hex[:6]}"
    topics.produce(SOURCES_RAW, [
        doc(f"{sid}-code", CODE_V1, "code", uri="file:///repo/net/retry.py", language="python",
            set_id="set-a", metadata={"source_credibility": 0.9}),
        doc(f"{sid}-docs", DOCS, "documentation", uri="file:///repo/docs/deploy.md"),
    ])
    worker = start_worker(topics, ASSAY_QUALITY_EXPLAIN_TOP="5")
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(2)))
    assert {m["source_id"]: m["outcome"] for m in metrics} == {f"{sid}-code": "indexed", f"{sid}-docs": "indexed"}
    code_metric = next(m for m in metrics if m["source_id"] == f"{sid}-code")
    assert code_metric["patterns"] >= 3  # module + two functions
    assert code_metric["model_versions"]["embedding"].startswith("all-MiniLM-L6-v2")
    assert {"validate", "quality", "extract"} <= set(code_metric["stage_ms"])
    # The default gate: the registry's learned model for documentation, the heuristic for code.
    docs_metric = next(m for m in metrics if m["source_id"] == f"{sid}-docs")
    assert docs_metric["model_versions"]["quality"].startswith("quality-")
    assert "quality_embed" in docs_metric["stage_ms"]
    assert code_metric["model_versions"]["quality"] == "baseline-1.0.0"

    total = sum(m["patterns"] for m in metrics)
    enriched = topics.consume(PATTERNS_ENRICHED, lambda msgs: len(msgs) >= total)
    assert len(enriched) == total
    for m in enriched:
        ev = m["value"]
        assert ev["event"] == "upsert"
        for field in ("source_id", "source_version", "uri", "pattern_id", "point_id", "kind", "name", "span",
                      "text", "tags", "quality", "model_versions"):
            assert field in ev and ev[field] is not None, field
        assert ev["point_id"] == point_id(ev["source_id"], ev["pattern_id"])
        assert m["key"] == ev["point_id"].encode()
        assert 1 <= ev["quality"]["score"] <= 5
        # the learned model explains its scores when asked (top 5 contributions); the heuristic does not
        if ev["doc_type"] == "documentation":
            features = [c["feature"] for c in ev["quality"]["explanation"]]
            assert len(features) == 5 and all(isinstance(c["value"], float) for c in ev["quality"]["explanation"])
        else:
            assert ev["quality"]["explanation"] is None
    names = {ev["value"]["name"] for ev in enriched}
    assert any("retry_with_backoff" in n for n in names)

    # What the events announce is what Qdrant holds.
    stored = points_of(worker, f"{sid}-code")
    announced = {m["value"]["point_id"] for m in enriched if m["value"]["source_id"] == f"{sid}-code"}
    assert set(stored) == announced
    hits = search(worker, "retry a call with exponential backoff", k=3, type="code")
    assert "retry_with_backoff" in hits[0]["payload"]["name"]
    assert hits[0]["payload"]["set_id"] == "set-a"
    for params in ({"exact": "true"}, {"ef": 64}):  # the same top hits by full scan or a given beam width
        again = search(worker, "retry a call with exponential backoff", k=3, type="code", **params)
        assert [h["id"] for h in again] == [h["id"] for h in hits], params
    for bad in ({"ef": 0}, {"ef": "wide"}, {"exact": "maybe"}):
        resp = httpx.get(f"{worker.url}/search", params={"q": "retry", **bad}, timeout=30)
        assert resp.status_code == 400 and "bad parameter" in resp.json()["error"], (bad, resp.text)
    assert httpx.get(f"{worker.url}/stats").json()["points"] == total
    assert "assay_documents_total" in httpx.get(f"{worker.url}/metrics").text


def test_every_bad_input_goes_to_the_dlq_with_its_reason(topics, start_worker):
    big = orjson.dumps({"id": "big", "content": "x " * 3000})
    bad = [
        ("bad-json", b'{"id": "bad-json", "content": '),
        ("wrong-types", b'{"id": "wrong-types", "content": 42, "type": "code"}'),
        ("empty", b'{"id": "empty", "content": "  \\n "}'),
        ("big", big),
        ("not-utf8", b'\xff\xfe{"content": "x"}'),
        ("not-object", b'["a", "list"]'),
        ("binary", orjson.dumps({"id": "binary", "content": "abc\x00\x01\x02\x00\x00def"})),
        (None, None),  # tombstone without key
    ]
    topics.produce(SOURCES_RAW, bad, headers=[("trace", b"t-1")])
    worker = start_worker(topics, ASSAY_MAX_DOCUMENT_BYTES="4000")
    dlq = topics.consume(SOURCES_DLQ, lambda msgs: len(msgs) >= len(bad))
    by_key = {(base64.b64decode(m["value"]["key_b64"]).decode() if m["value"]["key_b64"] else None): m["value"]
              for m in dlq}
    expected = {"bad-json": "invalid_json", "wrong-types": "schema_violation", "empty": "empty_content",
                "big": "oversize", "not-utf8": "undecodable", "not-object": "not_an_object",
                "binary": "binary_content", None: "tombstone_without_key"}
    assert {k: v["error_class"] for k, v in by_key.items()} == expected
    for key, value in bad:
        dl = by_key[key]
        assert dl["reason"] and len(dl["reason"]) > 10
        assert dl["topic"] == topics.name(SOURCES_RAW)
        assert dl["stage"] in ("decode", "validate")
        assert (base64.b64decode(dl["value_b64"]) if dl["value_b64"] else None) == value
        assert ("trace", base64.b64encode(b"t-1").decode()) in [tuple(h) for h in dl["headers"]]
    assert "content" in by_key["wrong-types"]["reason"]

    # The worker is still alive and processes the next good document.
    topics.produce(SOURCES_RAW, [doc("good-after", CODE_V1, "code")])
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(len(bad) + 1)))
    assert [m["outcome"] for m in metrics if m["source_id"] == "good-after"] == ["indexed"]
    assert sum(m["outcome"] == "rejected" for m in metrics) == len(bad)
    assert worker.proc.poll() is None


def test_reproducing_a_document_keeps_point_ids_without_duplicates(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [doc("same", CODE_V1, "code")])
    topics.consume(PIPELINE_METRICS, doc_metrics(1))
    first = points_of(worker, "same")
    topics.produce(SOURCES_RAW, [doc("same", CODE_V1, "code")])
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(2)))
    assert [m["outcome"] for m in metrics] == ["indexed", "unchanged"]
    assert points_of(worker, "same").keys() == first.keys()
    assert httpx.get(f"{worker.url}/stats").json()["points"] == len(first)


def test_changed_content_removes_stale_points_and_announces_them(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [doc("changing", CODE_V1, "code")])
    topics.consume(PIPELINE_METRICS, doc_metrics(1))
    before = points_of(worker, "changing")
    topics.produce(SOURCES_RAW, [doc("changing", CODE_V2, "code")])
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(2)))
    assert metrics[1]["outcome"] == "indexed" and metrics[1]["stale_removed"] == 1
    after = points_of(worker, "changing")
    assert not any("parse_port" in p["name"] for p in after.values())
    assert any("parse_host" in p["name"] for p in after.values())
    assert {p["source_version"] for p in after.values()} == {metrics[1]["source_version"]}
    removed = set(before) - set(after)
    assert len(removed) == 1
    deletes = [m["value"] for m in topics.consume(
        PATTERNS_ENRICHED, lambda msgs: any(m["value"]["event"] == "delete" for m in msgs))
        if m["value"]["event"] == "delete"]
    assert [(d["point_id"], d["reason"]) for d in deletes] == [(removed.pop(), "content_changed")]


def test_tombstone_deletes_the_sources_points(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [doc("doomed", DOCS, "documentation"), doc("kept", CODE_V1, "code")])
    topics.consume(PIPELINE_METRICS, doc_metrics(2))
    doomed = points_of(worker, "doomed")
    assert doomed
    topics.produce(SOURCES_RAW, [("doomed", None)])
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(3)))
    assert metrics[-1]["outcome"] == "deleted" and metrics[-1]["stale_removed"] == len(doomed)
    assert points_of(worker, "doomed") == {}
    assert points_of(worker, "kept")
    deletes = [m["value"] for m in topics.consume(
        PATTERNS_ENRICHED, lambda msgs: sum(m["value"]["event"] == "delete" for m in msgs) >= len(doomed))
        if m["value"]["event"] == "delete"]
    assert {d["point_id"] for d in deletes} == set(doomed)
    assert {d["reason"] for d in deletes} == {"source_deleted"}


def test_low_quality_documents_are_counted_not_indexed(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [doc("junk", "asdf asdf asdf", "general")])
    metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(1)))
    assert metrics[0]["outcome"] == "gated" and metrics[0]["quality"] < 2
    assert points_of(worker, "junk") == {}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_restarted_worker_resumes_without_losing_documents(topics, start_worker, tmp_path, sig):
    """Stop (or kill -9) a worker mid-stream; a new one finishes; every message has a result."""
    modules = [json, textwrap, base64, uuid, shlex]
    sources = [(f"m{i}-{mod.__name__}", inspect.getsource(mod)) for i, mod in enumerate(modules * 4)]
    # Small micro-batches, so the stop lands between batches that are done and ones that are not.
    first = start_worker(topics, data_dir=tmp_path / "store", ASSAY_BATCH_SIZE="3")
    topics.produce(SOURCES_RAW, [doc(sid, text, "code") for sid, text in sources])
    produced = {(m["partition"], m["offset"]) for m in topics.consume(SOURCES_RAW, lambda ms: len(ms) >= len(sources))}
    before_stop = documents(topics.consume(PIPELINE_METRICS, doc_metrics(3)))
    first.stop(sig)
    second = start_worker(topics, data_dir=tmp_path / "store", ASSAY_BATCH_SIZE="3")

    def every_offset_has_a_result(msgs: list[dict[str, Any]]) -> bool:
        return {(m["partition"], m["offset"]) for m in documents(msgs)} >= produced

    metrics = documents(topics.consume(PIPELINE_METRICS, every_offset_has_a_result, timeout_s=240))
    assert len(before_stop) < len(sources), "the first worker finished everything before it was stopped"
    done = {m["source_id"] for m in metrics if m["outcome"] in ("indexed", "unchanged")}
    assert done == {sid for sid, _ in sources}
    stats = httpx.get(f"{second.url}/stats").json()
    indexed = {m["source_id"]: m["patterns"] for m in metrics if m["outcome"] in ("indexed", "unchanged")}
    assert stats["points"] == sum(indexed.values())



def test_a_worker_embeds_through_a_shared_inference_server(topics, start_worker, models_dir, embedder):
    """Stream workers can share one inference worker (e.g. on a GPU host) through the remote backend."""
    port = free_port()
    env = {**os.environ, "ASSAY_MODEL_CACHE_DIR": str(models_dir), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "streams.cli", "inference", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "inference server did not start"
            time.sleep(0.2)
        worker = start_worker(topics, ASSAY_INFERENCE_BACKEND="remote",
                              ASSAY_INFERENCE_REMOTE_URL=f"http://127.0.0.1:{port}")
        topics.produce(SOURCES_RAW, [doc("remote-1", CODE_V1, "code")])
        metrics = documents(topics.consume(PIPELINE_METRICS, doc_metrics(1)))
        assert metrics[0]["outcome"] == "indexed"
        # Same vectors as a local worker: the variant id is the server's, so collections are shared.
        assert metrics[0]["model_versions"]["embedding"] == embedder.variant.id
        hits = search(worker, "retry a call with exponential backoff", k=1, type="code")
        assert "retry_with_backoff" in hits[0]["payload"]["name"]
        served = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "assay_inference_texts_total" in served
    finally:
        server.terminate()
        server.wait(timeout=20)
