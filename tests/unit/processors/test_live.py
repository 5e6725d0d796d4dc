"""The live page's numbers: totals, rates over the last minute, recent rejections."""

from __future__ import annotations

from processors.live import LiveStats
from schemas.metrics import BatchMetric, DocumentMetric


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def doc(outcome: str, **fields) -> DocumentMetric:
    return DocumentMetric(source_id=fields.pop("source_id", "s"), outcome=outcome, topic="sources.raw", partition=1,
                          offset=fields.pop("offset", 0), worker="w", emitted_at=fields.pop("at", 100.0), **fields)


def test_totals_rates_and_rejections():
    clock = Clock(1000.0)
    live = LiveStats(recent_rejections=2, clock=clock)
    clock.now = 1100.0
    live.add(doc("indexed", patterns=5, quality=4.2))
    live.add(BatchMetric(documents=1, rejected=0, gated=0, deleted=0, patterns=5, texts_embedded=5, worker="w",
                         emitted_at=1.0))  # not a document: no change
    for i in range(3):
        live.add(doc("rejected", source_id=f"bad{i}", offset=i, error_class="invalid_json", reason="invalid_json: x"))
    s = live.snapshot()
    assert (s["documents"], s["rejected"], s["patterns_indexed"]) == (4, 3, 5)
    assert s["throughput"] == {"documents_per_s": round(4 / 60, 3), "patterns_per_s": round(5 / 60, 3),
                               "window_s": 60.0}
    assert [r["source_id"] for r in s["recent_rejections"]] == ["bad2", "bad1"]  # newest first, bounded
    assert s["recent_rejections"][0]["where"] == "sources.raw[1]@2"
    clock.now = 1200.0
    assert live.snapshot()["throughput"]["documents_per_s"] == 0  # a minute later
    assert live.snapshot()["documents"] == 4


def test_latency_is_measured_at_the_indexer_only():
    live = LiveStats(clock=lambda: 0.0)
    live.add(doc("rejected", input_timestamp=90.0, at=100.0))
    live.add(doc("indexed", input_timestamp=97.0, at=100.0))
    assert live.snapshot()["latency_s"]["count"] == 1 and live.snapshot()["latency_s"]["p50"] == 3.0
