"""Wait out outages of the real parts (Qdrant, inference, Redis); never retry what cannot pass.

:func:`retry_transient` runs an operation until it succeeds. A transient failure (see
:func:`infra.errors.is_transient`: connection refused, timeouts, 429/5xx, a stopped batcher) is
retried with exponential backoff for as long as it lasts, and the wait is reported to the running
agent's health, so a long one shows on ``/ready`` and the watchdog decides when it is a stall.
Any other failure is raised at once: it belongs to an input (dead-lettered by the caller) or to
the configuration (the worker stops).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Awaitable, Callable, TypeVar

from infra.errors import is_transient
from streams.health import report_waiting
from streams.metrics import RETRIES

T = TypeVar("T")
log = logging.getLogger(__name__)


async def retry_transient(op: Callable[[], Awaitable[T]], *, stage: str, max_backoff_s: float = 30.0,
                          first_backoff_s: float = 0.2) -> T:
    """Run ``op`` until it succeeds; transient failures are retried, others raised. Cancellation passes."""
    attempt = 0
    delay = first_backoff_s
    try:
        while True:
            attempt += 1
            try:
                return await op()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if not is_transient(exc):
                    raise
                RETRIES.labels(stage=stage).inc()
                report_waiting(f"{stage}: {type(exc).__name__}: {exc}"[:300])
                log.warning("%s failed (attempt %d): %s: %s; retrying in %.1fs",
                            stage, attempt, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, max_backoff_s)
    finally:
        if attempt > 1:
            report_waiting(None)
