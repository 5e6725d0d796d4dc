"""The set stage: keep each set's member summaries in a table, re-detect, index set-level patterns.

The document agent sends a :class:`~schemas.sets.SetMemberUpdate` (keyed by ``set_id``) for every
code document of a set it indexes, and a removal when one leaves its set, is gated or is
deleted. The set agent (``streams.pipeline``) hands a micro-batch of them to
:meth:`SetStage.process`:

1. each update is written to the :class:`SetTable` (:class:`ChangelogSetTable`: in memory, backed
   by the compacted ``sets.state`` topic, so it survives restarts and rebalances; values are
   compressed summaries);
2. for every set named in the batch, detection runs over all of the set's members
   (:func:`processors.patterns.sets.set_patterns`, in a thread);
3. the set's records are compared with the points already stored under ``set:<set_id>``: when
   ids, texts and model versions are the same nothing happens; otherwise they are embedded and
   upserted (deterministic ids), and points of patterns no longer detected are deleted;
4. the agent sends the upsert/delete events, waits for the state writes and the events, and
   only then acks the updates. A replay repeats steps 1–3 with the same values: idempotent.

Every set named in a batch is re-derived, even if its table entries did not change: after a
crash between the table write and the point upsert, the replay must still finish the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Protocol, Sequence

import orjson
from pydantic import ValidationError

from processors.dead_letters import dead_letter
from processors.enrich import delete_event, point_payload, upsert_event
from processors.ids import point_id
from processors.patterns.sets import pack_member, set_patterns, set_source_id, set_version, unpack_member
from processors.quality.baseline import label_for
from processors.results import Rejection
from schemas.documents import Document, DocumentType
from schemas.metrics import SetMetric
from schemas.patterns import PatternRecord, QualityScore
from schemas.sets import SetMember, SetMemberUpdate
from infra.kafka.admin import read_partition
from infra.qdrant.base import PointRecord
from streams import metrics
from streams.retry import with_backoff
from streams.runtime import InputMessage, Outputs, PipelineRuntime, _json, _ms

log = logging.getLogger(__name__)

#: Version of the set-level "quality": the mean of the members' scores.
SET_QUALITY_MODEL = "set-members-mean/1.0.0"
_SEP = b"\x1f"


class SetTable(Protocol):
    """Where member summaries live: per ``sets.members`` partition, ``set_id`` + ``source_id`` → packed member."""

    async def ensure_loaded(self, partitions: Iterable[int]) -> None: ...

    def members(self, set_id: str, partition: int) -> dict[str, bytes]: ...

    async def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> Any:
        """Set (or delete, ``None``) one member; returns an awaitable for its durability (or None)."""


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

    async def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> None:
        _apply(self.data.setdefault(partition, {}), member_key(set_id, source_id), value)


class ChangelogSetTable:
    """The set agent's state: an in-memory map per partition, backed by the compacted ``sets.state`` topic.

    Partition *i* of ``sets.state`` holds the members of the sets routed to partition *i* of
    ``sets.members``. Every write goes to both; the agent awaits the write with its other outputs
    before it acks the update that caused it. The first batch from a partition after this worker
    was assigned it reads that partition of ``sets.state`` back from the start (tombstones delete),
    so a restarted or rebalanced worker continues with every member it had. A revoked partition is
    forgotten.

    (Not a Faust table: with the embedded broker a restarted worker whose table changelog held data
    sometimes stopped consuming after recovery, two runs in about twelve. Reading the partition back
    ourselves has no such state machine.)
    """

    def __init__(self, conf: dict[str, Any], topic: str, send: Callable[[bytes, bytes | None, int], Awaitable[Any]],
                 read_timeout_s: float = 60.0) -> None:
        self.conf = conf
        self.topic = topic
        self._send = send
        self._read_timeout_s = read_timeout_s
        self._parts: dict[int, dict[bytes, bytes]] = {}
        self._revoked: set[int] = set()

    async def ensure_loaded(self, partitions: Iterable[int]) -> None:
        for p in self._revoked:
            self._parts.pop(p, None)
        self._revoked.clear()
        for p in sorted(set(partitions) - set(self._parts)):
            t = time.perf_counter()
            state = await asyncio.to_thread(read_partition, self.conf, self.topic, p, self._read_timeout_s)
            self._parts[p] = state
            log.info("set state: loaded %d members of %s[%d] in %.0f ms", len(state), self.topic, p, _ms(t))

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop revoked partitions before the next batch (a batch in flight keeps its view: its
        updates are not acked, so the partition's next owner processes them again)."""
        self._revoked.update(partitions)

    def members(self, set_id: str, partition: int) -> dict[str, bytes]:
        return _members_of(self._parts[partition], set_id)

    async def put(self, set_id: str, source_id: str, value: bytes | None, partition: int) -> Any:
        key = member_key(set_id, source_id)
        _apply(self._parts[partition], key, value)
        return await self._send(key, value, partition)


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


@dataclass
class SetResult:
    """What one batch of set updates produced."""

    outputs: Outputs = field(default_factory=Outputs)
    durability: list[Any] = field(default_factory=list)  # changelog futures to await before acking


