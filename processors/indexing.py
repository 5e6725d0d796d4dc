"""How one source's computed points change the store: a pure plan, decided from what it holds now.

:func:`plan_index` takes a :class:`~schemas.points.SourcePoints` record and the points the store
holds for that source, and returns an :class:`IndexPlan`: which points to write, which are stale,
and the outcome. The indexer executes the plan (upserts first, then deletes: a search never sees
a gap) and :mod:`processors.events` announces it.

Rules:

* **unchanged**: the store already holds exactly these points (ids, texts, tags, source version,
  models): nothing is written, the events are sent again (a replay must still announce them);
* **indexed**: every point is upserted (deterministic ids: a replay overwrites) and points of the
  source that are no longer produced are stale (``content_changed``);
* **gated** / **deleted**: every point of the source is stale (``below_quality_gate`` /
  ``source_deleted`` / ``set_emptied``);
* **superseded**: the store holds points written from a *later* message of the same input
  partition (a slow, replaced worker finishing late): nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from processors.ids import point_id
from schemas.documents import DocumentInfo
from schemas.patterns import PatternRecord, QualityScore
from schemas.points import ComputedPoint, InputRef, PointRecord, SourcePoints, StoredPoint

IndexOutcome = Literal["indexed", "unchanged", "gated", "deleted", "superseded"]

_REMOVE_OUTCOME: dict[str | None, IndexOutcome] = {"below_quality_gate": "gated", "source_deleted": "deleted",
                                                    "set_emptied": "deleted"}


@dataclass(frozen=True)
class IndexPlan:
    source: SourcePoints
    outcome: IndexOutcome
    upserts: tuple[PointRecord, ...] = ()
    stale: tuple[StoredPoint, ...] = ()
    delete_reason: str | None = None  # why the stale points go (for their delete events)
    previous_sets: tuple[str, ...] = ()  # the sets the source's stored points belonged to


def plan_index(sp: SourcePoints, existing: Sequence[StoredPoint]) -> IndexPlan:
    """Decide what ``sp`` changes, given the ``existing`` points of its source."""
    previous_sets = tuple(sorted({str(p.payload["set_id"]) for p in existing if p.payload.get("set_id")}))
    if _is_late(sp, existing):
        return IndexPlan(sp, "superseded", previous_sets=previous_sets)
    if sp.action == "remove":
        return IndexPlan(sp, _REMOVE_OUTCOME.get(sp.reason, "deleted"), stale=tuple(existing),
                         delete_reason=sp.reason or "source_deleted", previous_sets=previous_sets)
    doc = sp.document
    if doc is None or sp.quality is None:
        raise ValueError(f"points of {sp.source_id} to index carry no document or quality")
    wanted = {point_id(doc.id, cp.pattern.key): cp for cp in sp.points}
    if _same(sp, wanted, existing):
        return IndexPlan(sp, "unchanged", previous_sets=previous_sets)
    upserts = tuple(
        PointRecord(pid, cp.vector().tolist(), point_payload(doc, cp.pattern, sp.quality, sp.model_versions, sp.input))
        for pid, cp in wanted.items())
    stale = tuple(p for p in existing if p.id not in wanted)
    return IndexPlan(sp, "indexed", upserts, stale, "content_changed", previous_sets)


def _same(sp: SourcePoints, wanted: dict[str, ComputedPoint], existing: Sequence[StoredPoint]) -> bool:
    if not wanted or set(wanted) != {p.id for p in existing}:
        return False
    assert sp.document is not None
    for p in existing:
        pattern = wanted[p.id].pattern
        payload = p.payload
        if (payload.get("source_version") != sp.document.version
                or payload.get("model_versions") != sp.model_versions
                or payload.get("text") != pattern.text
                or payload.get("tags") != [t.model_dump() for t in pattern.tags]):
            return False
    return True


def _is_late(sp: SourcePoints, existing: Sequence[StoredPoint]) -> bool:
    """True when a stored point was written from a later message of the same input partition."""
    for p in existing:
        src = p.payload.get("input")
        if (isinstance(src, dict) and src.get("topic") == sp.input.topic
                and src.get("partition") == sp.input.partition and isinstance(src.get("offset"), int)
                and src["offset"] > sp.input.offset):
            return True
    return False


def point_payload(doc: DocumentInfo, pattern: PatternRecord, quality: QualityScore, model_versions: dict[str, str],
                  source: InputRef | None = None) -> dict[str, Any]:
    """What a Qdrant point carries: enough to answer a search without another lookup."""
    return {
        "source_id": doc.id,
        "source_version": doc.version,
        "uri": doc.uri,
        "set_id": doc.set_id,
        "doc_type": doc.type.value,
        "pattern_id": pattern.key,
        "kind": pattern.kind,
        "name": pattern.name,
        "span": pattern.span.model_dump(),
        "text": pattern.text,
        "language": pattern.language or doc.language,
        "tags": [t.model_dump() for t in pattern.tags],
        "quality": quality.score,
        "quality_label": quality.label,
        "model_versions": model_versions,
        "extractor": pattern.extractor,
        # Which input wrote it: a late write from an older message of the same partition is refused.
        "input": None if source is None else {"topic": source.topic, "partition": source.partition,
                                              "offset": source.offset},
    }
