"""Published metric events → Prometheus and the live page; the aggregator's records and alerts."""

from __future__ import annotations

import asyncio

import orjson
from prometheus_client import REGISTRY

from infra.settings import ObservabilitySettings
from processors.events import encode
from processors.live import LiveStats
from schemas.messages import OutMessage
from schemas.metrics import DocumentMetric, QueryMetric, WorkerMetric
from streams.aggregate import Aggregation, closed_until_from
from streams.observe import PublishedMetrics
from streams.publish import Publisher


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None):
        self.sent.append((topic, key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def doc(outcome: str, at: float, **fields) -> DocumentMetric:
    return DocumentMetric(source_id="s", outcome=outcome, topic="sources.raw", partition=0, offset=0, worker="w",
                          emitted_at=at, **fields)


def metric_message(event) -> OutMessage:
    return OutMessage("pipeline.metrics", None, encode(event))


def test_the_publisher_hands_acknowledged_records_to_its_observers():
    seen: list[list[OutMessage]] = []
    publisher = Publisher(FakeProducer(), {"pipeline.metrics": "t.pipeline.metrics"}, {}, "w",
                          observers=[seen.append, lambda _sent: 1 / 0])  # a failing observer changes nothing
    msg = metric_message(QueryMetric(took_s=0.1, hits=0, k=1, worker="w", emitted_at=1.0))
    report = asyncio.run(publisher.publish([msg]))
    assert report.sent == 1 and seen == [[msg]]


def test_published_metric_events_feed_prometheus_and_the_live_stats():
    live = LiveStats(clock=lambda: 1000.0)
    observer = PublishedMetrics(live, clock=lambda: 1000.0)
    before = {"latency": sample("assay_produce_to_enriched_seconds_count", outcome="indexed"),
              "quality": sample("assay_quality_score_count", doc_type="documentation"),
              "search": sample("assay_search_seconds_count")}
    observer([
        metric_message(doc("indexed", 999.0, input_timestamp=990.0, quality=3.7, doc_type="documentation",
                           patterns=2, model_versions={"embedding": "e@1", "quality": "q-9.9.9"})),
        metric_message(doc("rejected", 999.0, input_timestamp=995.0, error_class="invalid_json")),
        metric_message(QueryMetric(took_s=0.04, hits=1, k=3, worker="w", emitted_at=999.0)),
        OutMessage("patterns.enriched", b"p", b"{}"),  # not a metric event: ignored
    ])
    assert sample("assay_produce_to_enriched_seconds_count", outcome="indexed") == before["latency"] + 1
    assert sample("assay_produce_to_enriched_seconds_bucket", outcome="indexed", le="10.0") >= 1
    assert sample("assay_quality_score_count", doc_type="documentation") == before["quality"] + 1
    assert sample("assay_search_seconds_count") == before["search"] + 1
    assert sample("assay_model_info", kind="quality", version="q-9.9.9") == 1
    s = live.snapshot()
    assert (s["documents"], s["rejected"], s["patterns_indexed"]) == (2, 1, 2)


def test_the_aggregation_emits_a_record_per_window_and_alerts_on_targets():
    obs = ObservabilitySettings(window_s=60, grace_s=0, target_quality_mean=3.0, target_availability=None,
                                critical_after_windows=2)
    agg = Aggregation(obs, worker="w")
    agg.feed(0, encode(doc("indexed", 61.0, quality=2.0, patterns=3)))
    agg.feed(1, b"not json")  # skipped, its offset counted
    agg.feed(2, encode(WorkerMetric(worker="w", role="all", ready=True, interval_s=10, worker_started_at=0,
                                    emitted_at=62.0)))
    assert agg.flush(None, emitted_at=100.0) == []  # the watermark (62) has not passed 120
    out = agg.flush(now=121.0, emitted_at=121.0)
    assert [(o.role, o.key) for o in out] == [("metrics.aggregated", b"1970-01-01T00:01:00Z"),
                                              ("capacity.forecasts", b"1970-01-01T00:01:00Z"),
                                              ("alerts", b"target:quality_mean")]
    record = orjson.loads(out[0].value)
    assert (record["documents"], record["patterns"], record["quality"]["mean"], record["availability"]) == (
        1, 3, 2.0, 1.0)
    assert orjson.loads(out[2].value)["severity"] == "warning"
    assert sample("assay_target_met", target="quality_mean") == 0
    assert sample("assay_target_threshold", target="quality_mean") == 3.0
    assert agg.windows.safe_offset() == 3
    assert closed_until_from(out[0].value) == 120.0 and closed_until_from(None) == 0.0


def test_the_aggregation_publishes_a_capacity_forecast_per_window_and_its_alert():
    obs = ObservabilitySettings(window_s=60, grace_s=0, target_availability=None, target_quality_mean=None,
                                target_extraction_rate=None, capacity_worker_docs_per_s=1.0,
                                capacity_target_lag_messages=100, capacity_horizon_windows=3, capacity_max_workers=4)
    agg = Aggregation(obs, worker="w")
    offset = 0
    records = []
    for minute, (lag, docs) in enumerate([(0, 30), (60, 60), (180, 60)], start=1):  # input 1 → 2 → 3 docs/s
        for i in range(docs):
            agg.feed(offset, encode(doc("indexed", minute * 60 + i * 0.5)))
            offset += 1
        agg.feed(offset, encode(WorkerMetric(worker="w", role="all", ready=True, lag_messages=lag, interval_s=10,
                                             worker_started_at=0, emitted_at=minute * 60 + 50)))
        offset += 1
        records += agg.flush(now=(minute + 1) * 60.0 + 1, emitted_at=(minute + 1) * 60.0 + 1)
    forecasts = [orjson.loads(o.value) for o in records if o.role == "capacity.forecasts"]
    assert [f["window"] for f in forecasts] == [f"1970-01-01T00:0{m}:00Z" for m in (1, 2, 3)]
    assert [f["input_rate"] for f in forecasts] == [0.5, 2.0, 3.0]
    last = forecasts[-1]
    assert last["recommended_workers"] == 4 and last["lag_breach"]  # capped; 1 worker at 1 doc/s falls behind
    [alert] = [orjson.loads(o.value) for o in records if o.role == "alerts"]
    assert (alert["kind"], alert["severity"]) == ("capacity_lag", "warning")
    assert sample("assay_capacity_recommended_workers") == 4
    assert sample("assay_capacity_forecast_input_rate") == last["horizon_input_rate"] > 2.0
    assert sample("assay_capacity_forecast_lag_messages") == last["horizon_lag_messages"] > 100
    assert sample("assay_alerts_total", kind="capacity_lag", severity="warning") >= 1


def test_the_capacity_advisor_can_be_turned_off():
    agg = Aggregation(ObservabilitySettings(window_s=60, grace_s=0, capacity=False), worker="w")
    agg.feed(0, encode(doc("indexed", 61.0)))
    assert [o.role for o in agg.flush(now=121.0, emitted_at=121.0)] == ["metrics.aggregated"]
