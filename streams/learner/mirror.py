"""Mirror ``sources.raw`` into the learner's store: the table side of the feedback ↔ document join.

A daemon thread reads every partition (assigned, not in a group: the learner needs all of them)
from where the store says it stopped, resolves each record exactly as the document stage does
(:func:`processors.validate.parse_document`: same id, same type), keeps the latest text per source
(a tombstone deletes it) and records the offsets reached in the same transaction. Records the
pipeline rejects are skipped: no label can be about them.

``on_documents`` (optional) sees each batch of mirrored documents: the learner samples them for
unlabelled input drift.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from processors.validate import parse_document, source_id_from_key
from schemas.documents import Document
from streams.learner.store import LearnerStore, SourceText

log = logging.getLogger(__name__)


class SourceMirror(threading.Thread):
    def __init__(self, conf: dict[str, Any], topic: str, partitions: int, store: LearnerStore, *,
                 max_document_bytes: int, on_documents: Callable[[list[Document]], None] | None = None) -> None:
        super().__init__(name="assay-source-mirror", daemon=True)
        self._conf = conf
        self._topic = topic
        self._partitions = partitions
        self._store = store
        self._max_bytes = max_document_bytes
        self._on_documents = on_documents
        self._stop_event = threading.Event()
        self.caught_up = threading.Event()  # set once every partition reached its end
        self.mirrored = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        consumer = Consumer({**self._conf, "group.id": "assay-learner-mirror", "enable.auto.commit": False,
                             "enable.partition.eof": True})
        start = self._store.mirror_offsets()
        consumer.assign([TopicPartition(self._topic, p, start.get(p, OFFSET_BEGINNING))
                         for p in range(self._partitions)])
        at_end: set[int] = set()
        try:
            while not self._stop_event.is_set():
                msgs = consumer.consume(500, 0.5)
                upserts: dict[str, SourceText] = {}
                deletes: list[str] = []
                offsets: dict[int, int] = {}
                docs: list[Document] = []
                for msg in msgs:
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            at_end.add(msg.partition())
                            if len(at_end) == self._partitions:
                                self.caught_up.set()
                        continue
                    at_end.discard(msg.partition())
                    offsets[msg.partition()] = msg.offset() + 1
                    if msg.value() is None:
                        sid = source_id_from_key(msg.key())
                        if sid is not None:
                            upserts.pop(sid, None)
                            deletes.append(sid)
                        continue
                    doc = parse_document(msg.value(), msg.key(), max_bytes=self._max_bytes)
                    if isinstance(doc, Document):
                        upserts[doc.id] = SourceText(doc.id, doc.content, doc.type.value)
                        docs.append(doc)
                if offsets:
                    self._store.mirror(upserts.values(), deletes, offsets)
                    self.mirrored += len(upserts)
                    if docs and self._on_documents is not None:
                        try:
                            self._on_documents(docs)
                        except Exception:  # noqa: BLE001 - drift sampling must not stop the join
                            log.exception("input-drift sampling failed")
        except Exception:  # noqa: BLE001 - reported; the learner's health sees the thread die
            log.exception("the sources.raw mirror stopped")
            raise
        finally:
            consumer.close()
