"""The document agent: consume ``sources.raw`` in micro-batches, run them, publish, then ack.

The agent is thin on purpose: it turns Faust events into ``InputMessage`` values, hands a
batch to the runtime, sends what comes back and waits for the broker's acks, and only then
acks the input events (Faust commits acked offsets only). The stream runs with acks
disabled: Faust's own ``take()`` acks a batch even when its processing was cancelled, which
would commit offsets of work that never happened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Sequence

import faust

from streams.runtime import InputMessage, Outputs, PipelineRuntime
from streams.set_stage import ChangelogSetTable, SetStage

log = logging.getLogger(__name__)


def to_input_message(event: Any) -> InputMessage:
    msg = event.message
    headers = msg.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return InputMessage(
        key=msg.key, value=msg.value, headers=[(k, v) for k, v in headers],
        topic=msg.topic, partition=msg.partition, offset=msg.offset,
        timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
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


async def publish(outputs: Outputs, enriched: faust.TopicT, metrics: faust.TopicT, dlq: faust.TopicT,
                  set_members: faust.TopicT | None = None, also: Sequence[Any] = ()) -> None:
    """Send every output and wait until the broker acknowledged each one (and everything in ``also``)."""
    pending = list(also)
    for key, value in outputs.dead_letters:
        pending.append(await dlq.send(key=key, value=value))
    for key, value in outputs.enriched:
        pending.append(await enriched.send(key=key, value=value))
    for key, value in outputs.metrics:
        pending.append(await metrics.send(key=key, value=value))
    if outputs.set_members:
        assert set_members is not None, "set member updates need the sets.members topic"
        for key, value in outputs.set_members:
            pending.append(await set_members.send(key=key, value=value))
    if pending:
        await asyncio.gather(*pending)


def register_pipeline(app: faust.App, runtime: PipelineRuntime, topics: dict[str, faust.TopicT]) -> None:
    from infra.kafka.topics import PATTERNS_ENRICHED, PIPELINE_METRICS, SET_MEMBERS, SET_STATE, SOURCES_DLQ, SOURCES_RAW

    settings = runtime.settings
    state_topic = topics[SET_STATE]

    async def send_state(key: bytes, value: bytes | None, partition: int) -> Any:
        return await state_topic.send(key=key, value=value, partition=partition)

    # The set agent's state (member summaries per set), backed by the compacted sets.state topic.
    set_table = ChangelogSetTable(settings.kafka.librdkafka_config(), state_topic.get_topic_name(), send_state)
    set_stage = SetStage(runtime)
    members_topic = topics[SET_MEMBERS].get_topic_name()

    @app.on_partitions_revoked.connect
    async def forget_revoked_sets(sender: Any, revoked: Any, **_: Any) -> None:
        set_table.forget(tp.partition for tp in revoked if tp.topic == members_topic)

    @app.timer(interval=settings.optimize_interval_s)
    async def optimize_store() -> None:
        # Qdrant Edge searches by exact scan until optimized; build the HNSW index as data grows.
        if await runtime.optimize_if_written(settings.optimize_min_writes):
            log.info("vector store optimized")

    @app.agent(topics[SOURCES_RAW], name="process_sources")
    async def process_sources(stream: faust.StreamT) -> None:
        manual = stream.noack()
        async for events in micro_batches(manual, settings.batch_size, settings.batch_within_s):
            outputs = await runtime.process([to_input_message(e) for e in events])
            await publish(outputs, topics[PATTERNS_ENRICHED], topics[PIPELINE_METRICS], topics[SOURCES_DLQ],
                          topics[SET_MEMBERS])
            for event in events:
                await manual.ack(event)

    @app.agent(topics[SET_MEMBERS], name="process_sets")
    async def process_sets(stream: faust.StreamT) -> None:
        manual = stream.noack()
        async for events in micro_batches(manual, settings.set_batch_size, settings.set_batch_within_s):
            result = await set_stage.process([to_input_message(e) for e in events], set_table)
            # The state writes are awaited with the events: both are durable before the ack.
            await publish(result.outputs, topics[PATTERNS_ENRICHED], topics[PIPELINE_METRICS], topics[SOURCES_DLQ],
                          also=result.durability)
            for event in events:
                await manual.ack(event)
