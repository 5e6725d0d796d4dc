"""Windowing, percentiles and the numbers of one window, on hand-made metric events."""

from __future__ import annotations

import pytest

from processors.aggregate import MinuteWindows, WindowAccumulator, percentile, quality_bucket
from schemas.metrics import BatchMetric, DocumentMetric, QueryMetric, SetMetric, WorkerMetric


def doc(outcome: str, at: float, *, produced: float | None = None, quality: float | None = None, patterns: int = 0,
        doc_type: str = "code", error_class: str | None = None, reason: str | None = None) -> DocumentMetric:
    return DocumentMetric(source_id="s", outcome=outcome, doc_type=doc_type, quality=quality, patterns=patterns,
                          error_class=error_class, reason=reason, topic="sources.raw", partition=0, offset=0,
                          input_timestamp=produced, worker="w", emitted_at=at)


def beat(at: float, ready: bool, started: float = 0.0, worker: str = "w", lag: int = 0,
         role: str = "all") -> WorkerMetric:
    return WorkerMetric(worker=worker, role=role, ready=ready, lag_messages=lag, interval_s=10,
                        worker_started_at=started, emitted_at=at)


@pytest.mark.parametrize("values, q, expected", [
    ([5.0], 0.99, 5.0), ([1.0, 2.0], 0.5, 1.0), (list(map(float, range(1, 101))), 0.99, 99.0),
    (list(map(float, range(1, 101))), 0.5, 50.0), ([], 0.5, None),
])
def test_percentile_is_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def test_quality_buckets_cover_one_to_five():
    assert [quality_bucket(s) for s in (1.0, 1.99, 2.0, 3.5, 4.99, 5.0)] == ["1-2", "1-2", "2-3", "3-4", "4-5", "4-5"]


def test_one_window_counts_outcomes_errors_latency_quality_and_rates():
    acc = WindowAccumulator(start=60.0)
    acc.add(doc("indexed", 70.0, produced=69.0, quality=3.5, patterns=4))
    acc.add(doc("indexed", 71.0, produced=67.0, quality=4.5, patterns=6, doc_type="documentation"))
    acc.add(doc("unchanged", 72.0, produced=71.5, quality=4.5, patterns=6))  # a replay: not scored again
    acc.add(doc("gated", 73.0, produced=72.0, quality=1.5))
    acc.add(doc("rejected", 74.0, error_class="invalid_json", reason="invalid_json: unexpected end"))
    acc.add(doc("rejected", 74.5, reason="empty_content: nothing to index"))  # an event from before error_class
    acc.add(BatchMetric(documents=4, rejected=1, gated=1, deleted=0, patterns=10, texts_embedded=10,
                        stage_s={"total": 0.5, "embed": 0.2}, worker="w", emitted_at=75.0))
    acc.add(QueryMetric(took_s=0.03, hits=2, k=5, worker="w", emitted_at=76.0))
    acc.add(SetMetric(set_id="x", set_version="v", members=2, detections=1, patterns=2, upserted=2, deleted=0,
                      unchanged=False, input_timestamp=70.0, worker="w", emitted_at=77.5))
    w = acc.result(window_s=60.0, late_events=2, emitted_at=200.0)
    assert (w.window, w.documents, w.patterns, w.events, w.late_events) == ("1970-01-01T00:01:00Z", 6, 10, 9, 2)
    assert w.outcomes == {"indexed": 2, "unchanged": 1, "gated": 1, "rejected": 2}
    assert w.doc_types == {"code": 5, "documentation": 1}
    assert w.errors == {"invalid_json": 1, "empty_content": 1}
    assert (w.latency_s.count, w.latency_s.p50, w.latency_s.max) == (4, 1.0, 4.0)
    assert (w.quality.count, w.quality.mean) == (3, round((3.5 + 4.5 + 1.5) / 3, 4))
    assert w.quality.distribution == {"1-2": 1, "2-3": 0, "3-4": 1, "4-5": 1}
    assert (w.extraction_rate, w.embed_s_per_pattern) == (20.0, 0.02)
    assert (w.queries.count, w.queries.p99, w.sets, w.set_lag_s.p50) == (1, 0.03, 1, 7.5)


