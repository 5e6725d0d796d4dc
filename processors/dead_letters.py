"""Turn a rejected input message into a dead-letter record that keeps its original bytes."""

from __future__ import annotations

import base64
import time
from typing import Iterable

from processors.results import Rejection
from schemas.dlq import DeadLetter


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dead_letter(rejection: Rejection, *, key: bytes | None, value: bytes | None,
                headers: Iterable[tuple[str, bytes | None]], topic: str, partition: int, offset: int,
                timestamp_ms: int | None, worker: str) -> DeadLetter:
    """Everything needed to understand and replay the rejected message.

    >>> from processors.results import Rejection
    >>> dl = dead_letter(Rejection("decode", "invalid_json", "bad"), key=b"k", value=b"{",
    ...                  headers=[], topic="t", partition=0, offset=7, timestamp_ms=None, worker="w")
    >>> (dl.key_b64, dl.value_b64, dl.error_class, dl.offset)
    ('aw==', 'ew==', 'invalid_json', 7)
    """
    return DeadLetter(
        key_b64=_b64(key),
        value_b64=_b64(value),
        headers=[(name, _b64(v) or "") for name, v in headers],
        stage=rejection.stage,
        error_class=rejection.error_class,
        reason=rejection.reason,
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp_ms=timestamp_ms,
        worker=worker,
        rejected_at=time.time(),
    )
