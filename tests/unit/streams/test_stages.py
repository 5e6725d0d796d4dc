"""The document stage and the indexer, chained by hand on a real Qdrant Edge store, without Kafka.

``Pipeline.run`` does what the broker does between the two agents: the compute stage's
``points.pending`` records become the indexer's input messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from typing import Sequence

import numpy as np
import orjson
import pytest

from infra.errors import StoreError
from infra.qdrant.edge import EdgeStore
from infra.settings import Settings
from schemas.messages import InputMessage, OutMessage
from streams.compute import ComputeStage
from streams.indexing import Indexer

DIM = 16
VARIANT = "hash-16"
CODE = textwrap.dedent('''
    """Tiny module."""


    def add(a, b):
        """Add two numbers and return the sum of both arguments."""
        return a + b


    def sub(a, b):
        """Subtract b from a and return the difference between them."""
        return a - b
''')


class HashEmbedder:
    """A deterministic stand-in for the model; fails on texts containing ``poison``."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.outage = 0  # the next N calls fail like an unreachable server

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.outage > 0:
            self.outage -= 1
            raise ConnectionRefusedError("inference server unreachable")
        if any("poison" in t for t in texts):
            raise RuntimeError("model failed on this input")
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIM], dtype=np.uint8).astype(np.float32) + 1
                for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), DIM)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if len(texts) else out


class FlakyStore(EdgeStore):
    """The real Edge store; ``failures`` upserts fail like an outage, ``refuse`` names sources it rejects."""

    failures = 0
    refuse: set[str] = set()

    def upsert(self, points):  # type: ignore[override]
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("qdrant unavailable", transient=True)
        if any(p.payload.get("source_id") in self.refuse for p in points):
            raise StoreError("bad point: wrong vector size")
        super().upsert(points)


def message(offset: int, key: str | None, value: dict | bytes | None) -> InputMessage:
    raw = orjson.dumps(value) if isinstance(value, dict) else value
    return InputMessage(key=key.encode() if key else None, value=raw, headers=[], topic="sources.raw",
                        partition=0, offset=offset)


class Pipeline:
    def __init__(self, tmp_path) -> None:
        settings = Settings(data_dir=tmp_path, retry_max_backoff_s=0.05, quality_model="baseline")
        self.store = FlakyStore(tmp_path / "edge", DIM, expected_points=1000)
        self.embedder = HashEmbedder()
        self.compute = ComputeStage(settings, self.embedder, VARIANT, "w", reader=self.store)
        self.published: list[OutMessage] = []  # what the indexer published itself (before removing stale points)
        self.indexer = Indexer(settings, self.store, "w", VARIANT, publish=self._publish)
        self._offset = 0

    async def _publish(self, outputs: Sequence[OutMessage]) -> None:
        self.published.extend(outputs)

    def run(self, *msgs: InputMessage) -> dict[str, list[dict]]:
        computed = asyncio.run(self.compute.process(list(msgs)))
        pending = [m for m in computed if m.role == "points.pending"]
        inputs = []
        for m in pending:
            inputs.append(InputMessage(key=m.key, value=m.value, headers=[], topic="points.pending", partition=0,
                                       offset=self._offset))
            self._offset += 1
        self.published = []
        indexed = asyncio.run(self.indexer.process(inputs))
        return by_role([m for m in computed if m.role != "points.pending"] + self.published + indexed)


def by_role(out: list[OutMessage]) -> dict[str, list[dict]]:
    roles: dict[str, list[dict]] = {}
    for m in out:
        roles.setdefault(m.role, []).append(orjson.loads(m.value) if m.value else {})
    return roles


def documents(out: dict[str, list[dict]]) -> list[dict]:
    return [m for m in out.get("pipeline.metrics", []) if m["type"] == "document"]


@pytest.fixture
def pipe(tmp_path):
    p = Pipeline(tmp_path)
    yield p
    p.store.close()


