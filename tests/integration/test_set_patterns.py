"""The set stage end to end: a pattern split over files of one set, found by the set agent.

The observer below lives in two files: the observer interface and its implementations in one,
the subject that registers and notifies them in the other. Neither file alone shows the concrete
observers taking part; the set-level record does. Its state (the members' summaries) is kept in
the compacted ``sets.state`` topic, so a restarted worker must still know members it processed
before the restart.
"""

from __future__ import annotations

import signal
import textwrap
from typing import Any

import httpx
import orjson
import pytest

from infra.kafka.admin import read_partition
from infra.kafka.topics import PATTERNS_ENRICHED, PIPELINE_METRICS, SET_MEMBERS, SET_STATE, SOURCES_DLQ, SOURCES_RAW
from processors.ids import point_id
from processors.patterns.sets import unpack_member

pytestmark = pytest.mark.integration

SET = "file:///src/shop"
SET_SOURCE = f"set:{SET}"

OBSERVERS = textwrap.dedent('''
    """Who hears about orders."""
    from abc import ABC, abstractmethod


    class OrderListener(ABC):
        @abstractmethod
        def update(self, event: str) -> None:
            """Called for every order event."""


    class AuditLog(OrderListener):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def update(self, event: str) -> None:
            self.lines.append(event)


    class Mailer(OrderListener):
        def update(self, event: str) -> None:
            print("mail", event)
''')

SUBJECT = textwrap.dedent('''
    """The order store tells its listeners about every order."""
    from listeners import OrderListener


    class OrderStore:
        def __init__(self) -> None:
            self._listeners: list[OrderListener] = []
            self.orders: list[str] = []

        def subscribe(self, listener: OrderListener) -> None:
            self._listeners.append(listener)

        def unsubscribe(self, listener: OrderListener) -> None:
            self._listeners.remove(listener)

        def place(self, order: str) -> None:
            self.orders.append(order)
            for listener in self._listeners:
                listener.update(f"placed {order}")
''')


def member(name: str, content: str, set_id: str = SET) -> tuple[str, bytes]:
    uri = f"{set_id}/{name}"
    return uri, orjson.dumps({"id": uri, "uri": uri, "content": content, "set_id": set_id, "title": name})


def set_metrics(topics: Any, until: Any, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    msgs = topics.consume(PIPELINE_METRICS, lambda ms: until([m["value"] for m in ms if m["value"]["type"] == "set"]),
                          timeout_s=timeout_s)
    return [m["value"] for m in msgs if m["value"]["type"] == "set"]


def set_events(topics: Any, until: Any) -> list[dict[str, Any]]:
    msgs = topics.consume(PATTERNS_ENRICHED, lambda ms: until([m["value"] for m in ms
                                                               if m["value"]["source_id"] == SET_SOURCE]))
    return [m["value"] for m in msgs if m["value"]["source_id"] == SET_SOURCE]


def cross_file(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "upsert" and e["kind"] == "design_pattern"]


def test_a_pattern_split_over_two_files_is_found_at_set_level(topics, start_worker):
    worker = start_worker(topics)
    topics.produce(SOURCES_RAW, [member("listeners.py", OBSERVERS), member("store.py", SUBJECT)])

    # Events are keyed by point id, so they spread over partitions: wait for both kinds.
    events = set_events(topics, lambda es: cross_file(es) and any(e["kind"] == "set" for e in es))
    det = cross_file(events)[-1]
    assert det["name"] == "observer"
    assert det["uri"] == SET_SOURCE and det["set_id"] == SET
    tags = {t["name"]: t for t in det["tags"]}
    assert tags["gof:observer"]["confidence"] >= 0.5
    evidence = " ".join(tags["gof:observer"]["evidence"])
    for cls in ("OrderStore", "OrderListener", "AuditLog", "Mailer"):
        assert cls in evidence
    assert set(tags["cross_file"]["evidence"]) == {f"{SET}/listeners.py", f"{SET}/store.py"}
    assert det["point_id"] == point_id(SET_SOURCE, det["pattern_id"])

    overview = [e for e in events if e["kind"] == "set" and e["event"] == "upsert"][-1]
    assert "gof:observer" in {t["name"] for t in overview["tags"]}

    # The set-level points are searchable like any other, filtered by the set.
    hits = httpx.get(f"{worker.url}/search", params={"q": "observer pattern order listeners notified",
                                                     "set_id": SET, "k": 10}, timeout=30).json()["hits"]
    assert any(h["payload"]["source_id"] == SET_SOURCE and h["payload"]["name"] == "observer" for h in hits)


def test_the_set_state_survives_a_restart_and_updates_overwrite(topics, start_worker, tmp_path):
    data = tmp_path / "data"
    first = start_worker(topics, data)
    topics.produce(SOURCES_RAW, [member("listeners.py", OBSERVERS)])
    set_metrics(topics, lambda ms: any(m["members"] == 1 for m in ms))
    assert first.stop(signal.SIGTERM) == 0  # clean stop: offsets committed, nothing is replayed

    second = start_worker(topics, data)
    topics.produce(SOURCES_RAW, [member("store.py", SUBJECT)])
    # Only the table can tell the new worker about listeners.py: its input offset was committed.
    metrics = set_metrics(topics, lambda ms: any(m["members"] == 2 for m in ms))
    assert any(m["members"] == 2 and m["detections"] >= 1 for m in metrics)
    docs = [m["value"] for m in topics.consume(PIPELINE_METRICS, lambda ms: len(
        [x for x in ms if x["value"]["type"] == "document"]) >= 2) if m["value"]["type"] == "document"]
    assert [d["source_id"] for d in docs].count(f"{SET}/listeners.py") == 1, "listeners.py was re-processed"

    # Re-producing the same file changes nothing at set level: same ids, nothing re-embedded.
    topics.produce(SOURCES_RAW, [member("store.py", SUBJECT)])
    metrics = set_metrics(topics, lambda ms: sum(m["members"] == 2 for m in ms) >= 2)
    again = [m for m in metrics if m["members"] == 2][-1]
    assert again["unchanged"] and again["upserted"] == 0 and again["deleted"] == 0

    # Deleting the subject's file removes the set-level patterns it took part in.
    topics.produce(SOURCES_RAW, [(f"{SET}/store.py", None)])
    events = set_events(topics, lambda es: any(e["event"] == "delete" and e["kind"] == "design_pattern" for e in es))
    deleted = {e["point_id"] for e in events if e["event"] == "delete"}
    assert {e["point_id"] for e in cross_file(events)} <= deleted
    stats = httpx.get(f"{second.url}/search", params={"q": "observer", "set_id": SET, "k": 20}, timeout=30).json()
    assert not [h for h in stats["hits"] if h["payload"]["source_id"] == SET_SOURCE]

    # The state topic, read back as a restarted worker would: only listeners.py is left in the set.
    state: dict[bytes, bytes] = {}
    for p in range(topics.kafka.partitions):
        state.update(read_partition(topics.conf, topics.name(SET_STATE), p))
    assert [unpack_member(v).uri for v in state.values()] == [f"{SET}/listeners.py"]


def test_a_bad_set_update_goes_to_the_dlq(topics, start_worker):
    start_worker(topics)
    topics.produce(SET_MEMBERS, [(SET, b'{"set_id": "x"}'), (SET, b"not json")])
    dlq = topics.consume(SOURCES_DLQ, lambda ms: len(ms) >= 2)
    assert {m["value"]["error_class"] for m in dlq} == {"invalid_set_update"}
    assert {m["value"]["stage"] for m in dlq} == {"set"}
