"""One micro-batch through ``PipelineRuntime`` on a real Qdrant Edge store, without Kafka."""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from typing import Sequence

import numpy as np
import orjson
import pytest

from infra.qdrant.edge import EdgeStore
from infra.settings import Settings
from streams.runtime import InputMessage, PipelineRuntime

DIM = 16
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

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if any("poison" in t for t in texts):
            raise RuntimeError("model failed on this input")
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIM], dtype=np.uint8).astype(np.float32) + 1
                for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), DIM)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if len(texts) else out


class FlakyStore(EdgeStore):
    """The real Edge store, with its first ``failures`` upserts failing like an outage would."""

    failures = 0

    def upsert(self, points):  # type: ignore[override]
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("qdrant unavailable")
        super().upsert(points)


def message(offset: int, key: str | None, value: dict | bytes | None) -> InputMessage:
    raw = orjson.dumps(value) if isinstance(value, dict) else value
    return InputMessage(key=key.encode() if key else None, value=raw, headers=[], topic="sources.raw",
                        partition=0, offset=offset)


@pytest.fixture
def runtime(tmp_path):
    store = FlakyStore(tmp_path / "edge", DIM, expected_points=1000)
    rt = PipelineRuntime(Settings(data_dir=tmp_path, retry_max_backoff_s=0.05), store, HashEmbedder(), "hash-16")
    yield rt
    store.close()


def run(rt: PipelineRuntime, *msgs: InputMessage):
    return asyncio.run(rt.process(list(msgs)))


def metrics_of(out) -> list[dict]:
    return [orjson.loads(v) for _, v in out.metrics if orjson.loads(v)["type"] == "document"]


def test_index_then_unchanged_skips_the_model(runtime):
    out = run(runtime, message(0, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in metrics_of(out)] == ["indexed"]
    assert runtime.store.count() == len(out.enriched) == 3
    calls = len(runtime.embedder.calls)
    again = run(runtime, message(1, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in metrics_of(again)] == ["unchanged"]
    assert len(runtime.embedder.calls) == calls  # no model call for a replay
    assert len(again.enriched) == 3  # events are re-sent: the first send may not have happened


def test_later_message_of_a_source_supersedes_earlier_ones_in_a_batch(runtime):
    out = run(runtime, message(0, "a", {"content": CODE, "type": "code"}),
              message(1, "a", {"content": CODE.replace("def sub", "def mul"), "type": "code"}))
    assert [m["outcome"] for m in metrics_of(out)] == ["superseded", "indexed"]
    names = {orjson.loads(v)["name"] for _, v in out.enriched}
    assert "mul" in names and "sub" not in names


def test_a_poison_document_is_dead_lettered_and_the_rest_indexed(runtime):
    poison = CODE.replace("Add two numbers", "poison: add two numbers")
    out = run(runtime, message(0, "good", {"content": CODE, "type": "code"}),
              message(1, "bad", {"content": poison, "type": "code"}))
    outcomes = {m["source_id"]: m["outcome"] for m in metrics_of(out)}
    assert outcomes == {"good": "indexed", "bad": "rejected"}
    dl = orjson.loads(out.dead_letters[0][1])
    assert (dl["stage"], dl["error_class"]) == ("embed", "inference_error")
    assert runtime.store.count() == 3


def test_a_store_outage_is_retried_until_it_passes(runtime):
    runtime.store.failures = 3
    out = run(runtime, message(0, "a", {"content": CODE, "type": "code"}))
    assert [m["outcome"] for m in metrics_of(out)] == ["indexed"]
    assert runtime.store.failures == 0 and runtime.store.count() == 3


def test_optimize_runs_only_after_enough_writes(runtime):
    assert not asyncio.run(runtime.optimize_if_written(1))
    run(runtime, message(0, "a", {"content": CODE, "type": "code"}))
    assert not asyncio.run(runtime.optimize_if_written(10))
    assert asyncio.run(runtime.optimize_if_written(3))
    assert not asyncio.run(runtime.optimize_if_written(3))  # counter reset
    assert runtime.store.count() == 3
