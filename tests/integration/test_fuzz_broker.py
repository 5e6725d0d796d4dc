"""Fuzzing through the real broker: generated and hostile records reach a real worker; none stops it.

Every input must end with a result (indexed, unchanged, gated, deleted, superseded, or rejected with
a dead letter naming its offset), no batch may fail, no agent crash, no watchdog stall, the worker
stays ready, and the store holds exactly the points announced. The counts are printed (``-s``).

Sizes: ``ASSAY_FUZZ_SHORT_EXAMPLES`` generated records in ``make test`` (default 150), and
``ASSAY_FUZZ_EXAMPLES`` (default 1,000) in the long variant (``pytest -m chaos``), each plus the
hostile corpus of :mod:`tests.fuzz_inputs`.
"""

from __future__ import annotations

import base64
import os
import signal
from collections import Counter
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, seed, settings

from infra.kafka.topics import PIPELINE_METRICS, SOURCES_DLQ, SOURCES_RAW
from tests.fuzz_inputs import Hostile, hostile_records, source_records
from tests.integration.pipeline_audit import FINAL, audit_store, read_topic

pytestmark = pytest.mark.integration

SHORT = int(os.environ.get("ASSAY_FUZZ_SHORT_EXAMPLES", "150"))
LONG = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "1000"))
SEED = int(os.environ.get("ASSAY_FUZZ_SEED", "20250131"))


