"""What the worker's live page shows, kept from the metric events this worker published — pure.

Totals since the worker started, rates over the last minute, the latest latencies and
rejections. :meth:`LiveStats.snapshot` is served as JSON on ``/stats`` and pushed to the page
(``/events``), so the page and the API always show the same numbers.

>>> live = LiveStats(clock=lambda: 100.0)
>>> live.add(DocumentMetric(source_id="a", outcome="indexed", patterns=3, quality=3.2, topic="t", partition=0,
...                         offset=0, input_timestamp=99.0, worker="w", emitted_at=99.5))
>>> s = live.snapshot()
>>> s["documents"], s["patterns_indexed"], s["quality_scores"]["distribution"]["3-4"], s["latency_s"]["p50"]
(1, 3, 1, 0.5)
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any, Callable

from processors.aggregate import (INDEXER_OUTCOMES, QUALITY_BUCKETS, SCORED_OUTCOMES, error_class_of, quality_bucket,
                                  summarize)
from schemas.metrics import DocumentMetric, PipelineMetric, QueryMetric

RATE_WINDOW_S = 60.0


class LiveStats:
    """Running totals and recent samples of one worker's published metric events."""

    def __init__(self, recent_latencies: int = 1000, recent_rejections: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.started_at = clock()
        self.outcomes: Counter[str] = Counter()
        self.quality: Counter[str] = Counter()
        self.quality_sum = 0.0
        self.patterns = 0
        self.latencies: deque[float] = deque(maxlen=recent_latencies)
        self.queries: deque[float] = deque(maxlen=recent_latencies)
        self.rejections: deque[dict[str, Any]] = deque(maxlen=recent_rejections)
        self._recent: deque[tuple[float, int, int]] = deque()  # (time, documents, patterns)

    def add(self, metric: PipelineMetric) -> None:
        if isinstance(metric, QueryMetric):
            self.queries.append(metric.took_s)
        if not isinstance(metric, DocumentMetric):
            return
        now = self.clock()
        self.outcomes[metric.outcome] += 1
        patterns = metric.patterns if metric.outcome == "indexed" else 0
        self.patterns += patterns
        self._recent.append((now, 1, patterns))
        if metric.quality is not None and metric.outcome in SCORED_OUTCOMES:
            self.quality[quality_bucket(metric.quality)] += 1
            self.quality_sum += metric.quality
        if metric.outcome in INDEXER_OUTCOMES and metric.input_timestamp is not None:
            self.latencies.append(max(metric.emitted_at - metric.input_timestamp, 0.0))
        if metric.outcome == "rejected":
            self.rejections.appendleft({"source_id": metric.source_id, "error_class": error_class_of(metric),
                                        "reason": metric.reason, "at": metric.emitted_at,
                                        "where": f"{metric.topic}[{metric.partition}]@{metric.offset}"})

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-ready numbers (times in seconds)."""
        now = self.clock()
        while self._recent and self._recent[0][0] < now - RATE_WINDOW_S:
            self._recent.popleft()
        span = min(RATE_WINDOW_S, max(now - self.started_at, 1.0))
        scored = sum(self.quality.values())
        return {
            "uptime_s": round(now - self.started_at, 1),
            "documents": sum(self.outcomes.values()),
            "outcomes": dict(self.outcomes),
            "rejected": self.outcomes.get("rejected", 0),
            "patterns_indexed": self.patterns,
            "throughput": {"documents_per_s": round(sum(d for _, d, _ in self._recent) / span, 3),
                           "patterns_per_s": round(sum(p for _, _, p in self._recent) / span, 3),
                           "window_s": round(span, 1)},
            "latency_s": summarize(list(self.latencies)).model_dump(),
            "query_s": summarize(list(self.queries)).model_dump(),
            "quality_scores": {"count": scored, "mean": round(self.quality_sum / scored, 3) if scored else None,
                        "distribution": {b: self.quality.get(b, 0) for b in QUALITY_BUCKETS}},
            "recent_rejections": list(self.rejections),
        }
