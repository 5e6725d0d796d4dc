"""The watchdog: a timer on every worker that measures lag, decides readiness, and fails fast.

Every ``interval_s`` it reads the consumer's assignment and each assigned partition's lag (the
partition's end offset minus the offset committed or acked), exports both as metrics, and asks
:meth:`~streams.health.WorkerHealth.evaluate` for a verdict. On a stall, a crashed agent or a
fatal configuration error it logs why, counts it, emits an alert on the ``alerts`` topic, and
exits non-zero (configurable for stalls: ``ASSAY_WATCHDOG_EXIT=false`` only reports).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

import faust

from schemas.alerts import Alert
from streams import metrics
from streams.health import EXIT_FATAL, TP, WorkerHealth

log = logging.getLogger(__name__)


def consumer_lag(app: faust.App, health: WorkerHealth) -> dict[TP, int]:
    """Lag per assigned partition from the consumer's view: end offset − max(committed, acked)."""
    consumer = app.consumer
    try:
        assigned = consumer.assignment()
    except Exception:  # noqa: BLE001 - not started yet
        return {}
    # Faust keeps the committed offsets it read or wrote; there is no public accessor for them.
    committed: dict[Any, int | None] = getattr(consumer, "_committed_offset", {})
    lag: dict[TP, int] = {}
    for tp in assigned:
        try:
            high = consumer.highwater(tp)
        except Exception:  # noqa: BLE001
            high = None
        if high is None:
            continue
        position = max(committed.get(tp) or 0, health.positions.get((tp.topic, tp.partition), 0))
        lag[(tp.topic, tp.partition)] = max(int(high) - position, 0)
    return lag


class Watchdog:
    """Holds what one check needs; :meth:`check` is the timer's body."""

    def __init__(self, app: faust.App, health: WorkerHealth, *, worker: str, exit_on_stall: bool,
                 send_alert: Callable[[Alert], Awaitable[None]] | None, exit_now: Callable[[int], None]) -> None:
        self.app = app
        self.health = health
        self.worker = worker
        self.exit_on_stall = exit_on_stall
        self.send_alert = send_alert
        self.exit_now = exit_now
        self.reported: str | None = None
        self._exported: set[TP] = set()

    async def check(self) -> None:
        health = self.health
        lag = consumer_lag(self.app, health)
        assigned = set(lag) | {tp for tp in _assignment(self.app)}
        if assigned != health.assigned:
            health.on_assigned(assigned)
        health.lag = lag
        for tp, n in lag.items():
            metrics.CONSUMER_LAG.labels(topic=tp[0], partition=str(tp[1])).set(n)
        for tp in self._exported - set(lag):
            metrics.CONSUMER_LAG.remove(tp[0], str(tp[1]))
        self._exported = set(lag)
        verdict = health.evaluate()
        metrics.READY.set(1 if verdict.ready else 0)
        if verdict.stalled is None or verdict.stalled == self.reported:
            return
        self.reported = verdict.stalled
        fatal = verdict.exit_code == EXIT_FATAL
        kind = "fatal_config" if fatal else ("agent_crash" if "crashed" in verdict.stalled else "stall")
        metrics.WATCHDOG_STALLS.labels(kind=kind).inc()
        will_exit = fatal or self.exit_on_stall
        log.critical("watchdog: %s%s", verdict.stalled,
                     f"; exiting with code {verdict.exit_code} so a supervisor restarts the worker" if will_exit else "")
        if self.send_alert is not None:
            alert = Alert(kind=kind, severity="critical", summary=verdict.stalled, worker=self.worker,
                          details={"lag": {f"{t}[{p}]": n for (t, p), n in lag.items()},
                                   "exit_code": verdict.exit_code if will_exit else None},
                          emitted_at=time.time())
            metrics.ALERTS.labels(kind=kind, severity=alert.severity).inc()
            try:
                await asyncio.wait_for(self.send_alert(alert), 5.0)
            except Exception as exc:  # noqa: BLE001 - the exit matters more than the alert
                log.error("watchdog: could not publish the alert: %s", exc)
        if will_exit:
            self.exit_now(verdict.exit_code)


def _assignment(app: faust.App) -> set[TP]:
    try:
        return {(tp.topic, tp.partition) for tp in app.consumer.assignment()}
    except Exception:  # noqa: BLE001
        return set()
