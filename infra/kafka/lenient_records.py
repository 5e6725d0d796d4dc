"""Let the worker's Kafka client read records whose header names are not UTF-8.

Kafka header names are strings, but the broker stores whatever bytes a producer sends, and some
clients send any bytes (kafka-python encodes whatever name object it is given; librdkafka's C API
takes a pointer and a length). aiokafka, which Faust reads with, decodes header names strictly
while it iterates a fetched batch, so one such record raised ``UnicodeDecodeError`` out of the
fetcher on every fetch: the Faust worker crashed, and crashed again after each restart, for every
partition it held.

:func:`install` makes aiokafka's fetcher read such a batch again with its own pure-Python parser,
decoding header names with ``errors="replace"`` (invalid bytes become U+FFFD). The record then
flows like any other: headers are metadata the pipeline does not interpret, and a dead letter
keeps the names as read. Batches without such names take the usual (C) path.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from aiokafka.consumer import fetcher
from aiokafka.record.default_records import _DefaultRecordBatchPy
from aiokafka.record.memory_records import _MemoryRecordsPy

log = logging.getLogger(__name__)


class _LenientBytes(bytearray):
    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:  # type: ignore[override]
        return bytearray.decode(self, encoding, "replace")


class _LenientBuffer(bytearray):
    """A batch buffer whose slices decode leniently (the parser decodes header names from slices)."""

    def __getitem__(self, index: Any) -> Any:
        got = bytearray.__getitem__(self, index)
        return _LenientBytes(got) if isinstance(index, slice) else got


def lenient_records(batch: bytes | memoryview) -> Iterator[Any]:
    """The records of one v2 batch, header names decoded with replacement characters."""
    parser = _DefaultRecordBatchPy(batch)
    iter(parser)  # decompresses into its buffer
    parser._buffer = _LenientBuffer(parser._buffer)  # noqa: SLF001 - see the module docstring
    yield from parser


class _LenientBatch:
    """A v2 batch that re-reads itself leniently when a header name is not UTF-8."""

    def __init__(self, batch: Any, raw: memoryview) -> None:
        self._batch = batch
        self._raw = raw
        self._records = self._read()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __iter__(self) -> "_LenientBatch":
        return self

    def __next__(self) -> Any:
        return next(self._records)

    def _read(self) -> Iterator[Any]:
        done = 0
        try:
            for record in self._batch:
                done += 1
                yield record
            return
        except UnicodeDecodeError as exc:
            log.error("a record at or after offset %d has a header name that is not UTF-8 (%s); reading its batch "
                      "with invalid bytes replaced", self._batch.base_offset + done, exc)
        for i, record in enumerate(lenient_records(self._raw)):
            if i >= done:
                yield record


class LenientMemoryRecords(_MemoryRecordsPy):  # type: ignore[misc]
    """aiokafka's record-set reader, with v2 batches wrapped in :class:`_LenientBatch`."""

    def next_batch(self, *args: Any, **kwargs: Any) -> Any:
        raw = self._next_slice
        batch = super().next_batch(*args, **kwargs)
        if batch is None or raw is None or batch.magic < 2:
            return batch
        return _LenientBatch(batch, raw)


def install() -> None:
    """Use :class:`LenientMemoryRecords` for every fetch of this process (idempotent)."""
    fetcher.MemoryRecords = LenientMemoryRecords