def test_availability_is_the_ready_share_of_heartbeats_after_start_up():
    acc = WindowAccumulator(start=60.0, startup_grace_s=30.0)
    acc.add(beat(65.0, ready=False, started=50.0))  # starting: not counted
    acc.add(beat(85.0, ready=True, started=50.0, lag=7))
    acc.add(beat(95.0, ready=False, started=50.0))  # after the grace: counts
    acc.add(beat(96.0, ready=True, started=0.0, worker="v"))
    w = acc.result(60.0, 0, 120.0)
    assert (w.workers, w.availability, w.lag_max_messages) == (2, round(2 / 3, 4), 7)


def test_input_lag_is_each_input_workers_latest_heartbeat_summed_and_busy_time_is_kept():
    acc = WindowAccumulator(start=60.0)
    acc.add(beat(70.0, ready=True, worker="a", lag=500))
    acc.add(beat(90.0, ready=True, worker="a", lag=300))
    acc.add(beat(80.0, ready=True, worker="a", lag=900))  # older than the one already seen
    acc.add(beat(75.0, ready=True, worker="b", lag=40, role="compute"))
    acc.add(beat(95.0, ready=True, worker="i", lag=7000, role="index"))  # points.pending: not the input's lag
    acc.add(BatchMetric(documents=4, rejected=0, gated=0, deleted=0, patterns=8, texts_embedded=8,
                        stage_s={"total": 0.5, "embed": 0.2}, worker="a", emitted_at=91.0))
    acc.add(BatchMetric(documents=2, rejected=0, gated=0, deleted=0, patterns=0, texts_embedded=0,
                        stage_s={"total": 0.25}, worker="b", emitted_at=92.0))
    w = acc.result(60.0, 0, 120.0)
    assert (w.input_workers, w.input_lag_messages, w.workers, w.lag_max_messages) == (2, 340, 3, 7000)
    assert (w.busy_s, w.embed_s) == (0.75, 0.2)
    assert WindowAccumulator(start=0.0).result(60.0, 0, 60.0).input_lag_messages is None  # no heartbeat: unknown


def test_a_window_closes_by_the_watermark_and_late_events_are_counted_not_added():
    windows = MinuteWindows(window_s=60, grace_s=5)
    windows.add(doc("indexed", 61.0), offset=0)
    windows.add(doc("indexed", 119.0), offset=1)
    assert windows.close() == [] and windows.safe_offset() == 0
    windows.add(doc("indexed", 125.0), offset=2)  # watermark 125 ≥ 120 + 5
    [first] = windows.close()
    assert (first.window_start, first.documents) == (60.0, 2)
    assert windows.safe_offset() == 2 and windows.closed_until == 120.0
    assert windows.add(doc("indexed", 100.0), offset=3) is False  # its window is out
    windows.add(doc("indexed", 130.0), offset=4)
    assert windows.close(now=200.0)[0].late_events == 1
    assert windows.safe_offset() == 5  # nothing open: after the last event


def test_the_wall_clock_closes_windows_only_when_the_caller_passes_it():
    windows = MinuteWindows(window_s=60, grace_s=10)
    windows.add(doc("indexed", 61.0), offset=0)
    assert windows.close() == []
    assert windows.close(now=125.0) == []
    assert [w.window_start for w in windows.close(now=131.0)] == [60.0]


def test_a_restart_skips_windows_already_emitted():
    windows = MinuteWindows(window_s=60, grace_s=0, closed_until=120.0)
    assert windows.add(doc("indexed", 110.0), offset=10) is False
    assert windows.add(doc("indexed", 121.0), offset=11) is True
    [w] = windows.close(now=181.0)
    assert (w.window_start, w.documents, w.late_events) == (120.0, 1, 1)


def test_out_of_order_events_land_in_their_own_windows():
    windows = MinuteWindows(window_s=60, grace_s=30)
    for offset, at in enumerate((61.0, 125.0, 119.0, 130.0)):
        windows.add(doc("indexed", at), offset=offset)
    assert windows.safe_offset() == 0
    assert windows.close() == []  # watermark 130 − grace 30 is before the first window's end (120)
    first, second = windows.close(now=211.0)
    assert (first.documents, second.documents) == (2, 2)


def test_samples_are_bounded():
    acc = WindowAccumulator(start=0.0, max_samples=100)
    for i in range(1000):
        acc.add(doc("indexed", 1.0, produced=1.0 - i / 1000))
    w = acc.result(60.0, 0, 60.0)
    assert w.latency_s.count == 100 and w.documents == 1000
