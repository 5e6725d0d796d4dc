"""The set stage: keep each set's member summaries, re-detect, and hand the set's patterns to indexing.

The indexer sends a :class:`~schemas.sets.SetMemberUpdate` (keyed by ``set_id``) for every code
document of a set it indexes, and a removal when one leaves its set, is gated or is deleted. The
set agent hands a micro-batch of them to :meth:`SetStage.process`:

1. each update is written to the :class:`SetTable` (:class:`ChangelogSetTable`: in memory, backed
   by the compacted ``sets.state`` topic, so it survives restarts and rebalances; the write is one
   more output, durable before the update is acked);
2. for every set named in the batch, detection runs over all of the set's members
   (:func:`processors.patterns.sets.set_patterns`, in a thread);
3. the set's records get vectors (reused from the store when it holds them unchanged) and go to
   ``points.pending`` as the pseudo source ``set:<set_id>``, like any document: the indexer
   compares, writes, removes stale points and announces them. A set with no members left is
   removed (``set_emptied``).

Every set named in a batch is re-derived, even if its table entries did not change: after a crash
between the table write and the points record, the replay must still finish the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Iterable, Protocol, Sequence

import numpy as np
import orjson
from pydantic import ValidationError

from infra.kafka.admin import read_partition
from infra.settings import Settings
from processors.dead_letters import dead_letter_message
from processors.events import encode, input_ref, message_key
from processors.outcomes import reusable_vectors
from processors.patterns.sets import pack_member, set_patterns, unpack_member
from processors.results import Rejection
from processors.set_points import set_document, set_quality
from schemas.messages import InputMessage, OutMessage
from schemas.points import ComputedPoint, SourcePoints
from schemas.sets import SetMember, SetMemberUpdate
from streams import metrics
from streams.compute import EmbedService, StoreReader
from streams.retry import retry_transient

log = logging.getLogger(__name__)

_SEP = b"\x1f"


class SetTable(Protocol):
    """Where member summaries live: per ``sets.members`` partition, ``set_id`` + ``source_id`` → packed member."""

    async def ensure_loaded(self, partitions: Iterable[int]) -> None: ...

    def members(self, set_id: str, partition: int) -> dict[str, bytes]: ...

    def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> OutMessage | None:
        """Set (or delete, ``None``) one member; returns the write that makes it durable (or None)."""


def member_key(set_id: str, source_id: str) -> bytes:
    return set_id.encode("utf-8", "surrogatepass") + _SEP + source_id.encode("utf-8", "surrogatepass")


class DictSetTable:
    """A plain in-process :class:`SetTable` (no durability): for pure tests and tools."""

    def __init__(self) -> None:
        self.data: dict[int, dict[bytes, bytes]] = {}

    async def ensure_loaded(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.data.setdefault(p, {})

    def members(self, set_id: str, partition: int) -> dict[str, bytes]:
        return _members_of(self.data.get(partition, {}), set_id)

    def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> None:
        _apply(self.data.setdefault(partition, {}), member_key(set_id, source_id), value)


class ChangelogSetTable:
    """The set agent's state: an in-memory map per partition, backed by the compacted ``sets.state`` topic.

    Partition *i* of ``sets.state`` holds the members of the sets routed to partition *i* of
    ``sets.members``. Every write changes the map and returns a ``sets.state`` record that the agent
    publishes with its other outputs before it acks the update that caused it. The first batch from
    a partition after this worker was assigned it reads that partition of ``sets.state`` back from
    the start (tombstones delete), so a restarted or rebalanced worker continues with every member
    it had. A revoked partition is forgotten.

    (Not a Faust table: with the embedded broker a restarted worker whose table changelog held data
    sometimes stopped consuming after recovery, two runs in about twelve. Reading the partition back
    ourselves has no such state machine.)
    """

    def __init__(self, conf: dict[str, Any], topic: str, read_timeout_s: float = 60.0) -> None:
        self.conf = conf
        self.topic = topic
        self._read_timeout_s = read_timeout_s
        self._parts: dict[int, dict[bytes, bytes]] = {}
        self._revoked: set[int] = set()

    async def ensure_loaded(self, partitions: Iterable[int]) -> None:
        for p in self._revoked:
            self._parts.pop(p, None)
        self._revoked.clear()
        for p in sorted(set(partitions) - set(self._parts)):
            t = time.perf_counter()
            state = await retry_transient(
                lambda: asyncio.to_thread(read_partition, self.conf, self.topic, p, self._read_timeout_s),
                stage="set_state_load")
            self._parts[p] = state
            log.info("set state: loaded %d members of %s[%d] in %.0f ms", len(state), self.topic, p,
                     (time.perf_counter() - t) * 1000)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop revoked partitions before the next batch (a batch in flight keeps its view: its
        updates are not acked, so the partition's next owner processes them again)."""
        self._revoked.update(partitions)

    def members(self, set_id: str, partition: int) -> dict[str, bytes]:
        return _members_of(self._parts[partition], set_id)

    def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> OutMessage:
        key = member_key(set_id, source_id)
        _apply(self._parts[partition], key, value)
        return OutMessage("sets.state", key, value, partition=partition)


def _apply(data: dict[bytes, bytes], key: bytes, value: bytes | None) -> None:
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value


def _members_of(data: Any, set_id: str) -> dict[str, bytes]:
    prefix = set_id.encode("utf-8", "surrogatepass") + _SEP
    out: dict[str, bytes] = {}
    for key in list(data.keys()):
        if isinstance(key, bytes) and key.startswith(prefix):
            out[key[len(prefix):].decode("utf-8", "surrogatepass")] = data[key]
    return out


