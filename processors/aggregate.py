"""Tumbling windows over metric events: counts, percentiles, quality, availability — pure.

:class:`MinuteWindows` takes decoded ``pipeline.metrics`` events in offset order and gives back the
windows that are complete as :class:`~schemas.aggregates.WindowAggregate` values. A window is
complete when the *watermark* (the newest ``emitted_at`` seen) has passed its end by a grace
period, or, when the caller is caught up with the topic, when the wall clock has. An event for a
window already emitted is late: it is counted (``late_events`` of the next window), never added.

The caller commits :meth:`MinuteWindows.safe_offset`: every event of an open window is after it, so
a restarted aggregator re-reads them; ``closed_until`` (the end of the last window it emitted) tells it
which re-read events belong to windows already out.

>>> w = MinuteWindows(window_s=60, grace_s=5)
>>> w.add(QueryMetric(took_s=0.2, hits=3, k=5, worker="w", emitted_at=120.5), offset=7)
True
>>> [a.window for a in w.close(now=186.0)], w.safe_offset()
(['1970-01-01T00:02:00Z'], 8)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from schemas.aggregates import QualitySummary, Summary, WindowAggregate
from schemas.metrics import BatchMetric, DocumentMetric, PipelineMetric, QueryMetric, SetMetric, WorkerMetric

#: Outcomes the indexer publishes: their metric marks the end of the document's trip.
INDEXER_OUTCOMES = frozenset({"indexed", "unchanged", "gated", "deleted"})
#: Outcomes whose quality score counts in distributions (a replay, ``unchanged``, is not scored again).
SCORED_OUTCOMES = frozenset({"indexed", "gated"})
QUALITY_BUCKETS = ("1-2", "2-3", "3-4", "4-5")
#: Worker roles that take input documents from ``sources.raw`` (the ones the capacity advisor sizes).
INPUT_ROLES = frozenset({"all", "compute"})


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99), percentile([], 0.5)
    (2.0, 4.0, None)
    """
    if not sorted_values:
        return None
    rank = max(math.ceil(q * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def summarize(values: Sequence[float]) -> Summary:
    """Count, mean, p50, p99 and max of some durations.

    >>> summarize([0.5, 0.1, 0.3]).p50
    0.3
    """
    if not values:
        return Summary()
    ordered = sorted(values)
    return Summary(count=len(ordered), mean=round(sum(ordered) / len(ordered), 6), p50=percentile(ordered, 0.5),
                   p99=percentile(ordered, 0.99), max=ordered[-1])


def quality_bucket(score: float) -> str:
    """The distribution bucket of a 1–5 quality score.

    >>> quality_bucket(1.0), quality_bucket(2.99), quality_bucket(5.0)
    ('1-2', '2-3', '4-5')
    """
    return QUALITY_BUCKETS[min(max(int(score) - 1, 0), len(QUALITY_BUCKETS) - 1)]


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_class_of(metric: DocumentMetric) -> str:
    """The error class of a rejected document (older events carried it only as ``reason``'s prefix)."""
    if metric.error_class:
        return metric.error_class
    return (metric.reason or "unknown").split(":", 1)[0] or "unknown"


class Reservoir:
    """At most ``size`` samples of a stream, uniformly (a busy minute must not grow without bound)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self._rng = random.Random(seed)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            j = self._rng.randrange(self.seen)
            if j < self.size:
                self.values[j] = value


@dataclass
class WindowAccumulator:
    """Running totals of one window."""

    start: float
    max_samples: int = 20_000
    startup_grace_s: float = 60.0
    outcomes: Counter[str] = field(default_factory=Counter)
    doc_types: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    quality_buckets: Counter[str] = field(default_factory=Counter)
    patterns: int = 0
    quality_sum: float = 0.0
    quality_n: int = 0
    batches: int = 0
    batch_s: float = 0.0
    batch_patterns: int = 0
    embed_s: float = 0.0
    texts_embedded: int = 0
    sets: int = 0
    heartbeats: int = 0
    ready_heartbeats: int = 0
    workers: set[str] = field(default_factory=set)
    lag_max: int | None = None
    input_lags: dict[str, tuple[float, int]] = field(default_factory=dict)  # input worker → its latest heartbeat
    events: int = 0
    first_offset: int | None = None

    def __post_init__(self) -> None:
        self.latencies = Reservoir(self.max_samples)
        self.queries = Reservoir(self.max_samples)
        self.set_lags = Reservoir(self.max_samples)

    def add(self, metric: PipelineMetric, offset: int | None = None) -> None:
        self.events += 1
        if offset is not None and (self.first_offset is None or offset < self.first_offset):
            self.first_offset = offset
        if isinstance(metric, DocumentMetric):
            self._document(metric)
        elif isinstance(metric, BatchMetric):
            self.batches += 1
            self.batch_s += metric.stage_s.get("total", 0.0)
            self.batch_patterns += metric.patterns
            if metric.texts_embedded:
                self.embed_s += metric.stage_s.get("embed", 0.0)
                self.texts_embedded += metric.texts_embedded
        elif isinstance(metric, SetMetric):
            self.sets += 1
            if metric.input_timestamp is not None:
                self.set_lags.add(max(metric.emitted_at - metric.input_timestamp, 0.0))
        elif isinstance(metric, QueryMetric):
            self.queries.add(metric.took_s)
        elif isinstance(metric, WorkerMetric):
            self._heartbeat(metric)

    def _document(self, m: DocumentMetric) -> None:
        self.outcomes[m.outcome] += 1
        self.doc_types[m.doc_type or "unknown"] += 1
        if m.outcome == "indexed":
            self.patterns += m.patterns
        if m.outcome == "rejected":
            self.errors[error_class_of(m)] += 1
        if m.quality is not None and m.outcome in SCORED_OUTCOMES:
            self.quality_sum += m.quality
            self.quality_n += 1
            self.quality_buckets[quality_bucket(m.quality)] += 1
        if m.outcome in INDEXER_OUTCOMES and m.input_timestamp is not None:
            self.latencies.add(max(m.emitted_at - m.input_timestamp, 0.0))

    def _heartbeat(self, m: WorkerMetric) -> None:
        self.workers.add(m.worker)
        self.lag_max = max(self.lag_max or 0, m.lag_messages)
        if m.role in INPUT_ROLES and m.emitted_at >= self.input_lags.get(m.worker, (-math.inf, 0))[0]:
            self.input_lags[m.worker] = (m.emitted_at, m.lag_messages)
        if m.emitted_at - m.worker_started_at < self.startup_grace_s and not m.ready:
            return  # starting up is not an outage
        self.heartbeats += 1
        self.ready_heartbeats += m.ready

    def result(self, window_s: float, late_events: int, emitted_at: float) -> WindowAggregate:
        return WindowAggregate(
            window=iso_utc(self.start), window_start=self.start, window_s=window_s,
            documents=sum(self.outcomes.values()), outcomes=dict(self.outcomes), doc_types=dict(self.doc_types),
            patterns=self.patterns, errors=dict(self.errors), latency_s=summarize(self.latencies.values),
            quality=QualitySummary(count=self.quality_n,
                                   mean=round(self.quality_sum / self.quality_n, 4) if self.quality_n else None,
                                   distribution={b: self.quality_buckets.get(b, 0) for b in QUALITY_BUCKETS}),
            batches=self.batches,
            extraction_rate=round(self.batch_patterns / self.batch_s, 3) if self.batch_s > 0 else None,
            embed_s_per_pattern=round(self.embed_s / self.texts_embedded, 6) if self.texts_embedded else None,
            queries=summarize(self.queries.values), sets=self.sets, set_lag_s=summarize(self.set_lags.values),
            workers=len(self.workers),
            availability=round(self.ready_heartbeats / self.heartbeats, 4) if self.heartbeats else None,
            lag_max_messages=self.lag_max, busy_s=round(self.batch_s, 6), embed_s=round(self.embed_s, 6),
            input_workers=len(self.input_lags),
            input_lag_messages=sum(lag for _, lag in self.input_lags.values()) if self.input_lags else None,
            events=self.events, late_events=late_events, emitted_at=emitted_at)


class MinuteWindows:
    """Tumbling event-time windows (by ``emitted_at``) of ``window_s`` seconds."""

    def __init__(self, window_s: float = 60.0, grace_s: float = 10.0, closed_until: float = 0.0,
                 max_samples: int = 20_000, startup_grace_s: float = 60.0) -> None:
        self.window_s = window_s
        self.grace_s = grace_s
        self.closed_until = closed_until  # windows ending at or before this were emitted
        self.max_samples = max_samples
        self.startup_grace_s = startup_grace_s
        self.watermark = 0.0
        self.late = 0
        self.open: dict[float, WindowAccumulator] = {}
        self._next_offset: int | None = None

    def window_of(self, ts: float) -> float:
        return math.floor(ts / self.window_s) * self.window_s

    def add(self, metric: PipelineMetric, offset: int | None = None) -> bool:
        """Add one event; False when its window was already emitted (counted as late)."""
        if offset is not None:
            self._next_offset = max(self._next_offset or 0, offset + 1)
        start = self.window_of(metric.emitted_at)
        if start + self.window_s <= self.closed_until:
            self.late += 1
            return False
        self.watermark = max(self.watermark, metric.emitted_at)
        acc = self.open.get(start)
        if acc is None:
            acc = self.open[start] = WindowAccumulator(start, self.max_samples, self.startup_grace_s)
        acc.add(metric, offset)
        return True

    def skip(self, offset: int) -> None:
        """An event that is not a metric (unreadable): only its offset counts."""
        self._next_offset = max(self._next_offset or 0, offset + 1)

    def close(self, now: float | None = None, emitted_at: float | None = None) -> list[WindowAggregate]:
        """The windows complete by the watermark, or by ``now`` (pass it only when caught up), oldest first."""
        horizon = max(self.watermark, now or 0.0) - self.grace_s
        out: list[WindowAggregate] = []
        for start in sorted(self.open):
            end = start + self.window_s
            if end > horizon:
                break
            acc = self.open.pop(start)
            out.append(acc.result(self.window_s, self.late, emitted_at if emitted_at is not None else horizon))
            self.late = 0
            self.closed_until = max(self.closed_until, end)
        return out

    def safe_offset(self) -> int | None:
        """The offset to commit: before every event of an open window (None: nothing read yet)."""
        firsts = [a.first_offset for a in self.open.values() if a.first_offset is not None]
        if firsts:
            return min(firsts)
        return self._next_offset
