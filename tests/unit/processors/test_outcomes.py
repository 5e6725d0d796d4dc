"""processors.outcomes and compute_messages: the document stage's decisions as typed values."""

from __future__ import annotations

import numpy as np
import orjson

from processors.events import compute_messages
from processors.outcomes import (Candidate, Deleted, Gated, Rejected, Scored, Superseded, decide_input, embedded,
                                 extract, gate, reusable_vectors, supersede)
from processors.indexing import plan_index
from processors.patterns import Extraction
from schemas.messages import InputMessage
from schemas.patterns import PatternRecord, QualityScore, Span
from schemas.points import SourcePoints, StoredPoint

Q = QualityScore(score=3.0, label="good", model_version="baseline-1.0.0")


def m(offset: int, key: bytes | None, value: bytes | None) -> InputMessage:
    return InputMessage(key=key, value=value, headers=[], topic="sources.raw", partition=0, offset=offset)


def test_decide_input_covers_tombstones_bad_input_and_documents():
    assert isinstance(decide_input(m(0, b"s", None), max_bytes=100), Deleted)
    no_key = decide_input(m(0, None, None), max_bytes=100)
    assert isinstance(no_key, Rejected) and no_key.rejection.error_class == "tombstone_without_key"
    bad = decide_input(m(0, b"s", b"{"), max_bytes=100)
    assert isinstance(bad, Rejected) and bad.rejection.error_class == "invalid_json" and bad.source_id == "s"
    ok = decide_input(m(0, b"s", b'{"content": "hello world"}'), max_bytes=100)
    assert isinstance(ok, Candidate) and ok.doc.id == "s" and "validate" in ok.stage_ms


def test_only_the_last_message_of_a_source_counts():
    out = supersede([decide_input(m(0, b"a", b'{"content": "x"}'), max_bytes=99),
                     decide_input(m(1, b"b", b'{"content": "y"}'), max_bytes=99),
                     decide_input(m(2, b"a", None), max_bytes=99)])
    assert [type(d).__name__ for d in out] == ["Superseded", "Candidate", "Deleted"]
    assert isinstance(out[0], Superseded) and out[0].source_id == "a"


def _extracted():
    c = decide_input(m(0, b"s", b'{"content": "def f():\\n    return 1\\n", "uri": "f.py"}'), max_bytes=999)
    assert isinstance(c, Candidate)
    low = QualityScore(score=1.5, label="poor", model_version="x")
    assert isinstance(gate(c, low, 2.0), Gated)
    scored = gate(c, Q, 2.0, quality_ms=1.5)
    assert isinstance(scored, Scored) and scored.stage_ms["quality"] == 1.5

    def broken(_doc):
        raise ValueError("parser bug")

    failed = extract(scored, broken)
    assert isinstance(failed, Rejected) and failed.rejection.stage == "extract"
    assert "ValueError: parser bug" in failed.rejection.reason
    x = extract(scored, lambda doc: Extraction((PatternRecord(key="k", kind="function", name="f", text="f",
                                                              span=Span(start_line=1, end_line=1), extractor="t/1"),),
                                               None, ()))
    assert not isinstance(x, Rejected) and [p.key for p in x.patterns] == ["k"]
    return x


def test_gate_and_extraction():
    _extracted()


def test_vectors_are_reused_only_for_the_same_points_and_models():
    x = _extracted()
    versions = {"embedding": "m", "quality": Q.model_version}
    vec = np.ones((1, 4), dtype=np.float32)
    msgs = compute_messages([embedded(x, vec, reused=False)], embedding_variant="m", worker="w",
                            max_dlq_bytes=100_000, batch_ms={}, texts_embedded=1)
    sp = SourcePoints.model_validate(orjson.loads(msgs[0].value))
    held = [StoredPoint(p.id, p.payload, list(p.vector)) for p in plan_index(sp, []).upserts]
    assert np.array_equal(reusable_vectors(x.doc, x.patterns, held, versions), vec)
    assert reusable_vectors(x.doc, x.patterns, held, {**versions, "embedding": "other"}) is None
    assert reusable_vectors(x.doc, x.patterns, [StoredPoint(held[0].id, held[0].payload)], versions) is None


def test_compute_messages_route_each_outcome():
    rejected = decide_input(m(0, b"r", b"nope"), max_bytes=99)
    deleted = decide_input(m(1, b"d", None), max_bytes=99)
    out = compute_messages([rejected, deleted], embedding_variant="m", worker="w", max_dlq_bytes=100_000,
                           batch_ms={"total": 1.0}, texts_embedded=0)
    assert [o.role for o in out] == ["sources.dlq", "pipeline.metrics", "points.pending", "pipeline.metrics"]
    assert out[0].cause is rejected.msg and out[2].cause is deleted.msg
    remove = SourcePoints.model_validate(orjson.loads(out[2].value))
    assert (remove.action, remove.reason, remove.source_id) == ("remove", "source_deleted", "d")
    batch = orjson.loads(out[-1].value)
    assert (batch["type"], batch["documents"], batch["rejected"], batch["deleted"]) == ("batch", 2, 1, 1)