def test_index_then_unchanged_skips_the_model(pipe):
    out = pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in documents(out)] == ["indexed"]
    assert pipe.store.count() == len(out["patterns.enriched"]) == 3
    calls = len(pipe.embedder.calls)
    again = pipe.run(message(1, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in documents(again)] == ["unchanged"]
    assert len(pipe.embedder.calls) == calls  # no model call for a replay
    assert len(again["patterns.enriched"]) == 3  # events are re-sent: the first send may not have happened


def test_later_message_of_a_source_supersedes_earlier_ones_in_a_batch(pipe):
    out = pipe.run(message(0, "a", {"content": CODE, "type": "code"}),
                   message(1, "a", {"content": CODE.replace("def sub", "def mul"), "type": "code"}))
    assert [m["outcome"] for m in documents(out)] == ["superseded", "indexed"]
    names = {e["name"] for e in out["patterns.enriched"]}
    assert "mul" in names and "sub" not in names


def test_changed_content_upserts_then_announces_the_stale_points(pipe):
    pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    out = pipe.run(message(1, "a", {"content": CODE.replace("def sub", "def mul"), "type": "code"}))
    deleted = [e for e in out["patterns.enriched"] if e["event"] == "delete"]
    assert [(e["name"], e["reason"]) for e in deleted] == [("sub", "content_changed")]
    assert pipe.store.count() == 3


def test_a_late_older_message_does_not_overwrite_a_newer_one(pipe):
    pipe.run(message(5, "a", {"content": CODE.replace("def sub", "def mul"), "type": "code"}))
    out = pipe.run(message(2, "a", {"content": CODE, "type": "code"}))  # a slow, replaced worker finishing late
    assert [m["outcome"] for m in documents(out)] == ["superseded"]
    names = {p.payload["name"] for p in pipe.store.points_of_source("a")}
    assert "mul" in names and "sub" not in names


def test_a_poison_document_is_dead_lettered_and_the_rest_indexed(pipe):
    poison = CODE.replace("Add two numbers", "poison: add two numbers")
    out = pipe.run(message(0, "good", {"content": CODE, "type": "code"}),
                   message(1, "bad", {"content": poison, "type": "code"}))
    assert {m["source_id"]: m["outcome"] for m in documents(out)} == {"good": "indexed", "bad": "rejected"}
    [dl] = out["sources.dlq"]
    assert (dl["stage"], dl["error_class"]) == ("embed", "inference_error")
    assert pipe.store.count() == 3


def test_an_inference_outage_is_waited_out_not_dead_lettered(pipe):
    pipe.embedder.outage = 3
    out = pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in documents(out)] == ["indexed"]
    assert "sources.dlq" not in out and pipe.embedder.outage == 0


def test_a_store_outage_is_retried_until_it_passes(pipe):
    pipe.store.failures = 3
    out = pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in documents(out)] == ["indexed"]
    assert pipe.store.failures == 0 and pipe.store.count() == 3


def test_a_point_the_store_refuses_dead_letters_its_source_only(pipe):
    pipe.store.refuse = {"bad"}
    out = pipe.run(message(0, "good", {"content": CODE, "type": "code"}),
                   message(1, "bad", {"content": CODE + "\n# other\n", "type": "code"}))
    assert [m["source_id"] for m in documents(out)] == ["good"]
    [dl] = out["sources.dlq"]
    assert (dl["stage"], dl["error_class"], dl["offset"], dl["truncated"]) == ("store", "store_rejected", 1, ["value"])
    assert dl["value_size"] > 0 and dl["value_b64"] is None  # replay reads the original from its topic
    assert {p.payload["source_id"] for p in pipe.store.points_of_source("good")} == {"good"}


def test_tombstone_and_gate_remove_every_point(pipe):
    pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    out = pipe.run(message(1, "a", None))
    assert [m["outcome"] for m in documents(out)] == ["deleted"]
    assert {e["reason"] for e in out["patterns.enriched"]} == {"source_deleted"}
    assert pipe.store.count() == 0


def test_optimize_runs_only_after_enough_writes(pipe):
    indexer = pipe.indexer
    assert not asyncio.run(indexer.optimize_if_written(1))
    pipe.run(message(0, "a", {"content": CODE, "type": "code"}))
    assert not asyncio.run(indexer.optimize_if_written(10))
    assert asyncio.run(indexer.optimize_if_written(3))
    assert not asyncio.run(indexer.optimize_if_written(3))  # counter reset
    assert pipe.store.count() == 3


def test_an_unreadable_points_record_is_dead_lettered(pipe):
    bad = InputMessage(key=b"a", value=b"{not json", headers=[], topic="points.pending", partition=0, offset=0)
    out = by_role(asyncio.run(pipe.indexer.process([bad])))
    assert [(d["stage"], d["error_class"]) for d in out["sources.dlq"]] == [("index", "invalid_points_record")]
