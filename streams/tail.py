"""``assay tail``: print an Assay topic's messages as JSON lines."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import orjson
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from infra.errors import AssayError
from infra.kafka.admin import partition_counts
from infra.kafka.topics import topic_specs
from infra.settings import Settings


def resolve_topic(settings: Settings, topic: str) -> str:
    specs = topic_specs(settings.kafka)
    if topic in specs:
        return specs[topic].name
    names = {s.name for s in specs.values()}
    if topic in names:
        return topic
    raise AssayError(f"unknown topic {topic!r}; one of: {', '.join(sorted(specs))}")


def tail_topic(settings: Settings, conf: dict[str, Any], topic: str, max_messages: int | None,
               from_end: bool, idle_timeout_s: float | None, emit: Callable[[str], None]) -> int:
    name = resolve_topic(settings, topic)
    partitions = partition_counts(conf).get(name)
    if not partitions:
        raise AssayError(f"topic {name!r} does not exist on the broker; run `assay topics create`")
    # Assigned, not subscribed: no consumer group has to form, so output starts at once.
    consumer = Consumer({**conf, "group.id": f"assay-tail-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    start = OFFSET_END if from_end else OFFSET_BEGINNING
    consumer.assign([TopicPartition(name, p, start) for p in range(partitions)])
    seen = 0
    last = time.monotonic()
    try:
        while max_messages is None or seen < max_messages:
            msg = consumer.poll(0.5)
            if msg is None:
                if idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                    break
                continue
            if msg.error():
                continue
            last = time.monotonic()
            seen += 1
            emit(orjson.dumps(render(msg)).decode())
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return seen


def render(msg: Any) -> dict[str, Any]:
    value = msg.value()
    try:
        decoded: Any = orjson.loads(value) if value is not None else None
    except orjson.JSONDecodeError:
        decoded = value.decode("utf-8", "replace")
    key = msg.key()
    return {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
            "key": key.decode("utf-8", "replace") if key is not None else None, "value": decoded}
