"""Nothing a user sends may stop the pipeline; shutdown always completes; a stalled worker fails fast.

Real broker, real worker processes, inputs from an independent Kafka client (kafka-python).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import inspect
import json
import signal
import threading
import time
from typing import Any, Iterator

import httpx
import orjson
import pytest

from conftest import wait_for
from infra.kafka.broker import free_port
from infra.kafka.topics import ALERTS, PATTERNS_ENRICHED, PIPELINE_METRICS, SOURCES_DLQ, SOURCES_RAW

pytestmark = pytest.mark.integration


def stdlib_modules(n: int) -> list[tuple[str, str]]:
    import base64 as b, bisect, calendar, colorsys, copy, csv, difflib, fnmatch, fractions, glob, heapq, hmac, \
        html, ipaddress, keyword, linecache, mimetypes, numbers, operator, pprint, queue, quopri, random, reprlib, \
        sched, secrets, shlex, statistics, string, stringprep, struct, tabnanny, textwrap, timeit, tokenize, \
        uuid, wave, weakref, zipapp, json as j
    modules = [b, bisect, calendar, colorsys, copy, csv, difflib, fnmatch, fractions, glob, heapq, hmac, html,
               ipaddress, keyword, linecache, mimetypes, numbers, operator, pprint, queue, quopri, random, reprlib,
               sched, secrets, shlex, statistics, string, stringprep, struct, tabnanny, textwrap, timeit, tokenize,
               uuid, wave, weakref, zipapp, j]
    return [(f"stdlib/{m.__name__}.py", inspect.getsource(m)) for m in modules[:n]]


def _real_doc() -> tuple[str, bytes]:
    import textwrap

    return "stdlib/textwrap.py", orjson.dumps({"type": "code", "language": "python",
                                               "content": inspect.getsource(textwrap)})


REAL_DOC = _real_doc()


def kafka_python_producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=8_000_000, linger_ms=5)


def test_forty_modules_and_six_bad_inputs_from_kafka_python_all_have_results(topics, start_worker):
    """The reported stall: a 3 MB document's dead letter was too large to publish and the agent died."""
    modules = stdlib_modules(40)
    huge = orjson.dumps({"id": "huge", "type": "documentation", "content": "x " * 1_500_000})
    bad: list[tuple[bytes | None, bytes | None, str]] = [
        (b"huge", huge, "oversize"),
        (b"not-json", b"{'content': nope", "invalid_json"),
        (b"latin1", '{"content": "caf\xe9"}'.encode("latin-1"), "undecodable"),
        (b"empty", b'{"content": "   "}', "empty_content"),
        (b"types", b'{"content": 12, "type": ["code"]}', "schema_violation"),
        (b"binary", b'{"content": "\\u0000\\u0001 binary"}', "binary_content"),
    ]
    worker = start_worker(topics)
    producer = kafka_python_producer(topics.kafka.bootstrap_servers)
    for sid, text in modules[:20]:
        producer.send(topics.name(SOURCES_RAW), key=sid.encode(), value=orjson.dumps(
            {"id": sid, "type": "code", "language": "python", "uri": sid, "content": text}))
    for key, value, _ in bad:
        producer.send(topics.name(SOURCES_RAW), key=key, value=value, headers=[("origin", b"kafka-python")])
    for sid, text in modules[20:]:
        producer.send(topics.name(SOURCES_RAW), key=sid.encode(), value=orjson.dumps(
            {"id": sid, "type": "code", "language": "python", "uri": sid, "content": text}))
    producer.flush(60)
    producer.close()

    def all_done(msgs: list[dict[str, Any]]) -> bool:
        return len([m for m in msgs if m["value"]["type"] == "document"]) >= 46

    metrics = [m["value"] for m in topics.consume(PIPELINE_METRICS, all_done, timeout_s=300)
               if m["value"]["type"] == "document"]
    indexed = {m["source_id"] for m in metrics if m["outcome"] == "indexed"}
    assert indexed == {sid for sid, _ in modules}
    dlq = [m["value"] for m in topics.consume(SOURCES_DLQ, lambda ms: len(ms) >= 6)]
    assert sorted(d["error_class"] for d in dlq) == sorted(c for _, _, c in bad)
    big = next(d for d in dlq if d["error_class"] == "oversize")
    assert big["truncated"] == ["value"] and big["value_size"] == len(huge)
    assert big["value_sha256"] == hashlib.sha256(huge).hexdigest()
    assert huge.startswith(base64.b64decode(big["value_b64"]))
    assert all(d["headers"] == [["origin", base64.b64encode(b"kafka-python").decode()]] for d in dlq)
    total = sum(m["patterns"] for m in metrics if m["outcome"] == "indexed")
    assert httpx.get(f"{worker.url}/stats").json()["points"] == total
    assert httpx.get(f"{worker.url}/ready").json()["ready"]


class StuckInferenceServer:
    """An embedding server that answers /info and /health but never answers an embedding request."""

    def __init__(self, variant: Any) -> None:
        info = {"model_id": variant.model, "variant": {"model": variant.model, "revision": variant.revision,
                                                       "precision": variant.precision, "backend": variant.backend,
                                                       "dim": variant.dim}}
        release = self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps(info if self.path == "/info" else {"status": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                release.wait(600)

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def stuck_server(embedder: Any) -> Iterator[StuckInferenceServer]:
    server = StuckInferenceServer(embedder.variant)
    yield server
    server.close()


def stuck_env(server: StuckInferenceServer, **extra: str) -> dict[str, str]:
    return {"ASSAY_INFERENCE_BACKEND": "remote", "ASSAY_INFERENCE_REMOTE_URL": server.url, **extra}


def test_sigterm_stops_a_worker_whose_agent_is_stuck(topics, start_worker, stuck_server):
    worker = start_worker(topics, **stuck_env(stuck_server, ASSAY_SHUTDOWN_TIMEOUT_S="5", ASSAY_STALL_AFTER_S="600"))
    topics.produce(SOURCES_RAW, [REAL_DOC])

    def waiting() -> bool:
        body = httpx.get(f"{worker.url}/ready", timeout=5).json()
        return any("waits" in r or "in flight" in r for r in body["reasons"])

    wait_for(waiting, 60, "the agent to wait on the stuck inference server")
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    code = worker.proc.wait(timeout=30)
    took = time.monotonic() - started
    assert took < 12, f"SIGTERM took {took:.1f}s"
    assert code == 4, worker.log()
    assert "graceful stop did not finish" in worker.log()


def test_the_watchdog_reports_and_exits_when_nothing_progresses(topics, start_worker, stuck_server):
    worker = start_worker(topics, **stuck_env(stuck_server, ASSAY_STALL_AFTER_S="6", ASSAY_WATCHDOG_INTERVAL_S="0.5"))
    wait_for(lambda: httpx.get(f"{worker.url}/ready", timeout=5).json()["ready"], 60, "the worker to be ready")
    topics.produce(SOURCES_RAW, [REAL_DOC])
    code = worker.proc.wait(timeout=90)
    assert code == 3, worker.log()
    [alert] = [m["value"] for m in topics.consume(ALERTS, lambda ms: len(ms) >= 1, timeout_s=30)]
    assert alert["kind"] == "stall" and alert["severity"] == "critical" and "in flight" in alert["summary"]
    assert "watchdog: agent process_sources: a batch of 1 events has been in flight" in worker.log()


def test_a_clean_sigterm_exits_zero_and_commits(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [REAL_DOC])
    topics.consume(PATTERNS_ENRICHED, lambda ms: len(ms) >= 1)
    started = time.monotonic()
    assert worker.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 15
