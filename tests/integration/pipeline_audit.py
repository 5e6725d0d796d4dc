"""Check a pipeline's end state against what was produced, whatever happened in between.

Used by the chaos tests (workers killed, inference and Redis stopped) and the broker fuzz test.
The invariants, in the words of the Delivery guarantees:

* every produced input has a result: a document metric with a final outcome, or ``superseded``
  when a later message of the same source has one;
* the store holds exactly the live point ids that ``patterns.enriched`` announced (replayed in
  order per partition: an upsert adds its id, a delete removes it): no orphan, none missing;
* each source's points are those of its last message: its content version, as many as its metric
  says; a deleted source has none;
* nothing is stuck: the pipeline's consumer group has committed every offset of the topics it reads.

The store is read directly from the Qdrant Edge shard, after the worker stopped (a shard is open
in one process at a time).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
import qdrant_edge as qe
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from infra.kafka.admin import end_offsets, group_lag
from infra.kafka.topics import (PATTERNS_ENRICHED, PIPELINE_METRICS, POINTS_PENDING, SET_MEMBERS, SOURCES_DLQ,
                                SOURCES_RAW)
from processors.ids import point_id
from processors.validate import content_version

FINAL = {"indexed", "unchanged", "gated", "rejected", "deleted"}


@dataclass(frozen=True)
class Produced:
    """One input as the broker stored it."""

    partition: int
    offset: int
    source_id: str
    version: str | None  # content version; None for a tombstone
    timestamp_ms: int


@dataclass
class Ledger:
    """Everything produced to ``sources.raw``, from the delivery reports."""

    items: list[Produced] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last_by_source(self) -> dict[str, Produced]:
        last: dict[str, Produced] = {}
        for p in sorted(self.items, key=lambda p: (p.partition, p.offset)):
            last[p.source_id] = p
        return last


def produce(topics: Any, messages: Iterable[tuple[str, bytes | None]], ledger: Ledger, *,
            chunk: int = 0, pause_s: float = 0.0) -> None:
    """Produce ``(source id, value)`` pairs keyed by source id, recording each in ``ledger``.

    With ``chunk``, sends that many then sleeps ``pause_s``: a stream rather than one burst.
    """
    producer = Producer({**topics.conf, "acks": "all", "linger.ms": 5})
    name = topics.name(SOURCES_RAW)

    def delivered(sid: str, version: str | None) -> Callable[[Any, Any], None]:
        def report(err: Any, msg: Any) -> None:
            with ledger.lock:
                if err is not None:
                    ledger.errors.append(f"{sid}: {err}")
                else:
                    ledger.items.append(Produced(msg.partition(), msg.offset(), sid, version, msg.timestamp()[1]))
        return report

    for i, (sid, value) in enumerate(messages, 1):
        version = None if value is None else content_version(orjson.loads(value)["content"])
        producer.produce(name, key=sid.encode(), value=value, on_delivery=delivered(sid, version))
        producer.poll(0)
        if chunk and i % chunk == 0:
            producer.flush(30)
            time.sleep(pause_s)
    assert producer.flush(60) == 0
    assert not ledger.errors, ledger.errors[:5]


class ResultWatcher:
    """Reads ``pipeline.metrics`` in a thread: the document metrics seen so far, by input offset."""

    def __init__(self, topics: Any) -> None:
        self.topics = topics
        self.by_input: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        self.sets: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        c = Consumer({**self.topics.conf, "group.id": f"audit-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
        c.assign([TopicPartition(self.topics.name(PIPELINE_METRICS), 0, OFFSET_BEGINNING)])
        try:
            while not self._stop.is_set():
                for msg in c.consume(500, 0.3):
                    if msg.error() or msg.value() is None:
                        continue
                    ev = orjson.loads(msg.value())
                    with self._lock:
                        if ev["type"] == "document":
                            self.by_input[(ev["partition"], ev["offset"])].append(ev)
                        elif ev["type"] == "set":
                            self.sets.append(ev)
        finally:
            c.close()

    def done(self) -> int:
        """Inputs with at least one result."""
        with self._lock:
            return len(self.by_input)

    def snapshot(self) -> dict[tuple[int, int], list[dict[str, Any]]]:
        with self._lock:
            return {k: list(v) for k, v in self.by_input.items()}

    def wait_for(self, n: int, timeout_s: float, alive: Callable[[], None] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while self.done() < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.done()} of {n} inputs have a result after {timeout_s:.0f}s")
            if alive is not None:
                alive()
            time.sleep(0.2)

    def wait_for_all(self, ledger: Ledger, timeout_s: float, alive: Callable[[], None] | None = None) -> None:
        """Until every produced input has a final result (or is superseded by one that has)."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = unresolved(ledger, self.snapshot())
            if not missing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(missing)} of {len(ledger.items)} inputs have no result after "
                                     f"{timeout_s:.0f}s, e.g. {missing[:5]}")
            if alive is not None:
                alive()
            time.sleep(0.5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def unresolved(ledger: Ledger, results: dict[tuple[int, int], list[dict[str, Any]]]) -> list[Produced]:
    """Inputs without a result; a superseded one counts when a later input of its source has a final one."""
    final_offsets: dict[str, list[int]] = defaultdict(list)
    for p in ledger.items:
        if any(m["outcome"] in FINAL for m in results.get((p.partition, p.offset), [])):
            final_offsets[p.source_id].append(p.offset)
    missing = []
    for p in ledger.items:
        outcomes = {m["outcome"] for m in results.get((p.partition, p.offset), [])}
        if outcomes & FINAL:
            continue
        if "superseded" in outcomes and any(o > p.offset for o in final_offsets[p.source_id]):
            continue
        missing.append(p)
    return missing


def read_topic(topics: Any, role: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every record of a topic up to its end now, in partition order (raw bytes, not decoded)."""
    spec = topics.specs[role]
    ends = end_offsets(topics.conf, spec.name, spec.partitions)
    c = Consumer({**topics.conf, "group.id": f"audit-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    c.assign([TopicPartition(spec.name, p, OFFSET_BEGINNING) for p in range(spec.partitions)])
    out: list[dict[str, Any]] = []
    next_offset = {p: 0 for p in range(spec.partitions)}
    deadline = time.monotonic() + timeout_s
    try:
        while any(next_offset[p] < ends[p] for p in ends):
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {spec.name}: reached {next_offset} of {ends}")
            for msg in c.consume(1000, 0.5):
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        raise AssertionError(f"reading {spec.name}: {msg.error()}")
                    continue
                next_offset[msg.partition()] = msg.offset() + 1
                if msg.offset() < ends[msg.partition()]:
                    out.append({"partition": msg.partition(), "offset": msg.offset(), "key": msg.key(),
                                "value": msg.value(), "headers": msg.headers(), "timestamp_ms": msg.timestamp()[1]})
    finally:
        c.close()
    return sorted(out, key=lambda m: (m["partition"], m["offset"]))


def enriched_events(topics: Any) -> list[dict[str, Any]]:
    """``patterns.enriched`` decoded, each event with its partition, offset and Kafka timestamp."""
    return [{**orjson.loads(r["value"]), "_at": (r["partition"], r["offset"], r["timestamp_ms"])}
            for r in read_topic(topics, PATTERNS_ENRICHED)]


def live_point_ids(events: list[dict[str, Any]]) -> set[str]:
    """Replay enriched events in order per partition: the ids whose last event is an upsert."""
    live: set[str] = set()
    for ev in events:
        if ev["event"] == "upsert":
            live.add(ev["point_id"])
        else:
            live.discard(ev["point_id"])
    return live


def stored_points(data_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every point of the worker's Edge shard (the worker must have stopped): (id, payload)."""
    [path] = [p for p in (data_dir / "qdrant").iterdir() if p.is_dir()]
    shard = qe.EdgeShard.load(str(path))
    out: list[tuple[str, dict[str, Any]]] = []
    try:
        offset: Any = None
        while True:
            records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=1000, with_payload=True,
                                                             with_vector=False))
            out.extend((str(r.id), dict(r.payload or {})) for r in records)
            if offset is None:
                return out
    finally:
        shard.close()


