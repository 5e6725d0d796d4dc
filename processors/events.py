"""The one place where outcomes become messages: points' payloads, enriched events, metrics, dead letters.

* :func:`compute_messages`: the document stage's final outcomes → ``points.pending`` records
  (what indexing must apply), dead letters and metrics of what never reaches indexing;
* :func:`index_messages`: an executed :class:`~processors.indexing.IndexPlan` → ``patterns.enriched``
  upsert/delete events, ``sets.members`` updates and the source's metric.

Every message is an :class:`~schemas.messages.OutMessage` that names the input that caused it.
"""

from __future__ import annotations

import hashlib
import time
from typing import Sequence

import orjson
from pydantic import BaseModel

from processors.dead_letters import dead_letter_message
from processors.ids import point_id
from processors.indexing import IndexPlan
from processors.outcomes import Deleted, Embedded, Final, Gated, Rejected, Superseded
from schemas.documents import DocumentInfo
from schemas.messages import InputMessage, OutMessage
from schemas.metrics import BatchMetric, DocumentMetric, ExperimentScores, SetMetric
from schemas.patterns import EnrichedPattern, PatternRecord, QualityScore
from schemas.points import ComputedPoint, InputRef, SourcePoints, StoredPoint
from schemas.sets import SetMemberUpdate

#: Longest text used as a Kafka key as it is; longer ones are replaced by their hash.
MAX_KEY_BYTES = 1024


def message_key(text: str | None) -> bytes | None:
    """A Kafka key for a source or set id, bounded (long ids become ``sha256:<hex>``).

    >>> message_key("doc-1"), message_key("x" * 2000)[:7]
    (b'doc-1', b'sha256:')
    """
    if text is None:
        return None
    raw = text.encode("utf-8", "surrogatepass")
    return raw if len(raw) <= MAX_KEY_BYTES else b"sha256:" + hashlib.sha256(raw).hexdigest().encode()


def encode(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))


def seconds(stage_ms: dict[str, float]) -> dict[str, float]:
    """Stage times as metric events carry them: seconds (the stages measure milliseconds).

    >>> seconds({"embed": 12.5})
    {'embed': 0.0125}
    """
    return {stage: round(ms / 1000, 6) for stage, ms in stage_ms.items()}


def input_ref(msg: InputMessage) -> InputRef:
    return InputRef(topic=msg.topic, partition=msg.partition, offset=msg.offset, timestamp_ms=msg.timestamp_ms,
                    bytes=len(msg.value or b""))


# -- enriched events ------------------------------------------------------------------

def upsert_event(doc: DocumentInfo, pattern: PatternRecord, quality: QualityScore, model_versions: dict[str, str],
                 now: float) -> EnrichedPattern:
    return EnrichedPattern(
        event="upsert", source_id=doc.id, source_version=doc.version, uri=doc.uri, set_id=doc.set_id,
        doc_type=doc.type.value, pattern_id=pattern.key, point_id=point_id(doc.id, pattern.key), kind=pattern.kind,
        name=pattern.name, span=pattern.span, text=pattern.text, language=pattern.language or doc.language,
        tags=pattern.tags, quality=quality, model_versions=model_versions, extractor=pattern.extractor, emitted_at=now,
    )


def delete_event(source_id: str, point: StoredPoint, reason: str, new_version: str | None, now: float) -> EnrichedPattern:
    """A removed pattern: the ids a subscriber needs to drop it, and why."""
    payload = point.payload
    return EnrichedPattern(
        event="delete", source_id=source_id, source_version=new_version or payload.get("source_version") or "",
        uri=payload.get("uri"), set_id=payload.get("set_id"), doc_type=payload.get("doc_type"),
        pattern_id=payload.get("pattern_id") or "", point_id=point.id, kind=payload.get("kind"),
        name=payload.get("name"), reason=reason, emitted_at=now,
    )


# -- the document stage ------------------------------------------------------------------------------

