"""A Faust worker whose stop always completes: SIGTERM or SIGINT end the process within a bound.

Faust stops gracefully by waiting for every event that started processing to be acked. An agent
stuck on a dead dependency, or a batch whose task was cancelled, never acks, and the worker would
wait for ever. Here the first signal starts the graceful stop *and* a deadline; at the deadline
(or on a second signal) the process exits at once with :data:`~streams.health.EXIT_SHUTDOWN_FORCED`.
Nothing is lost by that: what was not acked is not committed, and the partition's next owner
processes it again (every write is idempotent).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any, Callable

import faust

from streams.health import EXIT_SHUTDOWN_FORCED

log = logging.getLogger(__name__)


def hard_exit(code: int, before: Callable[[], None] | None = None) -> None:
    """Leave now, whatever the event loop is doing: flush what can be flushed, then ``os._exit``."""
    try:
        if before is not None:
            before()
    except Exception:  # noqa: BLE001 - exiting regardless
        log.exception("while exiting")
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class BoundedWorker(faust.Worker):
    """``faust.Worker`` with a shutdown deadline."""

    def __init__(self, *args: Any, shutdown_timeout_s: float = 15.0,
                 before_forced_exit: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shutdown_timeout_s = shutdown_timeout_s
        self._before_forced_exit = before_forced_exit
        self._deadline: threading.Timer | None = None

    def _schedule_shutdown(self, signal_: signal.Signals) -> None:
        if self._deadline is not None:
            log.warning("second %s: exiting now without waiting for the graceful stop", signal_.name)
            hard_exit(EXIT_SHUTDOWN_FORCED, self._before_forced_exit)
        self._deadline = threading.Timer(self.shutdown_timeout_s, self._force)
        self._deadline.daemon = True
        self._deadline.start()
        log.info("%s: stopping (at most %.0fs)", signal_.name, self.shutdown_timeout_s)
        super()._schedule_shutdown(signal_)

    def _force(self) -> None:
        log.error("the graceful stop did not finish within %.0fs; exiting now (work not acked is not committed "
                  "and will be processed again by the next owner of its partitions)", self.shutdown_timeout_s)
        hard_exit(EXIT_SHUTDOWN_FORCED, self._before_forced_exit)
