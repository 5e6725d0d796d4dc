"""``assay tail``: print an Assay topic's messages as JSON lines, with kcat's everyday options.

Start where you like in each partition (``beginning``, ``end``, offset ``N``, or the last ``N``
with ``-N``), only some partitions, only one key, exit at the end, and show headers and
timestamps. End offsets come from fetch responses (see :mod:`infra.kafka.admin`), which every
broker, the embedded one included, reports correctly.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Literal

import orjson
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, TopicPartition

from infra.errors import AssayError
from infra.kafka.admin import end_offsets, partition_counts
from infra.kafka.topics import topic_specs
from infra.settings import Settings


@dataclass(frozen=True)
class StartOffset:
    """Where reading starts in each partition."""

    kind: Literal["beginning", "end", "absolute", "last"]
    n: int = 0


BEGINNING = StartOffset("beginning")
END = StartOffset("end")


def parse_offset(text: str) -> StartOffset:
    """``beginning`` | ``end`` | ``N`` (absolute) | ``-N`` (the last N messages of each partition).

    >>> parse_offset("beginning"), parse_offset("42"), parse_offset("-5")
    (StartOffset(kind='beginning', n=0), StartOffset(kind='absolute', n=42), StartOffset(kind='last', n=5))
    >>> parse_offset("soon")
    Traceback (most recent call last):
    ...
    ValueError: offset must be beginning, end, N or -N, not 'soon'
    """
    t = text.strip().lower()
    if t in ("beginning", "earliest", "start"):
        return BEGINNING
    if t in ("end", "latest"):
        return END
    try:
        n = int(t)
    except ValueError:
        raise ValueError(f"offset must be beginning, end, N or -N, not {text!r}") from None
    return StartOffset("last", -n) if n < 0 else StartOffset("absolute", n)


@dataclass(frozen=True)
class TailOptions:
    max_messages: int | None = None
    start: StartOffset = BEGINNING
    partitions: tuple[int, ...] = ()  # empty: all
    exit_at_end: bool = False
    key: str | None = None
    headers: bool = False
    timestamps: bool = False
    idle_timeout_s: float | None = None


def resolve_topic(settings: Settings, topic: str) -> str:
    specs = topic_specs(settings.kafka)
    if topic in specs:
        return specs[topic].name
    names = {s.name for s in specs.values()}
    if topic in names:
        return topic
    raise AssayError(f"unknown topic {topic!r}; one of: {', '.join(sorted(specs))}")


def start_positions(conf: dict[str, Any], topic: str, partitions: list[int], total: int,
                    start: StartOffset) -> list[TopicPartition]:
    if start.kind == "last":
        ends = end_offsets(conf, topic, total)
        return [TopicPartition(topic, p, max(ends[p] - start.n, 0)) for p in partitions]
    offset = {"beginning": OFFSET_BEGINNING, "end": OFFSET_END}.get(start.kind, start.n)
    return [TopicPartition(topic, p, offset) for p in partitions]


def tail_topic(settings: Settings, conf: dict[str, Any], topic: str, opts: TailOptions,
               emit: Callable[[str], None]) -> int:
    """Print matching messages until ``max_messages``, the end (``exit_at_end``), idleness or Ctrl-C."""
    name = resolve_topic(settings, topic)
    total = partition_counts(conf).get(name)
    if not total:
        raise AssayError(f"topic {name!r} does not exist on the broker; run `assay topics create`")
    wanted = sorted(set(opts.partitions)) or list(range(total))
    if wanted[-1] >= total:
        raise AssayError(f"topic {name!r} has partitions 0..{total - 1}, not {wanted[-1]}")
    # Assigned, not subscribed: no consumer group has to form, so output starts at once. An offset
    # past either end (compacted away, or beyond the end) starts at the beginning.
    consumer = Consumer({**conf, "group.id": f"assay-tail-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "enable.partition.eof": True})
    consumer.assign(start_positions(conf, name, wanted, total, opts.start))
    key = opts.key.encode() if opts.key is not None else None
    at_end: set[int] = set()
    seen = 0
    last = time.monotonic()
    try:
        while opts.max_messages is None or seen < opts.max_messages:
            msg = consumer.poll(0.5)
            if msg is None:
                if opts.idle_timeout_s is not None and time.monotonic() - last > opts.idle_timeout_s:
                    break
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    if opts.exit_at_end and at_end >= set(wanted):
                        break
                continue
            at_end.discard(msg.partition())
            last = time.monotonic()
            if key is not None and msg.key() != key:
                continue
            seen += 1
            emit(orjson.dumps(render(msg, headers=opts.headers, timestamps=opts.timestamps)).decode())
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return seen


_TIMESTAMP_TYPES = {0: None, 1: "create", 2: "log_append"}


def render(msg: Any, *, headers: bool = False, timestamps: bool = False) -> dict[str, Any]:
    value = msg.value()
    try:
        decoded: Any = orjson.loads(value) if value is not None else None
    except orjson.JSONDecodeError:
        decoded = value.decode("utf-8", "replace")
    key = msg.key()
    out: dict[str, Any] = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                           "key": key.decode("utf-8", "replace") if key is not None else None}
    if timestamps:
        kind, ms = msg.timestamp()
        out["timestamp_ms"] = ms if kind else None
        out["timestamp_type"] = _TIMESTAMP_TYPES.get(kind)
    if headers:
        out["headers"] = [[name, header_text(v)] for name, v in (msg.headers() or [])]
    out["value"] = decoded
    return out


def header_text(value: bytes | None) -> str | None:
    """A header value as text: UTF-8 as it is, anything else as ``base64:…``.

    >>> header_text(b"0:7"), header_text(b"\\xff"), header_text(None)
    ('0:7', 'base64:/w==', None)
    """
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")
