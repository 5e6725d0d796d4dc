"""Send a batch's outputs and return only when every one is durable, whatever the broker says.

No output can stop an agent: one that can never be written (over the message limit, refused by
the broker) becomes a dead letter of the input that caused it; what fails for a while (broker
down, leader election) is sent again with backoff until it passes, and the wait is reported to
the worker's health so the watchdog sees it. Only a wrong configuration (authorization, missing
topic) raises, as :class:`FatalPublishError`, and stops the worker with that message.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

from infra.errors import AssayError
from infra.kafka.producer import AsyncProducer, PublishError
from processors.dead_letters import dead_letter_message
from processors.results import Rejection
from schemas.messages import OutMessage
from streams import metrics
from streams.health import report_waiting

log = logging.getLogger(__name__)


class FatalPublishError(AssayError):
    """The broker refuses every write of this worker (authorization, unknown topic): fix the configuration."""


@dataclass
class PublishReport:
    sent: int = 0
    dead_lettered: int = 0  # outputs replaced by a dead letter of their cause
    dropped: int = 0  # outputs without a cause that could not be written (batch-level metrics)
    retries: int = 0


@dataclass
class Publisher:
    """Publishes :class:`OutMessage` values by topic role, fitting each into its topic's limit."""

    producer: AsyncProducer
    topic_names: dict[str, str]  # role → topic name
    max_bytes: dict[str, int]  # role → largest key + value accepted
    worker: str
    max_backoff_s: float = 10.0
    default_max_bytes: int = 1_000_000
    #: Called with the records of each ``publish`` once the broker acknowledged them (metrics, live page).
    observers: list[Callable[[Sequence[OutMessage]], None]] = field(default_factory=list)
    _headroom: int = field(default=256, repr=False)

    def limit(self, role: str) -> int:
        return self.max_bytes.get(role, self.default_max_bytes) - self._headroom

    async def publish(self, outputs: Sequence[OutMessage]) -> PublishReport:
        """Send ``outputs``; returns when the broker acknowledged each one (or its replacement)."""
        report = PublishReport()
        dead: set[tuple[str, int, int]] = set()
        pending = [m for m in (self._fit(o, report, dead) for o in outputs) if m is not None]
        delay = 0.2
        sent: list[OutMessage] = []
        while pending:
            futures = [self._send(m) for m in pending]
            results = await asyncio.gather(*futures, return_exceptions=True)
            again: list[OutMessage] = []
            transient = 0
            for msg, result in zip(pending, results):
                if result is None:
                    report.sent += 1
                    sent.append(msg)
                    continue
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if not isinstance(result, PublishError):
                    raise result  # a bug in this module: the agent's batch guard handles it
                if result.kind == "fatal":
                    raise FatalPublishError(f"cannot publish to Kafka: {result}; check the topic exists and this "
                                            "worker's credentials may write it")
                if result.kind == "transient":
                    again.append(msg)
                    transient += 1
                    continue
                replacement = self._replace(msg, str(result), "output_rejected", report, dead)
                if replacement is not None:
                    again.append(replacement)
            if transient:
                report.retries += 1
                metrics.PUBLISH_RETRIES.inc()
                report_waiting(f"publishing {transient} records: {results_reason(results)}")
                log.warning("publishing %d records failed for now (%s); retrying in %.1fs", transient,
                            results_reason(results), delay)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, self.max_backoff_s)
            pending = again
        if report.retries:
            report_waiting(None)
        self._notify(sent)
        return report

    def _notify(self, sent: list[OutMessage]) -> None:
        for observe in self.observers:
            try:
                observe(sent)
            except Exception:  # noqa: BLE001 - observing must never stop publishing
                log.exception("an observer of published records failed")

    def _send(self, msg: OutMessage) -> asyncio.Future[None]:
        return self.producer.send(self.topic_names[msg.role], msg.key, msg.value, partition=msg.partition)

    def _fit(self, msg: OutMessage, report: PublishReport, dead: set[tuple[str, int, int]]) -> OutMessage | None:
        limit = self.limit(msg.role)
        if msg.size <= limit:
            return msg
        why = f"its {msg.role} record is {msg.size} bytes, over the {limit}-byte message limit"
        return self._replace(msg, why, "output_too_large", report, dead)

    def _replace(self, msg: OutMessage, why: str, error_class: str, report: PublishReport,
                 dead: set[tuple[str, int, int]]) -> OutMessage | None:
        """The dead letter of ``msg``'s cause, once per cause; None when there is nothing to send instead."""
        metrics.OUTPUTS_REFUSED.labels(role=msg.role, error_class=error_class).inc()
        cause = msg.cause
        if cause is None or msg.role == "sources.dlq":
            report.dropped += 1
            log.error("dropped a %s record that cannot be written (%s)", msg.role, why)
            return None
        ident = (cause.topic, cause.partition, cause.offset)
        if ident in dead:
            return None
        dead.add(ident)
        report.dead_lettered += 1
        log.error("input %s: %s; sending it to the DLQ", cause.where(), why)
        metrics.DEAD_LETTERS.labels(stage="publish", error_class=error_class).inc()
        return dead_letter_message(Rejection("publish", error_class, why), cause, worker=self.worker,
                                   max_bytes=self.limit("sources.dlq"))


def results_reason(results: Sequence[object]) -> str:
    errors = [r for r in results if isinstance(r, PublishError)]
    return str(errors[0]) if errors else "unknown"