def pipeline_lag(topics: Any, roles: Iterable[str] = (SOURCES_RAW, POINTS_PENDING, SET_MEMBERS)) -> dict[str, int]:
    """Offsets not committed by the pipeline's consumer group, per topic role."""
    group = f"{topics.prefix}{topics.kafka.consumer_group}"
    return {role: sum(group_lag(topics.conf, group, topics.name(role), topics.specs[role].partitions).values())
            for role in roles}


def wait_for_zero_lag(topics: Any, timeout_s: float = 60.0) -> None:
    """Until two readings in a row find every offset committed (commits follow the batches by ~1 s)."""
    deadline = time.monotonic() + timeout_s
    zero_in_a_row = 0
    lag: dict[str, int] = {}
    while zero_in_a_row < 2:
        lag = pipeline_lag(topics)
        zero_in_a_row = zero_in_a_row + 1 if not any(lag.values()) else 0
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer lag is still {lag} after {timeout_s:.0f}s")
        time.sleep(1.0)


@dataclass
class Audit:
    """What the end state holds; :meth:`check` raises with every broken invariant listed."""

    ledger: Ledger
    results: dict[tuple[int, int], list[dict[str, Any]]]
    events: list[dict[str, Any]]
    stored: list[tuple[str, dict[str, Any]]]
    dead_letters: list[dict[str, Any]]
    pending: list[dict[str, Any]] = field(default_factory=list)  # points.pending, for explaining problems

    @cached_property
    def live(self) -> set[str]:
        return live_point_ids(self.events)

    def problems(self, expect_dead_letters: bool = False) -> list[str]:
        out: list[str] = []
        missing = unresolved(self.ledger, self.results)
        if missing:
            out.append(f"{len(missing)} inputs without a result, e.g. {missing[:3]}")
        ids = [pid for pid, _ in self.stored]
        if len(ids) != len(set(ids)):
            out.append(f"{len(ids) - len(set(ids))} point ids stored twice")
        stored_ids = set(ids)
        if stored_ids - self.live:
            out.append(f"{len(stored_ids - self.live)} stored points never announced or announced deleted (orphans), "
                       f"e.g. {sorted(stored_ids - self.live)[:3]}")
        if self.live - stored_ids:
            out.append(f"{len(self.live - stored_ids)} announced points missing from the store, "
                       f"e.g. {sorted(self.live - stored_ids)[:3]}")
        keys = [(p.get("source_id"), p.get("pattern_id")) for _, p in self.stored]
        if len(keys) != len(set(keys)):
            out.append("one pattern of one source stored under two ids")
        for pid, p in self.stored:
            if point_id(p["source_id"], p["pattern_id"]) != pid:
                out.append(f"point {pid} is not the id of {p['source_id']} / {p['pattern_id']}")
                break
        out.extend(self._last_versions())
        if not expect_dead_letters and self.dead_letters:
            classes = sorted({d["error_class"] for d in self.dead_letters})
            out.append(f"{len(self.dead_letters)} dead letters ({classes}), e.g. {self.dead_letters[0]['reason']}")
        return out

    def _last_versions(self) -> list[str]:
        """Each source's points are those of its last message."""
        by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, p in self.stored:
            by_source[p["source_id"]].append(p)
        out: list[str] = []
        for sid, last in self.ledger.last_by_source().items():
            points = by_source.get(sid, [])
            outcomes = [m for m in self.results.get((last.partition, last.offset), []) if m["outcome"] in FINAL]
            if last.version is None or any(m["outcome"] in ("gated", "rejected", "deleted") for m in outcomes):
                if points and last.version is None:
                    out.append(f"deleted source {sid} still has {len(points)} points")
                continue
            versions = {p["source_version"] for p in points}
            if versions != {last.version}:
                out.append(f"source {sid}: stored versions {versions}, its last message is {last.version}")
            expected = {m["patterns"] for m in outcomes}
            if expected and len(points) not in expected:
                out.append(f"source {sid}: {len(points)} points stored, its metric says {expected}")
        return out[:20]

    def explain(self, point_ids: Iterable[str]) -> dict[str, Any]:
        """For each id: its events, and its source's inputs, results and points records, in order."""
        out: dict[str, Any] = {}
        for pid in point_ids:
            events = [e for e in self.events if e["point_id"] == pid]
            sid = events[0]["source_id"] if events else None
            inputs = [p for p in self.ledger.items if p.source_id == sid]
            out[pid] = {
                "source_id": sid,
                "events": [{k: e.get(k) for k in ("event", "source_version", "reason", "emitted_at", "_at")}
                           for e in events],
                "inputs": [{"offset": p.offset, "partition": p.partition, "version": p.version,
                            "results": [{k: m.get(k) for k in ("outcome", "patterns", "stale_removed", "worker",
                                                               "emitted_at")}
                                        for m in self.results.get((p.partition, p.offset), [])]}
                           for p in inputs],
                "points_records": [{**{k: r.get(k) for k in ("action", "reason", "input", "computed_by", "_at")},
                                    "version": (r.get("document") or {}).get("version")}
                                   for r in self.pending if r.get("source_id") == sid],
                "stored": [p for i, p in self.stored if i == pid],
            }
        return out

    def problem_ids(self) -> set[str]:
        stored_ids = {pid for pid, _ in self.stored}
        return (stored_ids ^ self.live)

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = defaultdict(int)
        for ms in self.results.values():
            outcomes[ms[-1]["outcome"]] += 1
        return {"inputs": len(self.ledger.items), "results": dict(outcomes), "stored": len(self.stored),
                "live": len(self.live), "dead_letters": len(self.dead_letters)}