def generated(n: int) -> list[Hostile]:
    """``n`` records drawn from :func:`source_records` (same seed, same records)."""
    drawn: dict[bytes | None, bytes | None] = {}  # by value: hypothesis repeats its simplest examples

    @seed(SEED)
    @settings(max_examples=3 * n, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(source_records())
    def collect(record: tuple[bytes | None, bytes | None]) -> None:
        if len(drawn) < n:
            drawn.setdefault(record[1], record[0])

    collect()
    # Keys are part of the fuzz; a unique one for most records keeps results easy to tell apart.
    return [Hostile(f"generated-{i}", key if i % 4 == 0 else f"fz-{i}".encode(), value)
            for i, (value, key) in enumerate(drawn.items())]


def produce_all(topics: Any, records: list[Hostile]) -> dict[tuple[int, int], Hostile]:
    """Send each record with its headers; returns them by (partition, offset) as the broker stored them."""
    producer = Producer({**topics.conf, "acks": "all", "message.max.bytes": 8_000_000})
    stored: dict[tuple[int, int], Hostile] = {}
    errors: list[str] = []

    def report(record: Hostile) -> Any:
        def delivered(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(f"{record.name}: {err}")
            else:
                stored[(msg.partition(), msg.offset())] = record
        return delivered

    for record in records:
        producer.produce(topics.name(SOURCES_RAW), key=record.key, value=record.value,
                         headers=record.headers or None, on_delivery=report(record))
        producer.poll(0)
    assert producer.flush(120) == 0
    assert not errors, errors
    return stored


def outcomes_of(topics: Any, inputs: dict[tuple[int, int], Hostile], timeout_s: float) -> dict[tuple[int, int], str]:
    """The final outcome of every input (its last document metric), waiting until each has one."""
    def all_done(msgs: list[dict[str, Any]]) -> bool:
        return {(m["value"]["partition"], m["value"]["offset"]) for m in msgs
                if m["value"]["type"] == "document"} >= set(inputs)

    metrics = [m["value"] for m in topics.consume(PIPELINE_METRICS, all_done, timeout_s=timeout_s)
               if m["value"]["type"] == "document"]
    out: dict[tuple[int, int], str] = {}
    for m in metrics:
        key = (m["partition"], m["offset"])
        if out.get(key) not in FINAL:
            out[key] = m["outcome"]
    return out


@pytest.mark.parametrize("n_generated", [
    pytest.param(SHORT, id="short", marks=pytest.mark.timeout(600)),
    pytest.param(LONG, id="long", marks=[pytest.mark.chaos, pytest.mark.timeout(1800)])])
def test_generated_and_hostile_records_all_end_with_a_result(topics, start_worker, tmp_path, n_generated):
    records = generated(n_generated) + hostile_records()
    worker = start_worker(topics, data_dir=tmp_path / "store")
    inputs = produce_all(topics, records)
    outcomes = outcomes_of(topics, inputs, timeout_s=600)

    dead = {(d["partition"], d["offset"]): d for d in
            (orjson.loads(r["value"]) for r in read_topic(topics, SOURCES_DLQ))}
    rejected = {k for k, o in outcomes.items() if o == "rejected"}
    assert set(dead) == rejected, "every rejected input has its dead letter, and only those"
    for where, d in dead.items():
        original = inputs[where]
        assert d["topic"] == topics.name(SOURCES_RAW) and d["stage"] in ("decode", "validate"), (original.name, d)
        if "value" not in d["truncated"]:
            assert (base64.b64decode(d["value_b64"]) if d["value_b64"] is not None else None) == original.value

    ready = httpx.get(f"{worker.url}/ready", timeout=10).json()
    text = httpx.get(f"{worker.url}/metrics", timeout=10).text
    failures = {name: sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))
                for name in ("assay_batch_failures_total", "assay_watchdog_stalls_total")}
    assert worker.stop(signal.SIGTERM) == 0, worker.log()
    log = worker.log_path.read_text(errors="replace")
    assert "crashed" not in log and "failed; processing them one at a time" not in log, log[-4000:]
    assert ready["ready"], ready
    assert failures == {"assay_batch_failures_total": 0, "assay_watchdog_stalls_total": 0}, failures
    problems = audit_store(topics, tmp_path / "store")
    assert not problems, "\n".join(problems)

    generated_outcomes = Counter(o for k, o in outcomes.items() if inputs[k].name.startswith("generated-"))
    hostile = {inputs[k].name: (o if o != "rejected" else f"rejected:{dead[k]['error_class']}")
               for k, o in outcomes.items() if not inputs[k].name.startswith("generated-")}
    print(f"\n{len(inputs)} inputs ({n_generated} generated, {len(hostile)} hostile)")
    print("generated:", dict(generated_outcomes))
    print("dead letters by class:", dict(Counter(d["error_class"] for d in dead.values())))
    print("hostile:", orjson.dumps(hostile, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    assert set(outcomes.values()) <= FINAL | {"superseded"}


class RawHeaderName(str):
    """A header name kafka-python writes as the given bytes, UTF-8 or not (it calls ``name.encode()``)."""

    raw: bytes

    def __new__(cls, raw: bytes) -> "RawHeaderName":
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, *_args: Any, **_kwargs: Any) -> bytes:  # type: ignore[override]
        return self.raw


def test_a_header_name_that_is_not_utf8_is_read_and_processed(topics, start_worker, tmp_path):
    """Kafka header names are strings; the broker stores any bytes, and some clients send them.

    confluent-kafka cannot (a bytes name is sent as its ``str()``); kafka-python can (it encodes the
    name object it is given). aiokafka, which the worker reads with, raised on such a record and
    crashed the worker at every start; now the name is read with U+FFFD for the invalid bytes.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=topics.kafka.bootstrap_servers, acks="all")
    topic = topics.name(SOURCES_RAW)
    text = b"Always validate input at the boundary of a service, and log what you refused and why."
    sent = [producer.send(topic, partition=0, key=b"bad-header-name", value=orjson.dumps({"content": text.decode()}),
                          headers=[(RawHeaderName(b"\xff\xfe-name"), b"v"), ("fine", b"ok")]).get(30),
            producer.send(topic, partition=0, key=b"bad-header-name-invalid-value", value=b"{nope",
                          headers=[(RawHeaderName(b"\xc3\x28"), b"v")]).get(30),
            producer.send(topic, partition=0, key=b"after", value=orjson.dumps({"content": text.decode() + " Twice."})
                          ).get(30)]
    producer.close()
    worker = start_worker(topics, data_dir=tmp_path / "store")
    inputs = {(m.partition, m.offset): Hostile(f"r{i}", None, None) for i, m in enumerate(sent)}
    outcomes = outcomes_of(topics, inputs, timeout_s=120)
    assert [outcomes[(m.partition, m.offset)] for m in sent] == ["indexed", "rejected", "indexed"]
    [dead] = [orjson.loads(r["value"]) for r in read_topic(topics, SOURCES_DLQ)]
    assert dead["error_class"] == "invalid_json" and dead["headers"] == [["\ufffd(", base64.b64encode(b"v").decode()]]
    assert worker.proc.poll() is None and "crashed" not in worker.log()