class SetStage:
    """Runs micro-batches of member updates with the worker's embedding service (and store reader)."""

    def __init__(self, settings: Settings, table: SetTable, embedder: EmbedService, embedding_variant: str,
                 worker: str, reader: StoreReader | None = None, max_chars: int = 1200,
                 max_dlq_bytes: int = 1_000_000) -> None:
        self.settings = settings
        self.table = table
        self.embedder = embedder
        self.embedding_variant = embedding_variant
        self.worker = worker
        self.reader = reader
        self.max_chars = max_chars
        self.max_dlq_bytes = max_dlq_bytes

    async def process(self, messages: Sequence[InputMessage]) -> list[OutMessage]:
        out: list[OutMessage] = []
        touched: dict[tuple[str, int], list[InputMessage]] = {}
        await self.table.ensure_loaded({m.partition for m in messages})
        for msg in messages:
            update = self._parse(msg, out)
            if update is None:
                continue
            value = None
            if update.summary is not None:
                value = pack_member(SetMember(source_version=update.source_version, uri=update.uri,
                                              language=update.language, quality=update.quality,
                                              summary=update.summary))
            write = self.table.put(update.set_id, update.source_id, value, msg.partition)
            if write is not None:
                out.append(write)
            touched.setdefault((update.set_id, msg.partition), []).append(msg)
        for (set_id, partition), msgs in touched.items():
            out.extend(await self._refresh(set_id, partition, msgs))
        return out

    def _parse(self, msg: InputMessage, out: list[OutMessage]) -> SetMemberUpdate | None:
        try:
            if msg.value is None:
                raise ValueError("null value")
            return SetMemberUpdate.model_validate(orjson.loads(msg.value))
        except (ValueError, ValidationError, orjson.JSONDecodeError) as exc:
            rej = Rejection("set", "invalid_set_update", f"not a SetMemberUpdate: {str(exc)[:300]}")
            metrics.DEAD_LETTERS.labels(stage=rej.stage, error_class=rej.error_class).inc()
            out.append(dead_letter_message(rej, msg, worker=self.worker, max_bytes=self.max_dlq_bytes))
            return None

    async def _refresh(self, set_id: str, partition: int, msgs: list[InputMessage]) -> list[OutMessage]:
        """Re-detect one set; the points record for its pseudo source (or dead letters if it cannot be embedded)."""
        t0 = time.perf_counter()
        members = {sid: unpack_member(blob) for sid, blob in self.table.members(set_id, partition).items()}
        found = await asyncio.to_thread(set_patterns, set_id, members, max_chars=self.max_chars)
        records = list(found.patterns)
        for failure in found.failures:
            log.error("set %s: detector %s failed: %s", set_id, failure.detector, failure.error)
            metrics.DETECTOR_FAILURES.labels(detector=failure.detector).inc()
        stage_ms = {"detect": round((time.perf_counter() - t0) * 1000, 3)}
        doc = set_document(set_id, members)
        quality = set_quality(members)
        versions = {"embedding": self.embedding_variant, "quality": quality.model_version}
        common: dict[str, Any] = dict(
            source_id=doc.id, document=doc, quality=quality, model_versions=versions, origin="set",
            set_members=len(members), set_detections=sum(1 for r in records if r.kind == "design_pattern"),
            input=input_ref(msgs[-1]), computed_by=self.worker)
        if not members or not records:
            sp = SourcePoints(action="remove", reason="set_emptied", stage_ms=stage_ms, emitted_at=time.time(),
                              **common)
            return [OutMessage("points.pending", message_key(doc.id), encode(sp), cause=msgs[-1])]
        t = time.perf_counter()
        vectors = await self._reuse(doc, records, versions)
        reused = vectors is not None
        if vectors is None:
            texts = [r.text for r in records]
            try:
                vectors = await retry_transient(lambda: self.embedder.embed(texts), stage="embed_set",
                                                max_backoff_s=self.settings.retry_max_backoff_s)
            except Exception as exc:  # noqa: BLE001 - not an outage: the updates that touched the set → DLQ
                rej = Rejection("set", "set_embedding_failed", f"embedding set {set_id!r} failed: "
                                f"{type(exc).__name__}: {exc}")
                metrics.DEAD_LETTERS.labels(stage=rej.stage, error_class=rej.error_class).inc()
                return [dead_letter_message(rej, m, worker=self.worker, max_bytes=self.max_dlq_bytes) for m in msgs]
        stage_ms["embed"] = round((time.perf_counter() - t) * 1000, 3)
        stage_ms["total"] = round((time.perf_counter() - t0) * 1000, 3)
        metrics.SET_SECONDS.observe(stage_ms["total"] / 1000)
        sp = SourcePoints(action="index", points=[ComputedPoint.of(r, v) for r, v in zip(records, vectors)],
                          stage_ms=stage_ms, vectors_reused=reused, emitted_at=time.time(), **common)
        return [OutMessage("points.pending", message_key(doc.id), encode(sp), cause=msgs[-1])]

    async def _reuse(self, doc: Any, records: list[Any], versions: dict[str, str]) -> np.ndarray | None:
        if self.reader is None:
            return None
        reader = self.reader
        stored = await retry_transient(lambda: asyncio.to_thread(reader.points_of_source, doc.id, True),
                                       stage="qdrant_lookup", max_backoff_s=self.settings.retry_max_backoff_s)
        return reusable_vectors(doc, records, stored, versions)