class SetStage:
    """Runs micro-batches of member updates against the worker's store and embedder."""

    def __init__(self, runtime: PipelineRuntime, max_chars: int = 1200) -> None:
        self.runtime = runtime
        self.max_chars = max_chars

    async def process(self, messages: Sequence[InputMessage], table: SetTable) -> SetResult:
        result = SetResult()
        touched: dict[tuple[str, int], None] = {}
        await table.ensure_loaded({m.partition for m in messages})
        for msg in messages:
            update = self._parse(msg, result)
            if update is None:
                continue
            value = None
            if update.summary is not None:
                value = pack_member(SetMember(source_version=update.source_version, uri=update.uri,
                                              language=update.language, quality=update.quality,
                                              summary=update.summary))
            fut = await table.put(update.set_id, update.source_id, value, msg.partition)
            if fut is not None:
                result.durability.append(fut)
            touched[(update.set_id, msg.partition)] = None
        for set_id, partition in touched:
            await self._refresh(set_id, partition, table, result.outputs)
        return result

    def _parse(self, msg: InputMessage, result: SetResult) -> SetMemberUpdate | None:
        try:
            if msg.value is None:
                raise ValueError("null value")
            return SetMemberUpdate.model_validate(orjson.loads(msg.value))
        except (ValueError, ValidationError, orjson.JSONDecodeError) as exc:
            rej = Rejection("set", "invalid_set_update", f"not a SetMemberUpdate: {str(exc)[:300]}")
            dl = dead_letter(rej, key=msg.key, value=msg.value, headers=msg.headers, topic=msg.topic,
                             partition=msg.partition, offset=msg.offset, timestamp_ms=msg.timestamp_ms,
                             worker=self.runtime.worker)
            metrics.DEAD_LETTERS.labels(stage=dl.stage, error_class=dl.error_class).inc()
            result.outputs.dead_letters.append((msg.key, _json(dl)))
            return None

    async def _refresh(self, set_id: str, partition: int, table: SetTable, out: Outputs) -> None:
        """Re-detect one set and bring its stored points and events in line."""
        rt = self.runtime
        t0 = time.perf_counter()
        stage_ms: dict[str, float] = {}
        members = {sid: unpack_member(blob) for sid, blob in table.members(set_id, partition).items()}
        found = await asyncio.to_thread(set_patterns, set_id, members, max_chars=self.max_chars)
        records = list(found.patterns)
        for failure in found.failures:
            metrics.DETECTOR_FAILURES.labels(detector=failure.detector).inc()
        stage_ms["detect"] = _ms(t0)
        doc = _set_document(set_id, members)
        quality = _set_quality(members)
        versions = rt.model_versions(quality)
        sid = doc.id

        existing = await rt.points_of_source(sid)
        existing_by_id = dict(existing)
        wanted = {point_id(sid, r.key): r for r in records}
        same = set(wanted) == set(existing_by_id) and all(
            existing_by_id[pid].get("text") == r.text and existing_by_id[pid].get("model_versions") == versions
            and existing_by_id[pid].get("tags") == [t.model_dump() for t in r.tags]
            for pid, r in wanted.items())
        upserted: list[PatternRecord] = []
        stale: list[tuple[str, dict[str, Any]]] = []
        if not same:
            t = time.perf_counter()
            if records:
                texts = [r.text for r in records]
                # Set texts are ours, not a producer's: a failure is an outage, waited out (no DLQ).
                vectors = await with_backoff(lambda: rt.embedder.embed(texts), stage="embed_set",
                                             max_backoff_s=rt.settings.retry_max_backoff_s)
                stage_ms["embed"] = _ms(t)
                points = [PointRecord(point_id(sid, r.key), vec.tolist(), point_payload(doc, r, quality, versions))
                          for r, vec in zip(records, vectors)]
                await rt.upsert_points(points)
                upserted = records
            stale = [(pid, payload) for pid, payload in existing if pid not in wanted]
            await rt.delete_points([pid for pid, _ in stale])
        for r in upserted:
            ev = upsert_event(doc, r, quality, versions)
            out.enriched.append((ev.point_id.encode(), _json(ev)))
        for pid, payload in stale:
            reason = "set_emptied" if not members else "content_changed"
            ev = delete_event(sid, pid, payload, reason, doc.version)
            out.enriched.append((pid.encode(), _json(ev)))
        stage_ms["total"] = _ms(t0)
        metrics.SET_SECONDS.observe(stage_ms["total"] / 1000)
        metric = SetMetric(set_id=set_id, set_version=doc.version, members=len(members),
                           detections=sum(1 for r in records if r.kind == "design_pattern"),
                           patterns=len(records), upserted=len(upserted), deleted=len(stale),
                           unchanged=same, model_versions=versions, stage_ms=stage_ms,
                           worker=rt.worker, emitted_at=time.time())
        out.metrics.append((set_id.encode("utf-8", "surrogatepass"), _json(metric)))


def _set_document(set_id: str, members: dict[str, SetMember]) -> Document:
    """The pseudo document a set's own patterns belong to (uri and id ``set:<set_id>``)."""
    sid = set_source_id(set_id)
    langs = sorted({str(m.language) for m in members.values() if m.language})
    return Document(id=sid, type=DocumentType.code, content="", version=set_version(members), uri=sid,
                    language=langs[0] if len(langs) == 1 else None, set_id=set_id, title=set_id)


def _set_quality(members: dict[str, SetMember]) -> QualityScore:
    scores = [float(m.quality) for m in members.values() if m.quality is not None]
    score = round(sum(scores) / len(scores), 3) if scores else 3.0
    return QualityScore(score=score, label=label_for(score), model_version=SET_QUALITY_MODEL)