def _points_record(final: Deleted | Gated | Embedded, model_versions: dict[str, str], worker: str,
                   now: float) -> SourcePoints:
    if isinstance(final, Deleted):
        return SourcePoints(source_id=final.source_id, action="remove", reason="source_deleted",
                            input=input_ref(final.msg), computed_by=worker, emitted_at=now)
    if isinstance(final, Gated):
        return SourcePoints(source_id=final.doc.id, action="remove", reason="below_quality_gate",
                            document=final.doc.info(), quality=final.quality, model_versions=model_versions,
                            input=input_ref(final.msg), stage_ms=final.stage_ms, experiment=final.experiment,
                            computed_by=worker, emitted_at=now)
    x = final.source
    return SourcePoints(
        source_id=x.doc.id, action="index", document=x.doc.info(), quality=x.quality, model_versions=model_versions,
        points=[ComputedPoint.of(p, v) for p, v in zip(x.patterns, final.vectors)], summary=x.summary,
        input=input_ref(x.msg), stage_ms=final.stage_ms, vectors_reused=final.reused, experiment=x.experiment,
        computed_by=worker, emitted_at=now)


def compute_messages(finals: Sequence[Final], *, embedding_variant: str, worker: str, max_dlq_bytes: int,
                     batch_ms: dict[str, float], texts_embedded: int, now: float | None = None) -> list[OutMessage]:
    """Messages of one document-stage batch: points to index, dead letters, metrics."""
    now = time.time() if now is None else now
    out: list[OutMessage] = []
    counts = {"rejected": 0, "gated": 0, "deleted": 0, "patterns": 0}
    for final in finals:
        if isinstance(final, Rejected):
            counts["rejected"] += 1
            out.append(dead_letter_message(final.rejection, final.msg, worker=worker, max_bytes=max_dlq_bytes))
            rej = final.rejection
            out.append(_document_metric(final.msg, final.source_id, "rejected", f"{rej.error_class}: {rej.reason}",
                                        worker, now, stage_ms=final.stage_ms, error_class=rej.error_class))
        elif isinstance(final, Superseded):
            out.append(_document_metric(final.msg, final.source_id, "superseded",
                                        "a later message of the same source in this batch replaced it", worker, now,
                                        doc=final.doc.info() if final.doc else None))
        else:
            quality = None if isinstance(final, Deleted) else (
                final.quality if isinstance(final, Gated) else final.source.quality)
            versions = {"embedding": embedding_variant}
            if quality is not None:
                versions["quality"] = quality.model_version
            record = _points_record(final, versions, worker, now)
            counts["gated"] += isinstance(final, Gated)
            counts["deleted"] += isinstance(final, Deleted)
            counts["patterns"] += len(record.points)
            out.append(OutMessage("points.pending", message_key(record.source_id), encode(record), cause=_msg(final)))
    out.append(OutMessage("pipeline.metrics", None, encode(BatchMetric(
        documents=len(finals), rejected=counts["rejected"], gated=counts["gated"], deleted=counts["deleted"],
        patterns=counts["patterns"], texts_embedded=texts_embedded, stage_s=seconds(batch_ms),
        model_versions={"embedding": embedding_variant}, worker=worker, emitted_at=now))))
    return out


def _msg(final: Final) -> InputMessage:
    return final.source.msg if isinstance(final, Embedded) else final.msg


def _document_metric(msg: InputMessage | InputRef, source_id: str | None, outcome: str, reason: str | None,
                     worker: str, now: float, *, doc: DocumentInfo | None = None, quality: QualityScore | None = None,
                     versions: dict[str, str] | None = None, patterns: int = 0, stale: int = 0,
                     stage_ms: dict[str, float] | None = None, cause: InputMessage | None = None,
                     experiment: ExperimentScores | None = None, error_class: str | None = None) -> OutMessage:
    ref = input_ref(msg) if isinstance(msg, InputMessage) else msg
    metric = DocumentMetric(
        source_id=source_id, source_version=doc.version if doc else None, doc_type=doc.type.value if doc else None,
        outcome=outcome, reason=reason, error_class=error_class, patterns=patterns, stale_removed=stale, bytes=ref.bytes,
        quality=quality.score if quality else None, quality_label=quality.label if quality else None,
        model_versions=versions or {}, stage_s=seconds(stage_ms or {}), topic=ref.topic, partition=ref.partition,
        offset=ref.offset, input_timestamp=_unix_s(ref.timestamp_ms),
        experiment=experiment,
        worker=worker, emitted_at=now)
    return OutMessage("pipeline.metrics", message_key(source_id), encode(metric),
                      cause=cause or (msg if isinstance(msg, InputMessage) else None))


