"""processors.indexing.plan_index and processors.events: what one points record changes, and what is announced."""

from __future__ import annotations

import numpy as np
import orjson

from processors.events import index_messages, set_updates
from processors.ids import point_id
from processors.indexing import IndexPlan, plan_index, point_payload
from schemas.documents import DocumentInfo
from schemas.patterns import PatternRecord, QualityScore, Span
from schemas.points import ComputedPoint, InputRef, SourcePoints, StoredPoint
from schemas.structure import SCHEMA_VERSION, StructureSummary

DOC = DocumentInfo(id="src/a.py", type="code", version="v2", uri="src/a.py", language="python", set_id="A")
Q = QualityScore(score=3.5, label="very_good", model_version="baseline-1.0.0")
VERSIONS = {"embedding": "m", "quality": "baseline-1.0.0"}


def pattern(key: str, text: str = "t") -> PatternRecord:
    return PatternRecord(key=key, kind="function", name=key, span=Span(start_line=1, end_line=1), text=text,
                         extractor="x/1")


def record(keys=("f", "g"), *, action="index", reason=None, offset=10, doc=DOC, summary=None) -> SourcePoints:
    points = [ComputedPoint.of(pattern(k), np.full(4, i + 1, dtype=np.float32)) for i, k in enumerate(keys)]
    return SourcePoints(source_id=doc.id, action=action, reason=reason, document=doc, quality=Q,
                        model_versions=VERSIONS, points=points if action == "index" else [], summary=summary,
                        input=InputRef(topic="sources.raw", partition=0, offset=offset), emitted_at=1.0)


def stored(sp: SourcePoints) -> list[StoredPoint]:
    """What the store holds after applying ``sp``."""
    return [StoredPoint(p.id, p.payload) for p in plan_index(sp, []).upserts]


def test_new_points_are_upserted():
    plan = plan_index(record(), [])
    assert plan.outcome == "indexed" and not plan.stale
    assert [p.id for p in plan.upserts] == [point_id(DOC.id, "f"), point_id(DOC.id, "g")]
    assert plan.upserts[0].vector == [1.0] * 4
    assert plan.upserts[0].payload["input"] == {"topic": "sources.raw", "partition": 0, "offset": 10}


def test_the_same_points_again_are_unchanged():
    sp = record()
    assert plan_index(record(offset=11), stored(sp)).outcome == "unchanged"
    changed_text = record(offset=11)
    changed_text.points[0].pattern.text = "other"
    assert plan_index(changed_text, stored(sp)).outcome == "indexed"  # e.g. a new extractor release


def test_points_no_longer_produced_are_stale():
    plan = plan_index(record(("f",), offset=11), stored(record()))
    assert plan.outcome == "indexed" and [p.id for p in plan.stale] == [point_id(DOC.id, "g")]
    assert plan.delete_reason == "content_changed"


def test_gate_and_tombstone_remove_everything():
    old = stored(record())
    gated = plan_index(record(action="remove", reason="below_quality_gate", offset=11), old)
    deleted = plan_index(record(action="remove", reason="source_deleted", offset=11), old)
    assert (gated.outcome, len(gated.stale), gated.delete_reason) == ("gated", 2, "below_quality_gate")
    assert (deleted.outcome, len(deleted.stale), deleted.previous_sets) == ("deleted", 2, ("A",))


def test_an_older_input_of_the_same_partition_changes_nothing():
    plan = plan_index(record(("f",), offset=3), stored(record(offset=10)))
    assert plan.outcome == "superseded" and not plan.upserts and not plan.stale


def test_index_messages_announce_upserts_deletes_and_the_metric():
    plan = plan_index(record(("f",), offset=11), stored(record()))
    out = index_messages(plan, worker="w", index_ms={"store": 1.0}, now=5.0)
    roles = [m.role for m in out]
    assert roles.count("patterns.enriched") == 2 and roles[-1] == "pipeline.metrics"
    metric = orjson.loads(out[-1].value)
    assert (metric["outcome"], metric["patterns"], metric["stale_removed"], metric["stage_ms"]["store"]) == (
        "indexed", 1, 1, 1.0)
    events = [orjson.loads(m.value) for m in out if m.role == "patterns.enriched"]
    assert [e["event"] for e in events] == ["upsert", "delete"]


def _plan(outcome: str, *, set_id: str | None, old_sets: list[str], summary: StructureSummary | None) -> IndexPlan:
    doc = DOC.model_copy(update={"set_id": set_id})
    sp = record(doc=doc, summary=summary, action="remove" if outcome in ("gated", "deleted") else "index")
    return IndexPlan(sp, outcome, previous_sets=tuple(sorted(set(old_sets))))  # type: ignore[arg-type]


def test_the_indexer_tells_the_set_agent_about_joins_moves_and_leaves():
    summary = StructureSummary(schema_version=SCHEMA_VERSION, language="python")
    joined = set_updates(_plan("indexed", set_id="B", old_sets=[], summary=summary), 1.0)
    assert [(s, u.summary is not None) for s, u in joined] == [("B", True)]
    assert joined[0][1].source_version == "v2"

    moved = set_updates(_plan("indexed", set_id="B", old_sets=["A", "A"], summary=summary), 1.0)
    assert [(s, u.reason) for s, u in moved] == [("B", None), ("A", "moved_set")]

    for outcome, reason in (("gated", "below_quality_gate"), ("deleted", "source_deleted")):
        left = set_updates(_plan(outcome, set_id="A", old_sets=["A"], summary=None), 1.0)
        assert [(s, u.summary, u.reason) for s, u in left] == [("A", None, reason)]

    unparsable = set_updates(_plan("indexed", set_id="A", old_sets=["A"], summary=None), 1.0)
    assert [(s, u.reason) for s, u in unparsable] == [("A", "no_structure")]
    assert set_updates(_plan("indexed", set_id=None, old_sets=[], summary=None), 1.0) == []
    plan = _plan("superseded", set_id="A", old_sets=[], summary=summary)
    assert not [m for m in index_messages(plan, worker="w", index_ms={}) if m.role == "sets.members"]


def test_payload_names_its_input():
    payload = point_payload(DOC, pattern("f"), Q, VERSIONS, InputRef(topic="t", partition=2, offset=9))
    assert payload["input"] == {"topic": "t", "partition": 2, "offset": 9}
    assert payload["source_version"] == "v2" and payload["set_id"] == "A"
