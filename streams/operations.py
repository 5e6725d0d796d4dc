"""What a worker does for its operators besides processing: metrics, heartbeats, aggregates, the web pages.

:func:`register_operations` wires, for one worker:

* ``assay_build_info`` and ``assay_model_info`` on ``/metrics``;
* :class:`~streams.observe.PublishedMetrics` on the publisher: the metric events it publishes feed
  the Prometheus histograms and the live page's :class:`~processors.live.LiveStats`;
* a heartbeat timer: a ``worker`` metric event (ready or not, lag) every ``ASSAY_OBS_HEARTBEAT_INTERVAL_S``;
* the metrics aggregator (:mod:`streams.aggregate`) in ``all`` and ``compute`` workers;
* the HTTP API (:mod:`streams.web`) and the live page (:mod:`streams.live_page`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from prometheus_client import REGISTRY

from infra.build import register_build_info
from infra.kafka.topics import PIPELINE_METRICS, topic_specs
from processors.events import encode
from processors.live import LiveStats
from schemas.messages import OutMessage
from schemas.metrics import QueryMetric, WorkerMetric
from streams.aggregate import AGENT_NAME, MetricsAggregator
from streams.live_page import register_live_page
from streams.observe import PublishedMetrics
from streams.parts import WorkerParts
from streams.publish import Publisher
from streams.web import WebContext, register_web

log = logging.getLogger(__name__)


def register_operations(app: faust.App, parts: WorkerParts, ctx: WebContext) -> None:
    settings = parts.settings
    obs = settings.obs
    register_build_info(REGISTRY)
    ctx.live = LiveStats()
    observer = PublishedMetrics(ctx.live)
    quality = ctx.quality_version()
    observer.models_in_use({"embedding": parts.embedding_variant, **({"quality": quality} if quality else {})})
    parts.publisher.observers.append(observer)
    background = BackgroundSends(parts.publisher)
    ctx.on_query = lambda metric: background.send(query_message(metric))
    register_web(app, ctx)
    register_live_page(app, ctx)

    started_at = time.time()

    @app.timer(interval=obs.heartbeat_interval_s)
    async def heartbeat() -> None:
        verdict = parts.health.evaluate()
        beat = WorkerMetric(worker=parts.worker, role=settings.worker_role, ready=verdict.ready,
                            reasons=list(verdict.reasons), lag_messages=sum(parts.health.lag.values()),
                            interval_s=obs.heartbeat_interval_s, worker_started_at=started_at, emitted_at=time.time())
        await parts.publisher.publish([OutMessage(PIPELINE_METRICS, parts.worker.encode(), encode(beat))])

    if obs.aggregate and settings.worker_role in ("all", "compute"):
        specs = topic_specs(settings.kafka)
        kafka = settings.kafka
        aggregator = MetricsAggregator(
            kafka.librdkafka_config(), f"{kafka.topic_prefix}{kafka.consumer_group}-aggregate",
            {role: spec.name for role, spec in specs.items()}, parts.publisher, obs, parts.worker,
            health=parts.health.agent(AGENT_NAME, specs[PIPELINE_METRICS].name))

        @app.task
        async def aggregate_metrics() -> None:
            await aggregator.run()


def query_message(metric: QueryMetric) -> OutMessage:
    return OutMessage(PIPELINE_METRICS, None, encode(metric))


class BackgroundSends:
    """Publish without making the caller wait (a search answers before its metric event is acked)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self._tasks: set[asyncio.Task[object]] = set()

    def send(self, message: OutMessage) -> None:
        task = asyncio.ensure_future(self.publisher.publish([message]))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not publish a metric event: %s", task.exception())
