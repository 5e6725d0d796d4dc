"""The one loop every agent runs: micro-batches in, outputs published, then acks — and nothing stops it.

:func:`run_stage` is an agent's whole body. Per micro-batch it turns Faust events into
:class:`~schemas.messages.InputMessage` values, runs the stage, publishes every output and waits
for the broker's acks, and only then acks the input events (Faust commits acked offsets only).
The stream runs with acks disabled: Faust's own ``take()`` acks a batch even when its processing
was cancelled, which would commit offsets of work that never happened.

Nothing an input carries can stop the loop: a stage that raises on a batch runs again one message
at a time (:func:`guarded`), and a message that still raises is dead-lettered (stage
``internal``) with the error. Only a configuration error stops the worker, through its health.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

from infra.errors import is_config_error
from processors.dead_letters import dead_letter_message
from processors.results import Rejection
from schemas.messages import InputMessage, OutMessage
from streams import metrics
from streams.health import CURRENT_AGENT, WorkerHealth
from streams.publish import FatalPublishError, Publisher

log = logging.getLogger(__name__)

Stage = Callable[[Sequence[InputMessage]], Awaitable[list[OutMessage]]]


def to_input_message(event: Any) -> InputMessage:
    """A Faust event as a plain value (headers as a list of (name, bytes) pairs, whatever came)."""
    msg = event.message
    headers = msg.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    pairs: list[tuple[str, bytes | None]] = []
    for name, value in headers:
        text = name if isinstance(name, str) else bytes(name).decode("utf-8", "replace")
        pairs.append((text, value if value is None or isinstance(value, bytes) else str(value).encode()))
    timestamp = getattr(msg, "timestamp", None)
    return InputMessage(
        key=msg.key, value=msg.value, headers=pairs, topic=msg.topic, partition=msg.partition, offset=msg.offset,
        timestamp_ms=int(timestamp * 1000) if timestamp else None,
    )


async def micro_batches(stream: Any, max_events: int, within_s: float) -> AsyncIterator[list[Any]]:
    """Group a no-ack stream's events into batches of at most ``max_events``.

    A batch closes when it is full or ``within_s`` after its first event. A reader task fills a
    bounded queue, so the broker's fetches continue while a batch is being processed.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_events * 2)

    async def read() -> None:
        async for event in stream.events():
            await queue.put(event)

    reader = asyncio.ensure_future(read())
    loop = asyncio.get_running_loop()
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                reader.result()  # re-raises the reader's failure
                return
            batch = [getter.result()]
            deadline = loop.time() + within_s
            while len(batch) < max_events:
                try:
                    batch.append(queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            yield batch
    finally:
        reader.cancel()


async def guarded(stage: Stage, messages: Sequence[InputMessage], *, agent: str, worker: str,
                  max_dlq_bytes: int) -> list[OutMessage]:
    """Run ``stage`` on a batch; if it raises, run each message alone and dead-letter those that still raise.

    Outages never reach here (stages wait them out); what does is a bug or an input no rule
    foresaw. A configuration error is re-raised: no input is to blame for it.
    """
    try:
        return await stage(messages)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - see docstring
        if is_config_error(exc):
            raise
        metrics.BATCH_FAILURES.labels(agent=agent).inc()
        log.exception("agent %s: a batch of %d messages failed; processing them one at a time", agent, len(messages))
        if len(messages) == 1:
            return [_internal_error(messages[0], exc, worker, max_dlq_bytes)]
    out: list[OutMessage] = []
    for msg in messages:
        try:
            out.extend(await stage([msg]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            if is_config_error(exc):
                raise
            log.exception("agent %s: message %s failed alone; sending it to the DLQ", agent, msg.where())
            out.append(_internal_error(msg, exc, worker, max_dlq_bytes))
    return out


def _internal_error(msg: InputMessage, exc: BaseException, worker: str, max_dlq_bytes: int) -> OutMessage:
    rej = Rejection("internal", "internal_error", f"{type(exc).__name__}: {exc}")
    metrics.DEAD_LETTERS.labels(stage=rej.stage, error_class=rej.error_class).inc()
    return dead_letter_message(rej, msg, worker=worker, max_bytes=max_dlq_bytes)


async def run_stage(name: str, topic: str, stream: Any, stage: Stage, publisher: Publisher, health: WorkerHealth, *,
                    batch_size: int, within_s: float, on_batch: Callable[[], Awaitable[None]] | None = None) -> None:
    """An agent's body: batches → ``stage`` → publish → ack, reporting progress to ``health``."""
    agent = health.agent(name, topic)
    CURRENT_AGENT.set(agent)
    manual = stream.noack()
    max_dlq = publisher.limit("sources.dlq")
    try:
        async for events in micro_batches(manual, batch_size, within_s):
            agent.batch_started(len(events))
            if on_batch is not None:
                await on_batch()
            messages = [to_input_message(e) for e in events]
            outputs = await guarded(stage, messages, agent=name, worker=publisher.worker, max_dlq_bytes=max_dlq)
            await publisher.publish(outputs)
            for event in events:
                await manual.ack(event)
            for m in messages:
                health.acked(m.topic, m.partition, m.offset)
            agent.batch_done()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if isinstance(exc, FatalPublishError) or is_config_error(exc):
            log.critical("agent %s: %s", name, exc)
            health.fail(f"agent {name}: {exc}")
        else:
            log.exception("agent %s crashed", name)
            agent.crash(exc)
        raise
