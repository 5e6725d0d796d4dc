"""streams.batches: micro-batching, and the guard that keeps any input from stopping an agent."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Sequence

import orjson
import pytest

from infra.errors import ConfigError
from processors.events import encode
from schemas.messages import InputMessage, OutMessage
from schemas.metrics import BatchMetric
from streams.batches import guarded, micro_batches, to_input_message


def m(offset: int, value: bytes = b"v") -> InputMessage:
    return InputMessage(key=b"k", value=value, headers=[], topic="sources.raw", partition=0, offset=offset)


def ok(msg: InputMessage) -> OutMessage:
    return OutMessage("pipeline.metrics", None, encode(BatchMetric(documents=1, rejected=0, gated=0, deleted=0,
                                                                   patterns=0, texts_embedded=0, worker="w",
                                                                   emitted_at=float(msg.offset))), cause=msg)


async def stage_failing_on(bad: bytes, messages: Sequence[InputMessage]) -> list[OutMessage]:
    if any(x.value == bad for x in messages):
        raise KeyError("a bug no rule foresaw")
    return [ok(x) for x in messages]


def test_a_failing_batch_is_retried_one_by_one_and_only_the_culprit_is_dead_lettered():
    batch = [m(0), m(1, b"boom"), m(2)]
    out = asyncio.run(guarded(lambda ms: stage_failing_on(b"boom", ms), batch, agent="a", worker="w",
                              max_dlq_bytes=100_000))
    assert [o.role for o in out] == ["pipeline.metrics", "sources.dlq", "pipeline.metrics"]
    dl = orjson.loads(out[1].value)
    assert (dl["stage"], dl["error_class"], dl["offset"]) == ("internal", "internal_error", 1)
    assert "KeyError" in dl["reason"]


def test_a_configuration_error_is_not_blamed_on_an_input():
    async def stage(_ms):
        raise ConfigError("ASSAY_QDRANT_API_KEY rejected")

    with pytest.raises(ConfigError):
        asyncio.run(guarded(stage, [m(0)], agent="a", worker="w", max_dlq_bytes=100_000))


class FakeStream:
    """Yields events like a no-ack Faust stream, then waits for more."""

    def __init__(self, n: int, gap_s: float = 0.0) -> None:
        self.n = n
        self.gap_s = gap_s

    async def events(self):
        for i in range(self.n):
            if self.gap_s:
                await asyncio.sleep(self.gap_s)
            yield i
        await asyncio.sleep(3600)


def test_micro_batches_close_when_full_or_after_the_time_cap():
    async def first_batches(stream, k):
        got = []
        async for batch in micro_batches(stream, max_events=4, within_s=0.05):
            got.append(batch)
            if len(got) == k:
                return got
        return got

    assert asyncio.run(first_batches(FakeStream(10), 2)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    slow = asyncio.run(first_batches(FakeStream(3, gap_s=0.1), 3))
    assert slow == [[0], [1], [2]]  # nothing waits past the cap for a batch to fill


def test_to_input_message_accepts_odd_headers():
    event = SimpleNamespace(message=SimpleNamespace(
        key=None, value=b"x", headers={"a": b"1", "b": None, "c": "text"}, topic="t", partition=3, offset=9,
        timestamp=1.5))
    msg = to_input_message(event)
    assert msg.headers == [("a", b"1"), ("b", None), ("c", b"text")] and msg.timestamp_ms == 1500
