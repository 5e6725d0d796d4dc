"""Integration fixtures: one real broker per run, fresh topics per test, real worker processes.

Set ``ASSAY_KAFKA_BOOTSTRAP_SERVERS`` to run against a real cluster; otherwise the embedded
Tansu broker is started once for the session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from infra.kafka.admin import create_topics
from infra.kafka.broker import EmbeddedBroker, free_port
from infra.kafka.topics import topic_specs
from infra.settings import InferenceSettings, KafkaSettings

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO / ".assay" / "models"


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``cond`` until it returns something truthy (returned), or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def bootstrap() -> Iterator[str]:
    configured = os.environ.get("ASSAY_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = EmbeddedBroker(log_path=REPO / ".assay" / "test-broker.log").start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The default embedder, exported once per machine into the shared model cache."""
    from inference.factory import create_embedder

    return create_embedder(InferenceSettings(), MODELS_DIR)


class Topics:
    """Fresh, explicitly created topics for one test (unique prefix)."""

    def __init__(self, bootstrap: str) -> None:
        self.prefix = f"t{uuid.uuid4().hex[:10]}."
        self.kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=self.prefix, partitions=2)
        self.conf = self.kafka.librdkafka_config()
        self.specs = topic_specs(self.kafka)
        create_topics(self.conf, self.specs.values())

    def name(self, role: str) -> str:
        return self.specs[role].name

    def produce(self, role: str, messages: list[tuple[bytes | str | None, bytes | None]],
                headers: list[tuple[str, bytes]] | None = None) -> None:
        p = Producer({**self.conf, "acks": "all"})
        errors: list[Any] = []
        for key, value in messages:
            k = key.encode() if isinstance(key, str) else key
            p.produce(self.name(role), key=k, value=value, headers=headers,
                      on_delivery=lambda err, _m: errors.append(err) if err else None)
        assert p.flush(30) == 0
        assert not errors, errors

    def consume(self, role: str, until: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 90.0,
                ) -> list[dict[str, Any]]:
        """All messages of a topic (decoded JSON values plus key/partition/offset) until ``until`` holds."""
        # Assigned, not subscribed: no consumer group to form, so reading starts at once.
        c = Consumer({**self.conf, "group.id": f"test-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
        spec = self.specs[role]
        c.assign([TopicPartition(spec.name, p, OFFSET_BEGINNING) for p in range(spec.partitions)])
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        try:
            while not until(out):
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out on {self.name(role)} with {len(out)} messages: {out[-3:]}")
                msg = c.poll(0.5)
                if msg is None or msg.error():
                    continue
                value = orjson.loads(msg.value()) if msg.value() is not None else None
                out.append({"key": msg.key(), "partition": msg.partition(), "offset": msg.offset(),
                            "value": value, "headers": msg.headers()})
        finally:
            c.close()
        return out


@pytest.fixture
def topics(bootstrap: str) -> Topics:
    return Topics(bootstrap)


class WorkerProcess:
    """``assay worker`` as a subprocess, exactly as a user runs it."""

    def __init__(self, topics: Topics, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = data_dir / f"worker-{self.port}.log"
        env = {
            **os.environ,
            "ASSAY_KAFKA_BOOTSTRAP_SERVERS": topics.kafka.bootstrap_servers or "",
            "ASSAY_KAFKA_TOPIC_PREFIX": topics.prefix,
            "ASSAY_KAFKA_PARTITIONS": str(topics.kafka.partitions),
            "ASSAY_KAFKA_SESSION_TIMEOUT_S": "6",
            "ASSAY_DATA_DIR": str(data_dir),
            "ASSAY_MODEL_CACHE_DIR": str(MODELS_DIR),
            "ASSAY_WEB_PORT": str(self.port),
            "ASSAY_BATCH_WITHIN_S": "0.2",
            "HF_HUB_OFFLINE": "1",
            **(extra_env or {}),
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, cwd=REPO,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 120.0) -> "WorkerProcess":
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout_s}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def start_worker(tmp_path: Path, embedder: Any) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start a worker on a test's topics; every worker is stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(topics: Topics, data_dir: Path | None = None, **env: str) -> WorkerProcess:
        w = WorkerProcess(topics, data_dir or tmp_path / "data", env).wait_ready()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
