"""``assay dlq`` and ``assay tail``'s options on the real broker, with real workers.

A document rejected as oversize under a small limit is replayed after the limit is raised and gets
indexed; an invalid-JSON record replayed with it lands in the DLQ once more, marked as a replay, and
the next replay leaves it alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from infra.kafka.topics import PIPELINE_METRICS, SOURCES_DLQ, SOURCES_RAW

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def assay(topics, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": topics.kafka.bootstrap_servers,
                "ASSAY_KAFKA_TOPIC_PREFIX": topics.prefix, "ASSAY_KAFKA_PARTITIONS": str(topics.kafka.partitions),
                "ASSAY_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=120)


def lines(out: subprocess.CompletedProcess[str]) -> list[dict]:
    assert out.returncode == 0, out.stdout + out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_replay_after_a_fix_indexes_and_a_still_bad_record_returns_once(topics, start_worker, tmp_path):
    data_dir = tmp_path / "data"
    guide = {"id": "guide", "type": "documentation", "title": "Assay",
             "content": (REPO / "README.md").read_text()[:12_000]}
    topics.produce(SOURCES_RAW, [("broken", b'{"content": "unterminated'), ("guide", orjson.dumps(guide))])

    # A tiny document limit and DLQ record limit: the guide is rejected, its dead letter truncated.
    first = start_worker(topics, data_dir, ASSAY_MAX_DOCUMENT_BYTES="2000", ASSAY_KAFKA_MAX_MESSAGE_BYTES="10000")
    topics.consume(SOURCES_DLQ, lambda ms: len(ms) >= 2)
    first.stop()

    listed = {dl["error_class"]: dl for dl in lines(assay(topics, data_dir, "dlq", "list", "--json"))}
    assert set(listed) == {"invalid_json", "oversize"}
    oversize, broken = listed["oversize"], listed["invalid_json"]
    assert oversize["truncated"] == ["value"] and oversize["value_size"] > 10_000
    only = lines(assay(topics, data_dir, "dlq", "list", "--json", "--error-class", "oversize", "--since", "1h"))
    assert [dl["dlq_offset"] for dl in only] == [oversize["dlq_offset"]]
    assert lines(assay(topics, data_dir, "dlq", "list", "--json", "--until", "1h")) == []

    shown = assay(topics, data_dir, "dlq", "show", str(oversize["dlq_offset"]))
    assert shown.returncode == 0, shown.stderr
    assert "TRUNCATED: value" in shown.stdout and "over the 2000-byte limit" in shown.stdout
    assert '"id": "guide"' in shown.stdout or '"id":"guide"' in shown.stdout  # the decoded prefix

    dry = assay(topics, data_dir, "dlq", "replay", "--dry-run")
    assert "would replay 2 of 2" in dry.stdout, dry.stdout + dry.stderr

    start_worker(topics, data_dir)  # the default limits: the guide fits now
    replayed = assay(topics, data_dir, "dlq", "replay")
    assert "replayed 2 of 2" in replayed.stdout, replayed.stdout + replayed.stderr

    metrics = topics.consume(PIPELINE_METRICS, lambda ms: any(
        m["value"].get("source_id") == "guide" and m["value"].get("outcome") == "indexed" for m in ms))
    assert any(m["value"].get("outcome") == "indexed" for m in metrics)
    letters = topics.consume(SOURCES_DLQ, lambda ms: len(ms) >= 3)
    again = [m["value"] for m in letters if m["value"]["replay_of"]]
    assert [(dl["error_class"], dl["replay_of"]) for dl in again] == [("invalid_json", f"0:{broken['dlq_offset']}")]

    # The next replay leaves the replayed letter alone unless asked.
    next_dry = assay(topics, data_dir, "dlq", "replay", "--dry-run", "--error-class", "invalid_json")
    assert "would replay 1 of 1" in next_dry.stdout and "rejected again" in next_dry.stderr
    with_replays = assay(topics, data_dir, "dlq", "replay", "--dry-run", "--error-class", "invalid_json",
                         "--include-replayed")
    assert "would replay 2 of 2" in with_replays.stdout

    # kcat-like tail: the last DLQ record with its timestamp; the guide's records by key, with headers.
    last = lines(assay(topics, data_dir, "tail", "sources.dlq", "--offset", "-1", "--exit", "--timestamps"))
    assert len(last) == 1 and last[0]["value"]["replay_of"] and last[0]["timestamp_ms"] > 0
    guide_records = lines(assay(topics, data_dir, "tail", "sources.raw", "--key", "guide", "--exit", "--headers"))
    assert [r["headers"] for r in guide_records] == [[], [["assay-replay-of", f"0:{oversize['dlq_offset']}"]]]
    partition = guide_records[0]["partition"]
    from_offset = lines(assay(topics, data_dir, "tail", "sources.raw", "-p", str(partition), "-o",
                              str(guide_records[1]["offset"]), "-e"))
    assert [r["key"] for r in from_offset][0] == "guide"
