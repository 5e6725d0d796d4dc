"""Every topic's JSON Schema is exported, and real messages validate against it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from processors.dead_letters import dead_letter
from processors.events import delete_event, upsert_event
from schemas.messages import InputMessage
from schemas.points import StoredPoint
from processors.results import Rejection
from schemas.documents import Document, DocumentType
from schemas.export import export_schemas, topic_schemas
from schemas.metrics import BatchMetric, DocumentMetric
from schemas.patterns import PatternRecord, QualityScore, Span


@pytest.fixture(scope="module")
def schemas() -> dict:
    return topic_schemas()


def test_export_writes_one_schema_per_topic(tmp_path):
    paths = export_schemas(tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        f"{t}.schema.json" for t in ("sources.raw", "patterns.enriched", "pipeline.metrics", "sources.dlq", "models",
                                      "sets.members", "points.pending", "alerts", "quality.feedback", "experiments",
                                      "metrics.aggregated", "capacity.forecasts"))
    for p in paths:
        jsonschema.Draft202012Validator.check_schema(json.loads(p.read_text()))


def test_input_document_schema(schemas):
    validator = jsonschema.Draft202012Validator(schemas["sources.raw"])
    assert validator.is_valid({"id": "a", "type": "code", "content": "x = 1", "metadata": {"engagement": 3}})
    assert validator.is_valid({"content": "only content is required"})
    assert not validator.is_valid({"id": "a"})
    assert not validator.is_valid({"content": 42})
    assert not validator.is_valid({"content": "x", "unknown_field": 1})


def test_enriched_and_delete_events_match_their_schema(schemas):
    doc = Document(id="s1", type=DocumentType.code, content="def f(): pass", version="abc")
    pattern = PatternRecord(key="function:f", kind="function", name="f", span=Span(start_line=1, end_line=1),
                            text="function f", extractor="python_code/1")
    quality = QualityScore(score=3.5, label="very_good", model_version="baseline-1.0.0")
    validator = jsonschema.Draft202012Validator(schemas["patterns.enriched"])
    up = upsert_event(doc, pattern, quality, {"embedding": "m"}, 1.0).model_dump(mode="json")
    validator.validate(up)
    down = delete_event("s1", StoredPoint(up["point_id"], {"pattern_id": "function:f"}), "source_deleted", None,
                        1.0).model_dump(mode="json")
    validator.validate(down)
    assert down["event"] == "delete" and down["reason"] == "source_deleted"


def test_metric_and_dead_letter_events_match_their_schema(schemas):
    metric = jsonschema.Draft202012Validator(schemas["pipeline.metrics"])
    metric.validate(DocumentMetric(source_id="s", outcome="indexed", topic="t", partition=0, offset=1,
                                   worker="w", emitted_at=1.0).model_dump(mode="json"))
    metric.validate(BatchMetric(documents=1, rejected=0, gated=0, deleted=0, patterns=2, texts_embedded=2,
                                worker="w", emitted_at=1.0).model_dump(mode="json"))
    msg = InputMessage(key=None, value=b"{", headers=[("h", b"v")], topic="sources.raw", partition=0, offset=3,
                       timestamp_ms=5)
    dl = dead_letter(Rejection("decode", "invalid_json", "unexpected end of input"), msg, worker="w")
    jsonschema.Draft202012Validator(schemas["sources.dlq"]).validate(dl.model_dump(mode="json"))


def test_new_metric_events_and_aggregates_match_their_schemas(schemas):
    from processors.aggregate import MinuteWindows
    from schemas.metrics import QueryMetric, WorkerMetric

    metric = jsonschema.Draft202012Validator(schemas["pipeline.metrics"])
    query = QueryMetric(took_s=0.02, hits=3, k=5, worker="w", emitted_at=61.0)
    beat = WorkerMetric(worker="w", role="all", ready=True, interval_s=10, worker_started_at=0.0, emitted_at=62.0)
    for event in (query, beat):
        metric.validate(event.model_dump(mode="json"))
    windows = MinuteWindows(grace_s=0)
    windows.add(query, 0)
    windows.add(beat, 1)
    [aggregate] = windows.close(now=200.0)
    jsonschema.Draft202012Validator(schemas["metrics.aggregated"]).validate(aggregate.model_dump(mode="json"))


def test_stage_times_are_seconds_and_the_deprecated_milliseconds_stay_consistent(schemas):
    new = BatchMetric(documents=1, rejected=0, gated=0, deleted=0, patterns=2, texts_embedded=2,
                      stage_s={"embed": 0.25}, worker="w", emitted_at=1.0)
    old = BatchMetric(documents=1, rejected=0, gated=0, deleted=0, patterns=2, texts_embedded=2,
                      stage_ms={"embed": 250.0}, worker="w", emitted_at=1.0)
    assert new.stage_ms == old.stage_ms == {"embed": 250.0}
    assert new.stage_s == old.stage_s == {"embed": 0.25}
    described = schemas["pipeline.metrics"]["oneOf"][1]["properties"]
    assert described["stage_ms"]["deprecated"] is True and "(s)" in described["stage_s"]["description"]
