"""A worker that dies between removing stale points and publishing their delete events loses nothing.

The chaos test (kill -9 mid-stream) found points whose last event on ``patterns.enriched`` was an
upsert while the store no longer held them: the indexer had deleted them, the process died before
the delete events were acknowledged, and the replayed record found nothing left to delete. Here
the death is injected right after the store's delete; the replay runs on a fresh indexer over the
same store, as a restarted worker would.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

import orjson
import pytest

from infra.settings import Settings
from schemas.messages import InputMessage, OutMessage
from streams.compute import ComputeStage
from streams.indexing import Indexer
from tests.unit.streams.test_stages import CODE, DIM, VARIANT, FlakyStore, HashEmbedder, message


class Died(BaseException):
    """The process is gone (kill -9): nothing after this point runs, no handler sees it."""


class DyingStore(FlakyStore):
    die_after_delete = False

    def delete(self, ids):  # type: ignore[override]
        super().delete(ids)
        if self.die_after_delete:
            self.die_after_delete = False
            raise Died()


class Broker:
    """What reached the broker: the only record a subscriber of patterns.enriched has."""

    def __init__(self) -> None:
        self.acked: list[OutMessage] = []

    async def publish(self, outputs: Sequence[OutMessage]) -> None:
        self.acked.extend(outputs)

    def live(self) -> set[str]:
        live: set[str] = set()
        for m in self.acked:
            if m.role == "patterns.enriched":
                ev = orjson.loads(m.value)
                (live.add if ev["event"] == "upsert" else live.discard)(ev["point_id"])
        return live


@pytest.mark.parametrize("change", ["renamed", "tombstone"])
def test_delete_events_survive_a_death_right_after_the_store_delete(tmp_path, change):
    settings = Settings(data_dir=tmp_path, retry_max_backoff_s=0.05, quality_model="baseline")
    store = DyingStore(tmp_path / "edge", DIM, expected_points=1000)
    compute = ComputeStage(settings, HashEmbedder(), VARIANT, "w", reader=store)
    broker = Broker()
    offsets = iter(range(100))

    def pending(*msgs: InputMessage) -> list[InputMessage]:
        computed = asyncio.run(compute.process(list(msgs)))
        return [InputMessage(key=m.key, value=m.value, headers=[], topic="points.pending", partition=0,
                             offset=next(offsets)) for m in computed if m.role == "points.pending"]

    def index(records: list[InputMessage]) -> None:
        # A fresh indexer each time, as after a restart; the agent publishes what it returns, then acks.
        indexer = Indexer(settings, store, "w", VARIANT, publish=broker.publish)
        asyncio.run(broker.publish(asyncio.run(indexer.process(records))))

    index(pending(message(0, "a", {"content": CODE, "type": "code"})))
    assert broker.live() == {p.id for p in store.points_of_source("a")} and len(broker.live()) == 3

    new = {"content": CODE.replace("def sub", "def mul"), "type": "code"} if change == "renamed" else None
    records = pending(message(1, "a", new))
    store.die_after_delete = True
    with pytest.raises(Died):
        index(records)
    index(records)  # the restarted worker replays the record: it was never acked
    assert broker.live() == {p.id for p in store.points_of_source("a")}
    store.close()
