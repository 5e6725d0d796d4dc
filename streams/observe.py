"""Metrics from what a worker published: Prometheus histograms and the live page read the metric events.

The :class:`~streams.publish.Publisher` hands every batch of records the broker acknowledged to
:class:`PublishedMetrics`, which reads back the ``pipeline.metrics`` events among them. So the
numbers on ``/metrics``, ``/stats``, the live page and the ``pipeline.metrics`` topic come from
one source, and a latency is observed only once the result it measures is durable.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from pydantic import ValidationError

from infra.kafka.topics import PIPELINE_METRICS
from processors.aggregate import INDEXER_OUTCOMES, SCORED_OUTCOMES
from processors.live import LiveStats
from schemas.messages import OutMessage
from schemas.metrics import DocumentMetric, PipelineMetric, QueryMetric, SetMetric, parse_metric
from streams import metrics

log = logging.getLogger(__name__)


class PublishedMetrics:
    """Observer of published records (``Publisher.observers``): metric events → Prometheus + :class:`LiveStats`."""

    def __init__(self, live: LiveStats, clock: Callable[[], float] = time.time) -> None:
        self.live = live
        self.clock = clock
        self.model_versions: dict[str, str] = {}

    def __call__(self, sent: Sequence[OutMessage]) -> None:
        now = self.clock()
        for msg in sent:
            if msg.role != PIPELINE_METRICS or msg.value is None:
                continue
            try:
                metric = parse_metric(msg.value)
            except ValidationError as exc:  # our own event: a bug, not a reason to stop
                log.error("a published metric event does not parse: %s", exc)
                continue
            self.observe(metric, now)

    def observe(self, metric: PipelineMetric, now: float) -> None:
        self.live.add(metric)
        if isinstance(metric, DocumentMetric):
            if metric.outcome in INDEXER_OUTCOMES and metric.input_timestamp is not None:
                metrics.PRODUCE_TO_ENRICHED.labels(outcome=metric.outcome).observe(
                    max(now - metric.input_timestamp, 0.0))
            if metric.quality is not None and metric.outcome in SCORED_OUTCOMES:
                metrics.QUALITY_SCORE.labels(doc_type=metric.doc_type or "unknown").observe(metric.quality)
            self.models_in_use(metric.model_versions)
        elif isinstance(metric, SetMetric) and metric.input_timestamp is not None:
            metrics.SET_LAG.observe(max(now - metric.input_timestamp, 0.0))
        elif isinstance(metric, QueryMetric):
            metrics.SEARCH_SECONDS.observe(metric.took_s)

    def models_in_use(self, versions: dict[str, str]) -> None:
        """``assay_model_info{kind, version}``: the versions the latest results were made with."""
        for kind, version in versions.items():
            if self.model_versions.get(kind) != version:
                self.model_versions[kind] = version
                metrics.MODEL_INFO.labels(kind=kind).info({"version": version})
