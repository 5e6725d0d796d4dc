"""The `assay` commands a user runs, as subprocesses, against the real broker, worker and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from infra.kafka.broker import free_port
from infra.kafka.topics import PIPELINE_METRICS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def assay(topics, data_dir: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": topics.kafka.bootstrap_servers,
                "ASSAY_KAFKA_TOPIC_PREFIX": topics.prefix, "ASSAY_KAFKA_PARTITIONS": str(topics.kafka.partitions),
                "ASSAY_DATA_DIR": str(data_dir), "ASSAY_MODEL_CACHE_DIR": str(REPO / ".assay" / "models"),
                **(env or {})}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], input=stdin.decode() if stdin else None,
                          capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout)


def test_topics_create_is_idempotent_and_checks_partitions(topics, tmp_path):
    first = assay(topics, tmp_path, "topics", "create")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == len(topics.specs) and all("exists" in line for line in lines)  # the fixture created them
    listed = assay(topics, tmp_path, "topics", "list")
    assert f"{topics.prefix}sources.raw" in listed.stdout and "missing" not in listed.stdout
    wrong = assay(topics, tmp_path, "topics", "create", env={"ASSAY_KAFKA_PARTITIONS": "3"})
    assert wrong.returncode == 2
    assert "has 2 partitions, expected 3" in wrong.stderr and "Traceback" not in wrong.stderr


def test_produce_worker_search_tail_and_status(topics, start_worker, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "pkg").mkdir(parents=True)
    (corpus / "pkg" / "cache.py").write_text(
        'def memoize(fn):\n    """Cache results of fn by its arguments."""\n    seen = {}\n\n'
        '    def wrapper(*args):\n        if args not in seen:\n            seen[args] = fn(*args)\n'
        '        return seen[args]\n    return wrapper\n')
    (corpus / "GUIDE.md").write_text("# Guide\n\nYou should always pin dependencies in production builds.\n")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "config").write_text("ignored")
    data_dir = tmp_path / "data"

    produced = assay(topics, data_dir, "produce", "--quiet", str(corpus))
    assert produced.returncode == 0, produced.stderr
    assert "produced 2 of 2 documents" in produced.stdout
    jsonl = b'{"id": "from-stdin", "type": "general", "content": "Prefer composition over inheritance when designing classes."}\n'
    piped = assay(topics, data_dir, "produce", "--quiet", "-", stdin=jsonl)
    assert "produced 1 of 1 documents" in piped.stdout, piped.stderr

    worker = start_worker(topics, data_dir=data_dir)
    topics.consume(PIPELINE_METRICS, lambda ms: len([m for m in ms if m["value"]["type"] == "document"]) >= 3)

    found = assay(topics, data_dir, "search", "cache function results", "--type", "code", "-k", "2", "--json")
    assert found.returncode == 0, found.stderr
    hits = [orjson.loads(line) for line in found.stdout.splitlines()]
    assert "memoize" in {h["payload"]["name"] for h in hits}  # the function, or its module, ranks first
    filtered = assay(topics, data_dir, "search", "cache function results", "--min-quality", "5.1", "--json")
    assert filtered.stdout.strip() == ""

    tail = assay(topics, data_dir, "tail", "pipeline.metrics", "-n", "2", "--timeout", "20")
    rows = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(rows) == 2 and all(r["topic"] == f"{topics.prefix}pipeline.metrics" for r in rows)
    unknown = assay(topics, data_dir, "tail", "nope")
    assert unknown.returncode == 2 and "unknown topic" in unknown.stderr

    deadline = time.monotonic() + 30
    while True:  # offsets are committed about once a second after the results are acknowledged
        status = assay(topics, data_dir, "status", env={"ASSAY_REDIS_URL": "redis://127.0.0.1:6379/0"})
        if "lag on" in status.stdout and f"sources.raw: 0 " in status.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"sources.raw: 0 " in status.stdout
    assert "redis redis://127.0.0.1:6379/0 reachable" in status.stdout
    points = int(status.stdout.split(" points (")[0].rsplit(" ", 1)[-1])
    assert points >= 3
    worker.stop()
    # With the worker gone, search opens the embedded store itself.
    local = assay(topics, data_dir, "search", "pin dependencies", "--type", "documentation", "--json")
    assert local.returncode == 0, local.stderr
    assert "pin dependencies" in orjson.loads(local.stdout.splitlines()[0])["payload"]["text"]


def test_status_reports_an_unreachable_broker_and_redis_without_its_password(tmp_path):
    port = free_port()
    env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "ASSAY_DATA_DIR": str(tmp_path),
           "ASSAY_REDIS_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0"}
    out = subprocess.run([sys.executable, "-m", "streams.cli", "status"], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=60)
    assert out.returncode == 1
    assert "FAIL broker" in out.stdout and "FAIL redis redis://:***@127.0.0.1" in out.stdout
    assert "hunter2" not in out.stdout + out.stderr


def test_a_cluster_or_exposure_that_does_not_fit_fails_clearly(topics, tmp_path):
    too_few = assay(topics, tmp_path, "topics", "create", env={"ASSAY_KAFKA_REPLICATION_FACTOR": "3"})
    assert too_few.returncode == 2 and "needs at least 3 brokers" in too_few.stderr
    fresh = {"ASSAY_KAFKA_TOPIC_PREFIX": f"{topics.prefix}none.", "ASSAY_KAFKA_CREATE_TOPICS": "false"}
    unchecked = assay(topics, tmp_path, "worker", env=fresh)
    assert unchecked.returncode == 2 and "ASSAY_KAFKA_CREATE_TOPICS=false" in unchecked.stderr
    assert "none.sources.raw is missing" in unchecked.stderr and "Traceback" not in unchecked.stderr
    exposed = assay(topics, tmp_path, "worker", env={"ASSAY_WEB_HOST": "0.0.0.0"})
    assert exposed.returncode == 2 and "ASSAY_WEB_TOKEN" in exposed.stderr


def test_embedded_broker_command_starts_and_stops(tmp_path):
    port = free_port()
    env = {**os.environ, "ASSAY_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "broker", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        state = json.loads((tmp_path / "broker.json").read_text())
        assert state["bootstrap_servers"] == f"127.0.0.1:{port}"
        # Another command finds it through the state file, with no bootstrap setting.
        listed = subprocess.run([sys.executable, "-m", "streams.cli", "topics", "create"], capture_output=True,
                                text=True, env={k: v for k, v in env.items() if k != "ASSAY_KAFKA_BOOTSTRAP_SERVERS"},
                                cwd=REPO, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "sources.raw" in listed.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert not (tmp_path / "broker.json").exists()


def test_schemas_export(tmp_path):
    out = subprocess.run([sys.executable, "-m", "streams.cli", "schemas", "export", str(tmp_path / "s")],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0
    # every topic but the set agent's compressed changelog (sets.state)
    from infra.kafka.topics import ROLES, SET_STATE

    assert {p.name.removesuffix(".schema.json") for p in (tmp_path / "s").glob("*.schema.json")} == set(ROLES) - {
        SET_STATE}
