"""The indexing stage: ``points.pending`` records in, store writes and ``patterns.enriched`` events out.

This is the only writer of the vector store. For one micro-batch it:

1. parses each record (a record it cannot read is dead-lettered, stage ``index``); of several
   records of one source in the batch only the last counts;
2. reads the points each source has now and asks :func:`processors.indexing.plan_index` what
   changes: unchanged, indexed (upserts + stale points), gated/deleted (all stale), or
   superseded (a later input is already indexed);
3. upserts every new point;
4. builds the events and metrics (:func:`processors.events.index_messages`). When points go stale,
   it publishes them itself and only then deletes the stale points: a point leaves the store only
   once its delete event is durable. (Deleting first, a worker killed before the publish lost those
   events for good: the replayed record finds nothing left to delete.) Otherwise it returns them,
   and the agent publishes them before it acks the records. Either way offsets are committed after
   all is durable, and a search never sees a gap (new points are written before stale ones go).

Outages of the store are waited out. A write the store refuses for good (a bad point) is
retried source by source, and only the source that still fails is dead-lettered (stage
``store``); its original input is named by topic, partition and offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Sequence

import orjson
from pydantic import ValidationError

from infra.errors import is_config_error
from infra.qdrant.base import VectorStore
from infra.settings import Settings
from processors.dead_letters import dead_letter_message, dead_letter_of_reference
from processors.events import index_messages
from processors.indexing import IndexPlan, plan_index
from processors.results import Rejection
from schemas.messages import InputMessage, OutMessage
from schemas.points import POINTS_SCHEMA_VERSION, PointRecord, SourcePoints, StoredPoint
from streams import metrics
from streams.retry import retry_transient

log = logging.getLogger(__name__)

UPSERT_CHUNK = 256


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class Indexer:
    """Applies points records to one vector store."""

    def __init__(self, settings: Settings, store: VectorStore, worker: str, embedding_variant: str,
                 max_dlq_bytes: int = 1_000_000, *,
                 publish: Callable[[Sequence[OutMessage]], Awaitable[Any]]) -> None:
        self.settings = settings
        self.store = store
        self.worker = worker
        self.embedding_variant = embedding_variant
        self.max_dlq_bytes = max_dlq_bytes
        self.publish = publish  # returns once the broker acknowledged every message
        self._writes_since_optimize = 0

    async def process(self, messages: Sequence[InputMessage]) -> list[OutMessage]:
        out: list[OutMessage] = []
        records: list[tuple[InputMessage, SourcePoints]] = []
        for msg in messages:
            parsed = self._parse(msg)
            if isinstance(parsed, SourcePoints):
                records.append((msg, parsed))
            else:
                out.append(parsed)
        last = {sp.source_id: i for i, (_, sp) in enumerate(records)}
        t = time.perf_counter()
        plans: list[tuple[InputMessage, IndexPlan]] = []
        for i, (msg, sp) in enumerate(records):
            existing = [] if last[sp.source_id] != i else await self._lookup(sp.source_id)
            plans.append((msg, IndexPlan(sp, "superseded") if last[sp.source_id] != i else plan_index(sp, existing)))
        lookup_ms = _ms(t)
        t = time.perf_counter()
        refused = await self._write(plans)
        write_ms = _ms(t)
        per_source = {"lookup": round(lookup_ms / max(len(plans), 1), 3), "store": round(write_ms / max(len(plans), 1), 3)}
        for msg, plan in plans:
            if id(plan) in refused:
                out.append(refused[id(plan)])
                continue
            metrics.DOCUMENTS.labels(outcome=plan.outcome).inc()
            out.extend(index_messages(plan, worker=self.worker, index_ms=per_source, cause=msg))
        metrics.STAGE_SECONDS.labels(stage="lookup").observe(lookup_ms / 1000)
        metrics.STAGE_SECONDS.labels(stage="store").observe(write_ms / 1000)
        stale = [p.id for _, plan in plans if id(plan) not in refused for p in plan.stale]
        if not stale:
            return out
        await self.publish(out)  # the delete events are durable before the points go
        await self.delete(stale)
        return []

    def _parse(self, msg: InputMessage) -> SourcePoints | OutMessage:
        try:
            if msg.value is None:
                raise ValueError("null value")
            sp = SourcePoints.model_validate(orjson.loads(msg.value))
            if sp.schema_version > POINTS_SCHEMA_VERSION:
                raise ValueError(f"schema version {sp.schema_version} is newer than this worker's "
                                 f"{POINTS_SCHEMA_VERSION}: upgrade the index workers")
            variant = sp.model_versions.get("embedding")
            if sp.points and variant != self.embedding_variant:
                raise ValueError(f"vectors of embedding model {variant!r}, but this store holds "
                                 f"{self.embedding_variant!r}: run compute and index workers with the same model")
            return sp
        except (ValueError, ValidationError, orjson.JSONDecodeError) as exc:
            rej = Rejection("index", "invalid_points_record", f"not a points record: {str(exc)[:300]}")
            metrics.DEAD_LETTERS.labels(stage=rej.stage, error_class=rej.error_class).inc()
            return dead_letter_message(rej, msg, worker=self.worker, max_bytes=self.max_dlq_bytes)

    async def _lookup(self, source_id: str) -> list[StoredPoint]:
        store = self.store
        return await retry_transient(lambda: asyncio.to_thread(store.points_of_source, source_id),
                                     stage="qdrant_lookup", max_backoff_s=self.settings.retry_max_backoff_s)

    async def _write(self, plans: list[tuple[InputMessage, IndexPlan]]) -> dict[int, OutMessage]:
        """Writes every plan's new points; returns the dead letters of plans the store refused, by ``id(plan)``."""
        refused: dict[int, OutMessage] = {}
        points = [p for _, plan in plans for p in plan.upserts]
        try:
            await self.upsert(points)
        except Exception as exc:  # noqa: BLE001 - not an outage: find the source the store refuses
            if is_config_error(exc):
                raise
            log.warning("writing %d points failed (%s); writing each source alone", len(points), exc)
            for _msg, plan in plans:
                try:
                    await self.upsert(list(plan.upserts))
                except Exception as one:  # noqa: BLE001
                    if is_config_error(one):
                        raise
                    refused[id(plan)] = self._refusal(plan, one)
        return refused

    def _refusal(self, plan: IndexPlan, exc: BaseException) -> OutMessage:
        rej = Rejection("store", "store_rejected", f"the vector store refused the points: {type(exc).__name__}: {exc}")
        metrics.DEAD_LETTERS.labels(stage=rej.stage, error_class=rej.error_class).inc()
        log.error("source %s: %s", plan.source.source_id, rej.reason)
        return dead_letter_of_reference(rej, plan.source.source_id, plan.source.input, worker=self.worker,
                                        max_bytes=self.max_dlq_bytes)

    # -- the store (also used by the optimize timer) -------------------------------------------------

    async def upsert(self, points: list[PointRecord]) -> None:
        store = self.store
        for i in range(0, len(points), UPSERT_CHUNK):
            chunk = points[i: i + UPSERT_CHUNK]
            await retry_transient(lambda: asyncio.to_thread(store.upsert, chunk), stage="qdrant_upsert",
                                  max_backoff_s=self.settings.retry_max_backoff_s)
        metrics.PATTERNS_INDEXED.inc(len(points))
        self._writes_since_optimize += len(points)

    async def delete(self, ids: list[str]) -> None:
        if ids:
            store = self.store
            await retry_transient(lambda: asyncio.to_thread(store.delete, ids), stage="qdrant_delete",
                                  max_backoff_s=self.settings.retry_max_backoff_s)
            metrics.PATTERNS_DELETED.inc(len(ids))

    async def optimize_if_written(self, min_writes: int) -> bool:
        """Build the store's index once enough was written (Edge only indexes when asked)."""
        if self._writes_since_optimize < min_writes:
            return False
        self._writes_since_optimize = 0
        started = time.perf_counter()
        await asyncio.to_thread(self.store.optimize)
        metrics.STAGE_SECONDS.labels(stage="optimize").observe(time.perf_counter() - started)
        return True
