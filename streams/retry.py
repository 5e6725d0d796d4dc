"""Retry with exponential backoff for transient failures of the real parts (Qdrant, inference)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Awaitable, Callable, TypeVar

from streams.metrics import RETRIES

T = TypeVar("T")
log = logging.getLogger(__name__)


async def with_backoff(op: Callable[[], Awaitable[T]], *, stage: str, max_backoff_s: float = 30.0,
                       max_attempts: int | None = None, first_backoff_s: float = 0.2) -> T:
    """Run ``op`` until it succeeds (or ``max_attempts`` fail, then re-raise the last error).

    With ``max_attempts=None`` it never gives up: the caller holds its offsets uncommitted,
    so waiting out an outage loses nothing. Cancellation (worker shutdown) passes through.
    """
    attempt = 0
    delay = first_backoff_s
    while True:
        attempt += 1
        try:
            return await op()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the external part is retried
            if max_attempts is not None and attempt >= max_attempts:
                raise
            RETRIES.labels(stage=stage).inc()
            log.warning("%s failed (attempt %d): %s: %s; retrying in %.1fs",
                        stage, attempt, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, max_backoff_s)
