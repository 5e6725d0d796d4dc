"""Topic provisioning and inspection over confluent-kafka's AdminClient.

The embedded broker (Tansu) answers ListOffsets(latest) wrongly, so end offsets are read
from fetch responses' high watermarks instead, which every broker reports correctly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from infra.errors import BrokerError
from infra.kafka.topics import TopicSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    created: bool  # False when it already existed


def create_topics(conf: dict[str, Any], specs: Iterable[TopicSpec], replication_factor: int = 1,
                  timeout_s: float = 30.0, *, min_insync_replicas: int | None = None) -> list[TopicState]:
    """Create each topic with its partitions and configs; existing ones are left as they are.

    ``min_insync_replicas`` is added to every new topic's configs when given. Choosing the
    replication for a cluster is :func:`infra.kafka.provision.provision_topics`' job.

    Raises:
        BrokerError: the broker is unreachable, refused a topic, or an existing topic has a
            different partition count (that would break key routing and Faust tables).
    """
    admin = AdminClient(conf)
    specs = list(specs)
    existing = _partition_counts(admin, timeout_s)
    states: list[TopicState] = []
    to_create = [s for s in specs if s.name not in existing]
    if to_create:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, replication_factor, config=_configs(s, min_insync_replicas))
             for s in to_create],
            request_timeout=timeout_s,
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout=timeout_s)
            except KafkaException as exc:
                err = exc.args[0]
                if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                raise BrokerError(f"could not create topic {name!r}: {err}") from exc
        existing = _wait_for_topics(admin, [s.name for s in to_create], timeout_s)
    created = {s.name for s in to_create}
    for spec in specs:
        have = existing.get(spec.name)
        if have != spec.partitions:
            raise BrokerError(
                f"topic {spec.name!r} has {have} partitions, expected {spec.partitions}; "
                "delete it or set ASSAY_KAFKA_PARTITIONS to match"
            )
        states.append(TopicState(spec.name, spec.partitions, spec.name in created))
    return states


def _configs(spec: TopicSpec, min_insync_replicas: int | None) -> dict[str, str]:
    config = dict(spec.config)
    if min_insync_replicas is not None:
        config["min.insync.replicas"] = str(min_insync_replicas)
    return config


def delete_topics(conf: dict[str, Any], names: Iterable[str], timeout_s: float = 30.0) -> None:
    admin = AdminClient(conf)
    for name, fut in admin.delete_topics(list(names), request_timeout=timeout_s).items():
        try:
            fut.result(timeout=timeout_s)
        except KafkaException as exc:
            log.warning("delete topic %s: %s", name, exc)


def partition_counts(conf: dict[str, Any], timeout_s: float = 10.0) -> dict[str, int]:
    """Topic name → partition count, for every topic the broker knows."""
    return _partition_counts(AdminClient(conf), timeout_s)


def _partition_counts(admin: AdminClient, timeout_s: float) -> dict[str, int]:
    try:
        md = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise BrokerError(f"broker unreachable: {exc.args[0]}") from exc
    return {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}


def _wait_for_topics(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        counts = _partition_counts(admin, timeout_s)
        if all(n in counts for n in names) or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def end_offsets(conf: dict[str, Any], topic: str, partitions: int, timeout_s: float = 5.0) -> dict[int, int]:
    """High watermark per partition, read from fetch responses (see module docstring)."""
    consumer = Consumer({**conf, "group.id": "assay-offsets-probe", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        pending = set(range(partitions))
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None:
                pending.discard(msg.partition())
        result = {}
        for p in range(partitions):
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)
            result[p] = max(high, 0)
        return result
    finally:
        consumer.close()


def committed_offsets(conf: dict[str, Any], group: str, topic: str, partitions: int,
                      timeout_s: float = 5.0) -> dict[int, int]:
    """The group's committed offset per partition (0 where nothing was committed)."""
    consumer = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=timeout_s)
        return {tp.partition: max(tp.offset, 0) for tp in tps}
    finally:
        consumer.close()


def group_lag(conf: dict[str, Any], group: str, topic: str, partitions: int) -> dict[int, int]:
    """Messages not yet committed by ``group``, per partition."""
    ends = end_offsets(conf, topic, partitions)
    committed = committed_offsets(conf, group, topic, partitions)
    return {p: max(ends[p] - committed.get(p, 0), 0) for p in range(partitions)}


def read_to_end(conf: dict[str, Any], topic: str, partitions: Iterable[int], *, group: str,
                timeout_s: float = 60.0) -> Iterator[Any]:
    """Every record of ``partitions`` from the start until the broker reports each partition's end.

    The end is where a fetch reaches the high watermark, so empty partitions end at once. Raises
    :class:`BrokerError` on a read error or when the end is not reached within ``timeout_s``.
    """
    consumer = Consumer({**conf, "group.id": group, "enable.auto.commit": False,
                         "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    pending = set(partitions)
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"reading {topic}{sorted(pending)} did not reach its end within {timeout_s:.0f}s")
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
                    continue
                raise BrokerError(f"reading {topic}[{msg.partition()}]: {err}")
            yield msg
    finally:
        consumer.close()


def read_partition(conf: dict[str, Any], topic: str, partition: int, timeout_s: float = 60.0) -> dict[bytes, bytes]:
    """The latest value per key of one partition of a compacted topic, read from the start to its end.

    A null value (tombstone) removes its key. Raises :class:`BrokerError` when the end is not
    reached within ``timeout_s``.
    """
    state: dict[bytes, bytes] = {}
    for msg in read_to_end(conf, topic, [partition], group="assay-changelog-reader", timeout_s=timeout_s):
        key = msg.key()
        if key is None:
            continue
        value = msg.value()
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    return state


def last_value(conf: dict[str, Any], topic: str, partition: int = 0, timeout_s: float = 10.0) -> bytes | None:
    """The value of the last record of one partition (None when it is empty).

    The end offset comes from a fetch's high watermark (see the module docstring), then the record
    just before it is read.
    """
    end = end_offsets(conf, topic, partition + 1, timeout_s).get(partition, 0)
    if end <= 0:
        return None
    consumer = Consumer({**conf, "group.id": "assay-last-record", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    try:
        consumer.assign([TopicPartition(topic, partition, end - 1)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is None:
                return msg.value()
            if err.code() == KafkaError._PARTITION_EOF:
                return None
            raise BrokerError(f"reading the last record of {topic}[{partition}]: {err}")
        raise BrokerError(f"reading the last record of {topic}[{partition}] took over {timeout_s:.0f}s")
    finally:
        consumer.close()
