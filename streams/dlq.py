"""``assay dlq``: read the dead-letter topic, and replay dead letters to ``sources.raw``.

Reading goes from the beginning of every DLQ partition to its end (the broker's end-of-partition
signal), so the listing is complete and the command ends. A replay produces the original key, value
and headers with the ``assay-replay-of`` header; a truncated letter's original is read back from its
topic, partition and offset and checked against the sizes and hashes the letter kept.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from pydantic import ValidationError

from infra.errors import AssayError
from infra.kafka.admin import partition_counts, read_to_end
from infra.kafka.topics import SOURCES_DLQ, SOURCES_RAW, topic_specs
from infra.settings import KafkaSettings
from processors.replay import (DeadLetterFilter, Original, StoredDeadLetter, kept_original, mismatch,
                               replay_headers)
from schemas.dlq import DeadLetter

log = logging.getLogger(__name__)


def _reader(conf: dict[str, Any]) -> Consumer:
    return Consumer({**conf, "group.id": f"assay-dlq-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                     "enable.partition.eof": True, "auto.offset.reset": "error"})


def read_dead_letters(conf: dict[str, Any], kafka: KafkaSettings, *, timeout_s: float = 60.0,
                      on_unreadable: Callable[[int, int, str], None] | None = None) -> Iterator[StoredDeadLetter]:
    """Every dead letter on the DLQ topic, oldest first per partition."""
    topic = topic_specs(kafka)[SOURCES_DLQ].name
    partitions = partition_counts(conf).get(topic)
    if not partitions:
        raise AssayError(f"topic {topic!r} does not exist on the broker; run `assay topics create`")
    for msg in read_to_end(conf, topic, range(partitions), group=f"assay-dlq-{uuid.uuid4().hex[:8]}",
                           timeout_s=timeout_s):
        try:
            letter = DeadLetter.model_validate_json(msg.value() or b"")
        except ValidationError as exc:
            if on_unreadable:
                on_unreadable(msg.partition(), msg.offset(), str(exc).splitlines()[0])
            continue
        yield StoredDeadLetter(msg.partition(), msg.offset(), letter)


def select(letters: Iterable[StoredDeadLetter], flt: DeadLetterFilter, limit: int | None, *,
           on_excluded_replay: Callable[[StoredDeadLetter], None] | None = None) -> list[StoredDeadLetter]:
    """The first ``limit`` letters ``flt`` matches; ``on_excluded_replay`` hears of replays it left out."""
    out: list[StoredDeadLetter] = []
    with_replays = replace(flt, include_replayed=True)
    for stored in letters:
        if not flt.include_replayed and stored.letter.replay_of and with_replays.matches(stored.letter):
            if on_excluded_replay:
                on_excluded_replay(stored)
            continue
        if flt.matches(stored.letter):
            out.append(stored)
            if limit is not None and len(out) >= limit:
                break
    return out


def read_record(conf: dict[str, Any], topic: str, partition: int, offset: int,
                timeout_s: float = 30.0) -> Original | None:
    """The record at ``topic[partition]@offset``, or None when it is gone (retention, compaction)."""
    consumer = _reader(conf)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() in (KafkaError._PARTITION_EOF, KafkaError._AUTO_OFFSET_RESET,
                                  KafkaError.OFFSET_OUT_OF_RANGE, KafkaError.UNKNOWN_TOPIC_OR_PART,
                                  KafkaError._UNKNOWN_PARTITION):
                    return None
                raise AssayError(f"reading {topic}[{partition}]@{offset}: {err}")
            # Compaction may have removed it: the next record comes instead.
            return Original(msg.key(), msg.value(), list(msg.headers() or [])) if msg.offset() == offset else None
        raise AssayError(f"reading {topic}[{partition}]@{offset}: no answer within {timeout_s:.0f}s")
    finally:
        consumer.close()


def find_dead_letter(conf: dict[str, Any], kafka: KafkaSettings, partition: int, offset: int) -> StoredDeadLetter:
    topic = topic_specs(kafka)[SOURCES_DLQ].name
    record = read_record(conf, topic, partition, offset)
    if record is None:
        raise AssayError(f"no dead letter at {topic}[{partition}]@{offset}")
    try:
        return StoredDeadLetter(partition, offset, DeadLetter.model_validate_json(record.value or b""))
    except ValidationError as exc:
        raise AssayError(f"{topic}[{partition}]@{offset} is not a dead letter: {str(exc).splitlines()[0]}") from exc


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)  # replay ids
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (replay id, why)
    failed: list[tuple[str, str]] = field(default_factory=list)


def original_of(conf: dict[str, Any], stored: StoredDeadLetter) -> tuple[Original | None, str | None]:
    """(original, None), or (None, why it cannot be replayed)."""
    letter = stored.letter
    if not letter.truncated:
        return kept_original(letter), None
    record = read_record(conf, letter.topic, letter.partition, letter.offset)
    if record is None:
        return None, (f"truncated, and the original at {letter.topic}[{letter.partition}]@{letter.offset} is gone "
                      "(retention or compaction)")
    why = mismatch(letter, record)
    if why is not None:
        return None, f"truncated, and the record read back from {letter.topic} is not the original: {why}"
    return record, None


def replay(conf: dict[str, Any], kafka: KafkaSettings, letters: Iterable[StoredDeadLetter], *, dry_run: bool,
           say: Callable[[str], None]) -> ReplayReport:
    """Re-produce each letter's original to ``sources.raw``, tagged with its replay id."""
    target = topic_specs(kafka)[SOURCES_RAW].name
    report = ReplayReport()
    producer = None if dry_run else Producer({**conf, "acks": "all", "enable.idempotence": True,
                                              "message.max.bytes": max(kafka.max_message_bytes, 1_000_000) + 4096})
    for stored in letters:
        rid, letter = stored.replay_id, stored.letter
        if letter.topic != target:
            report.skipped.append((rid, f"came from {letter.topic}, not {target}: re-produce its source instead"))
            continue
        original, why = original_of(conf, stored)
        if original is None:
            report.skipped.append((rid, why or "unavailable"))
            continue
        if dry_run:
            report.replayed.append(rid)
            say(f"would replay {rid} ({letter.error_class}) to {target}")
            continue
        assert producer is not None

        def delivered(err: Any, _msg: Any, rid: str = rid) -> None:
            (report.failed.append((rid, str(err))) if err else report.replayed.append(rid))

        producer.produce(target, key=original.key, value=original.value,
                         headers=replay_headers(original.headers, rid), on_delivery=delivered)
        producer.poll(0)
    if producer is not None:
        left = producer.flush(60)
        if left:
            report.failed.append(("-", f"{left} records not acknowledged within 60 s"))
    return report