def audit(topics: Any, ledger: Ledger, watcher: ResultWatcher, data_dir: Path) -> Audit:
    """Read the end state; call after the worker stopped. On a broken invariant the ids involved are
    explained (events, inputs, results, points records) in ``<data_dir>/audit.json``."""
    dlq = [orjson.loads(r["value"]) for r in read_topic(topics, SOURCES_DLQ)]
    result = Audit(ledger, watcher.snapshot(), enriched_events(topics), stored_points(data_dir), dlq)
    if result.problem_ids():
        result.pending = [{**orjson.loads(r["value"]), "_at": (r["partition"], r["offset"], r["timestamp_ms"])}
                          for r in read_topic(topics, POINTS_PENDING)]
        report = result.explain(sorted(result.problem_ids())[:20])
        (data_dir / "audit.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
    return result


def chaos_plan(docs: list[Any], rng: random.Random) -> list[tuple[str, bytes | None]]:
    """The documents, then changes to some while the rest still flows: renames, tombstones, identical repeats.

    Renamed sources get a new version whose old function pattern goes stale (a delete event);
    tombstoned sources must end with no points; repeats must end ``unchanged``.
    """
    n = len(docs)
    plan: list[tuple[str, bytes | None]] = [(d.source_id, d.value()) for d in docs]
    picked = rng.sample(range(n), k=max(3, n // 5))
    renames, tombstones, repeats = picked[: len(picked) // 2], picked[len(picked) // 2: 3 * len(picked) // 4], \
        picked[3 * len(picked) // 4:]
    changes: list[tuple[str, bytes | None]] = []
    changes += [(docs[i].source_id, docs[i].renamed().value()) for i in renames]
    changes += [(docs[i].source_id, None) for i in tombstones]
    changes += [(docs[i].source_id, docs[i].value()) for i in repeats]
    rng.shuffle(changes)
    # Changes land among the second half of the documents, so they race with first versions in flight.
    out = plan[: n // 2]
    rest = plan[n // 2:]
    step = max(1, len(rest) // len(changes))
    for i, item in enumerate(rest):
        out.append(item)
        if i % step == step - 1 and changes:
            out.append(changes.pop())
    return out + changes


def audit_store(topics: Any, data_dir: Path) -> list[str]:
    """Only the store against the announcements (for runs without a ledger); call after the worker stopped."""
    return Audit(Ledger(), {}, enriched_events(topics), stored_points(data_dir), []).problems()