def _unix_s(timestamp_ms: int | None) -> float | None:
    return timestamp_ms / 1000 if timestamp_ms is not None else None


# -- indexing ---------------------------------------------------------------------------------------

_OUTCOME_REASON = {
    "gated": lambda sp: f"quality {sp.quality.score:.2f} below threshold" if sp.quality else "below quality gate",
    "deleted": lambda sp: "tombstone" if sp.reason == "source_deleted" else sp.reason,
    "unchanged": lambda sp: "same content and models as indexed",
    "superseded": lambda sp: "a later message of this source is already indexed",
    "indexed": lambda sp: None,
}


def index_messages(plan: IndexPlan, *, worker: str, index_ms: dict[str, float], now: float | None = None,
                   cause: InputMessage | None = None) -> list[OutMessage]:
    """Events and metrics of one applied plan (``cause``: the ``points.pending`` record it came from)."""
    now = time.time() if now is None else now
    sp = plan.source
    out: list[OutMessage] = []
    doc, quality = sp.document, sp.quality
    if plan.outcome in ("indexed", "unchanged") and doc is not None and quality is not None:
        for cp in sp.points:
            ev = upsert_event(doc, cp.pattern, quality, sp.model_versions, now)
            out.append(OutMessage("patterns.enriched", ev.point_id.encode(), encode(ev), cause=cause))
    new_version = doc.version if doc is not None else None
    for point in plan.stale:
        ev = delete_event(sp.source_id, point, plan.delete_reason or "content_changed", new_version, now)
        out.append(OutMessage("patterns.enriched", point.id.encode(), encode(ev), cause=cause))
    stage_ms = {**sp.stage_ms, **index_ms}
    if sp.origin == "set":
        assert doc is not None and doc.set_id is not None
        metric = SetMetric(set_id=doc.set_id, set_version=doc.version, members=sp.set_members or 0,
                           detections=sp.set_detections or 0, patterns=len(sp.points),
                           upserted=len(plan.upserts), deleted=len(plan.stale), unchanged=plan.outcome == "unchanged",
                           model_versions=sp.model_versions, stage_s=seconds(stage_ms),
                           input_timestamp=_unix_s(sp.input.timestamp_ms), worker=worker, emitted_at=now)
        out.append(OutMessage("pipeline.metrics", message_key(doc.set_id), encode(metric), cause=cause))
        return out
    if plan.outcome != "superseded":
        out.extend(OutMessage("sets.members", message_key(set_id), encode(update), cause=cause)
                   for set_id, update in set_updates(plan, now))
    out.append(_document_metric(
        sp.input, sp.source_id, plan.outcome, _OUTCOME_REASON[plan.outcome](sp), worker, now, doc=doc,
        quality=quality, versions=sp.model_versions,
        patterns=len(sp.points) if plan.outcome in ("indexed", "unchanged") else 0,
        stale=len(plan.stale), stage_ms=stage_ms, cause=cause, experiment=sp.experiment))
    return out


def set_updates(plan: IndexPlan, now: float) -> list[tuple[str, SetMemberUpdate]]:
    """Membership changes for the set agent: joined/changed (with summary) or left (without).

    Sent for unchanged replays too: a crash after the store write but before publishing must
    not leave the set without its member. The set agent treats repeats as no-ops.
    """
    sp = plan.source
    doc = sp.document
    indexed = plan.outcome in ("indexed", "unchanged")
    new_set = doc.set_id if indexed and doc is not None and sp.summary is not None else None
    out: list[tuple[str, SetMemberUpdate]] = []
    if new_set is not None and doc is not None:
        out.append((new_set, SetMemberUpdate(
            set_id=new_set, source_id=sp.source_id, source_version=doc.version, uri=doc.uri,
            language=doc.language or (sp.summary.language if sp.summary else None),
            quality=sp.quality.score if sp.quality else None, summary=sp.summary, emitted_at=now)))
    for set_id in plan.previous_sets:
        if set_id == new_set:
            continue
        if plan.outcome == "gated":
            reason = "below_quality_gate"
        elif plan.outcome == "deleted":
            reason = "source_deleted"
        else:
            reason = "moved_set" if doc is not None and doc.set_id != set_id else "no_structure"
        out.append((set_id, SetMemberUpdate(set_id=set_id, source_id=sp.source_id, reason=reason, emitted_at=now)))
    return out
