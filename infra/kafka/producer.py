"""An asyncio producer over confluent-kafka whose failures say what they are.

Every send resolves when the broker acknowledged the record (``acks=all``, idempotent), or fails
with a :class:`PublishError` whose ``kind`` tells the caller what to do:

* ``transient``: the broker is unreachable, busy or electing a leader: send again later;
* ``rejected``: this record can never be written (too large, invalid): dead-letter its cause;
* ``fatal``: the configuration is wrong (authorization, unknown topic): stop with a clear error.

librdkafka retries transient errors by itself until ``message.timeout.ms``; what surfaces after
that is still transient, so the caller's loop keeps waiting out an outage and can report it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Literal

from confluent_kafka import KafkaError, KafkaException, Producer

from infra.errors import BrokerError

log = logging.getLogger(__name__)

FailureKind = Literal["transient", "rejected", "fatal"]

_REJECTED = {
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG_SIZE,
    KafkaError.INVALID_MSG, KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD, KafkaError._INVALID_ARG, KafkaError.INVALID_TIMESTAMP,
}
_FATAL = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._AUTHENTICATION, KafkaError._UNKNOWN_TOPIC, KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.TOPIC_EXCEPTION, KafkaError._SSL,
}


class PublishError(BrokerError):
    """A record was not written; ``kind`` says whether to retry, dead-letter or stop."""

    def __init__(self, message: str, *, kind: FailureKind, code: str | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.code = code
        self.transient = kind == "transient"


def classify(err: KafkaError) -> FailureKind:
    """What a librdkafka error means for the record that got it.

    >>> classify(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    'rejected'
    >>> classify(KafkaError(KafkaError._MSG_TIMED_OUT))
    'transient'
    >>> classify(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    'fatal'
    """
    code = err.code()
    if err.fatal() or code in _FATAL:
        return "fatal"
    if code in _REJECTED:
        return "rejected"
    return "transient"


def _error(topic: str, err: KafkaError) -> PublishError:
    kind = classify(err)
    return PublishError(f"{topic}: {err.str()} ({err.name()})", kind=kind, code=err.name())


class AsyncProducer:
    """One librdkafka producer for a worker; a daemon thread serves its delivery reports."""

    def __init__(self, conf: dict[str, Any], *, max_message_bytes: int, message_timeout_s: float = 30.0,
                 linger_ms: int = 5) -> None:
        self.max_message_bytes = max_message_bytes
        self._producer = Producer({
            **conf,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": linger_ms,
            "message.max.bytes": max_message_bytes + 4096,  # record framing on top of key + value
            "message.timeout.ms": int(message_timeout_s * 1000),
            "queue.buffering.max.kbytes": 512 * 1024,
        })
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="assay-producer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def send(self, topic: str, key: bytes | None, value: bytes | None, *, partition: int | None = None,
             headers: list[tuple[str, bytes | None]] | None = None) -> asyncio.Future[None]:
        """Queue one record; the future resolves on the broker's ack or fails with a PublishError.

        Must be called from a running event loop. A full local queue waits for room.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def settle(err: KafkaError | None, _msg: Any) -> None:
            loop.call_soon_threadsafe(_resolve, fut, None if err is None else _error(topic, err))

        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": settle}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        for _ in range(600):
            try:
                self._producer.produce(topic, **kwargs)
                return fut
            except BufferError:  # the local queue is full: the poll thread drains it
                self._producer.poll(0.05)
            except KafkaException as exc:
                fut.set_exception(_error(topic, exc.args[0]))
                return fut
        fut.set_exception(PublishError(f"{topic}: local producer queue stayed full for 30 s", kind="transient"))
        return fut

    def flush(self, timeout_s: float = 10.0) -> int:
        """Wait for queued records; returns how many are still undelivered."""
        return self._producer.flush(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        left = self.flush(timeout_s)
        if left:
            log.warning("producer closed with %d records not acknowledged (their inputs are not committed)", left)
        self._stop.set()
        self._thread.join(timeout=1.0)


def _resolve(fut: asyncio.Future[None], exc: Exception | None) -> None:
    if fut.done():
        return
    if exc is None:
        fut.set_result(None)
    else:
        fut.set_exception(exc)
