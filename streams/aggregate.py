"""The aggregator: ``pipeline.metrics`` → per-minute ``metrics.aggregated`` records, target ``alerts``, and capacity
forecasts on ``capacity.forecasts``.

It runs in ``all`` and ``compute`` workers as a task with a consumer of its own (group
``<prefix>assay-aggregate``): ``pipeline.metrics`` has one partition, so one worker aggregates and
the others stand by. It is not a Faust agent because it holds its position back: it commits only
:meth:`~processors.aggregate.MinuteWindows.safe_offset`, before every event of a window still open,
and Faust's consumer waits for held events on every rebalance and stop. After a restart or a
rebalance the new owner re-reads the open windows' events; the last record on ``metrics.aggregated``
tells it which windows are already out (events of those are counted late, not added twice).

The windowing, percentiles, targets and the capacity advisor are pure (:mod:`processors.aggregate`,
:mod:`processors.targets`, :mod:`processors.capacity`); :class:`Aggregation` only decodes, calls them
and builds the output records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from pydantic import ValidationError

from infra.kafka.admin import last_value
from infra.kafka.topics import ALERTS, CAPACITY_FORECASTS, METRICS_AGGREGATED
from infra.settings import ObservabilitySettings
from processors.aggregate import MinuteWindows
from processors.capacity import CapacityAdvisor, CapacityConfig
from processors.events import encode
from processors.targets import TargetTracker, targets_from
from schemas.aggregates import WindowAggregate
from schemas.alerts import Alert
from schemas.capacity import CapacityForecast
from schemas.messages import OutMessage
from schemas.metrics import parse_metric
from streams import metrics
from streams.health import AgentHealth
from streams.publish import Publisher

log = logging.getLogger(__name__)

AGENT_NAME = "aggregate_metrics"


def target_thresholds(obs: ObservabilitySettings) -> dict[str, float | None]:
    return {"extraction_rate": obs.target_extraction_rate, "embed_s_per_pattern": obs.target_embed_s_per_pattern,
            "query_p99_s": obs.target_query_p99_s, "quality_mean": obs.target_quality_mean,
            "availability": obs.target_availability, "latency_p99_s": obs.target_latency_p99_s}


def capacity_config(obs: ObservabilitySettings) -> CapacityConfig:
    return CapacityConfig(
        horizon=obs.capacity_horizon_windows, headroom=obs.capacity_headroom, min_workers=obs.capacity_min_workers,
        max_workers=obs.capacity_max_workers, min_replicas=obs.capacity_min_replicas,
        max_replicas=obs.capacity_max_replicas, worker_docs_per_s=obs.capacity_worker_docs_per_s,
        saturation_lag=obs.capacity_saturation_lag, target_lag=obs.capacity_target_lag_messages,
        critical_after=obs.critical_after_windows)


class Aggregation:
    """Windows and target states of one owner of ``pipeline.metrics``; no I/O."""

    def __init__(self, obs: ObservabilitySettings, worker: str, closed_until: float = 0.0) -> None:
        self.obs = obs
        self.worker = worker
        self.windows = MinuteWindows(obs.window_s, obs.grace_s, closed_until=closed_until,
                                     startup_grace_s=obs.startup_grace_s)
        self.tracker = TargetTracker(targets_from(target_thresholds(obs)), obs.critical_after_windows)
        for target in self.tracker.targets:
            metrics.TARGET_THRESHOLD.labels(target=target.name).set(target.threshold)
        self.advisor = CapacityAdvisor(capacity_config(obs)) if obs.capacity else None

    def feed(self, offset: int, raw: bytes | None) -> None:
        """One record of ``pipeline.metrics``; one that is not a metric event is skipped with a log line."""
        try:
            metric = parse_metric(raw or b"")
        except ValidationError as exc:
            log.warning("pipeline.metrics@%d is not a metric event; skipped: %s", offset, str(exc)[:200])
            self.windows.skip(offset)
            return
        if not self.windows.add(metric, offset):
            metrics.AGGREGATE_LATE.inc()

    def flush(self, now: float | None, emitted_at: float) -> list[OutMessage]:
        """The records of every window now complete: its aggregate, then the alerts of target changes."""
        out: list[OutMessage] = []
        for window in self.windows.close(now, emitted_at=emitted_at):
            out.append(OutMessage(METRICS_AGGREGATED, window.window.encode(), encode(window)))
            metrics.AGGREGATE_WINDOWS.inc()
            alerts = self.tracker.update(window, worker=self.worker)
            if self.advisor is not None:
                forecast, capacity_alerts = self.advisor.update(window, worker=self.worker)
                out.append(OutMessage(CAPACITY_FORECASTS, window.window.encode(), encode(forecast)))
                alerts += capacity_alerts
                self._export_capacity(forecast)
            out.extend(self._alert_messages(alerts))
            self._export(window)
        return out

    @staticmethod
    def _alert_messages(alerts: list[Alert]) -> list[OutMessage]:
        for alert in alerts:
            metrics.ALERTS.labels(kind=alert.kind, severity=alert.severity).inc()
        return [OutMessage(ALERTS, alert.kind.encode(), encode(alert)) for alert in alerts]

    @staticmethod
    def _export_capacity(forecast: CapacityForecast) -> None:
        metrics.CAPACITY_WORKERS.set(forecast.recommended_workers)
        metrics.CAPACITY_REPLICAS.set(forecast.recommended_inference_replicas)
        metrics.CAPACITY_INPUT_RATE.set(forecast.horizon_input_rate)
        metrics.CAPACITY_LAG.set(forecast.horizon_lag_messages)

    def _export(self, window: WindowAggregate) -> None:
        for target in self.tracker.targets:
            value = target.value(window)
            if value is not None:
                metrics.TARGET_VALUE.labels(target=target.name).set(value)
                metrics.TARGET_MET.labels(target=target.name).set(1 if target.met_by(value) else 0)


def closed_until_from(raw: bytes | None) -> float:
    """The end of the window a ``metrics.aggregated`` record describes (0 when there is none)."""
    if raw is None:
        return 0.0
    try:
        last = WindowAggregate.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        log.warning("the last metrics.aggregated record does not parse; aggregating from the committed offset")
        return 0.0
    return last.window_start + last.window_s


class MetricsAggregator:
    """The task: consume, feed, flush, publish, commit — one round at a time."""

    def __init__(self, conf: dict[str, Any], group: str, topic_names: dict[str, str], publisher: Publisher,
                 obs: ObservabilitySettings, worker: str, health: AgentHealth | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.conf = conf
        self.group = group
        self.source = topic_names["pipeline.metrics"]
        self.aggregated = topic_names[METRICS_AGGREGATED]
        self.publisher = publisher
        self.obs = obs
        self.worker = worker
        self.health = health
        self.clock = clock
        self.aggregation: Aggregation | None = None
        self._assignment_changed = False
        self._committed: int | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="assay-aggregate")  # one thread owns the consumer

    async def run(self) -> None:
        consumer = Consumer({**self.conf, "group.id": self.group, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest", "enable.partition.eof": True})
        consumer.subscribe([self.source], on_assign=self._on_assign, on_revoke=self._on_revoke)
        loop = asyncio.get_running_loop()
        try:
            while True:
                records = await loop.run_in_executor(self._pool, consumer.consume, 500, 0.5)
                await self.round(consumer, records)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the metrics aggregator crashed")
            if self.health is not None:
                self.health.crash(exc)
            raise
        finally:
            self._pool.submit(consumer.close)  # after any consume in flight: the group hands over at once
            self._pool.shutdown(wait=False)

    async def round(self, consumer: Any, records: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        if self._assignment_changed:
            self._assignment_changed = False
            self._committed = None
            raw = await loop.run_in_executor(self._pool, last_value, self.conf, self.aggregated, 0)
            self.aggregation = Aggregation(self.obs, self.worker, closed_until_from(raw))
        if self.aggregation is None:
            return
        if self.health is not None and records:
            self.health.batch_started(len(records))
        caught_up = not records
        for record in records:
            err = record.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    caught_up = True
                elif not err.retriable():
                    log.warning("pipeline.metrics: %s", err)
                continue
            self.aggregation.feed(record.offset(), record.value())
        now = self.clock()
        outputs = self.aggregation.flush(now if caught_up else None, emitted_at=now)
        if outputs:
            await self.publisher.publish(outputs)
        safe = self.aggregation.windows.safe_offset()
        if safe is not None and safe != self._committed:
            tp = TopicPartition(self.source, 0, safe)
            try:
                await loop.run_in_executor(self._pool, lambda: consumer.commit(offsets=[tp], asynchronous=False))
                self._committed = safe
            except KafkaException as exc:  # a rebalance or an outage: the next round commits again
                log.warning("metrics aggregator: commit of offset %d failed: %s", safe, exc)
        if self.health is not None and records:
            self.health.batch_done()

    # Called by the consumer inside consume(), on the pool's thread: only flags here.
    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        log.info("metrics aggregator: assigned %s", [f"{p.topic}[{p.partition}]" for p in partitions])
        self._assignment_changed = True

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assignment_changed = True
        self.aggregation = None
