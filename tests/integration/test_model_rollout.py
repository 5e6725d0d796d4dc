"""Model versions roll forward and back in a running worker through the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from infra.kafka.topics import MODELS, PIPELINE_METRICS, SOURCES_RAW
from processors.quality.registry import Registry
from schemas.models import ModelPromotion

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TEXT = ("How do I configure retries with exponential backoff for HTTP requests in Python? "
        "I tried a loop with time.sleep but the delays never grow. What is the idiomatic way?")


def assay(topics, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": topics.kafka.bootstrap_servers,
           "ASSAY_KAFKA_TOPIC_PREFIX": topics.prefix, "ASSAY_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


def quality_version_of_next_document(topics, n: int) -> str:
    """Produce one more document and return the quality model version its metric names."""
    topics.produce(SOURCES_RAW, [(f"q{n}", orjson.dumps({"id": f"q{n}", "type": "general", "content": TEXT}))])
    msgs = topics.consume(PIPELINE_METRICS, lambda ms: any(
        m["value"]["type"] == "document" and m["value"]["source_id"] == f"q{n}" for m in ms))
    doc = next(m["value"] for m in msgs if m["value"]["type"] == "document" and m["value"]["source_id"] == f"q{n}")
    return doc["model_versions"]["quality"]


def wait_until(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_promotion_and_rollback_reach_a_running_worker(topics, start_worker, tmp_path):
    data_dir = tmp_path / "data"
    registry = Registry(data_dir / "models" / "quality")
    builtin = registry.current()
    assert builtin is not None, "the repository ships a default quality model"
    registry.register(registry.load(builtin), "9.0.0")  # a second version of the same weights

    worker = start_worker(topics, data_dir=data_dir, ASSAY_QUALITY_MODEL="learned")
    assert quality_version_of_next_document(topics, 1) == f"quality-{builtin}"

    promoted = assay(topics, data_dir, "model", "promote", "9.0.0")
    assert promoted.returncode == 0, promoted.stderr
    assert "announced on" in promoted.stdout
    n = 2
    while (version := quality_version_of_next_document(topics, n)) != "quality-9.0.0":
        assert version == f"quality-{builtin}"  # documents before the swap keep the old one, never a mix
        n += 1
        assert n < 30, "promotion never reached the worker"

    rolled = assay(topics, data_dir, "model", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    wait_until(lambda: "now using quality model " + builtin in worker.log())
    assert quality_version_of_next_document(topics, 100) == f"quality-{builtin}"


def test_a_bad_model_file_is_refused_and_the_worker_keeps_its_model(topics, start_worker, tmp_path):
    data_dir = tmp_path / "data"
    registry = Registry(data_dir / "models" / "quality")
    builtin = registry.current()
    registry.register(registry.load(builtin), "9.1.0")
    weights = registry.path("9.1.0") / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-64] + b"\0" * 64)  # corrupted after it was registered

    worker = start_worker(topics, data_dir=data_dir, ASSAY_QUALITY_MODEL="learned")
    from streams.model_updates import publish_promotion

    publish_promotion(topics.conf, topics.name(MODELS),
                      ModelPromotion(kind="quality", version="9.1.0", promoted_at=time.time()))
    wait_until(lambda: "refused quality model 9.1.0" in worker.log())
    assert quality_version_of_next_document(topics, 1) == f"quality-{builtin}"
    assert worker.proc.poll() is None
