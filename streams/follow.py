"""A daemon thread that reads one single-partition compacted topic from its beginning.

Every worker must see every record of such a topic (the models promoted, the experiment
running), so the partition is assigned, not shared through a consumer group, and nothing is
committed: a restarted worker reads the whole history again and ends in the same state.
Subclasses say what one record does in :meth:`TopicFollower.handle`.
"""

from __future__ import annotations

import threading
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


class TopicFollower(threading.Thread):
    """Reads ``topic`` partition 0 from the beginning until :meth:`stop`; each value → ``handle``."""

    def __init__(self, conf: dict[str, Any], topic: str, *, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._conf = conf
        self._topic = topic
        self._stop_event = threading.Event()

    def run(self) -> None:
        consumer = Consumer({**self._conf, "group.id": self.name, "enable.auto.commit": False})
        consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
        try:
            while not self._stop_event.is_set():
                msg = consumer.poll(0.5)
                if msg is None or msg.error() or msg.value() is None:
                    continue
                self.handle(msg.value())
        finally:
            consumer.close()

    def handle(self, raw: bytes) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop_event.set()
