"""aiokafka reads a batch whose header names are not UTF-8, once lenient records are installed."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.consumer import fetcher
from aiokafka.record.memory_records import MemoryRecords
from kafka.record.memory_records import MemoryRecordsBuilder

from infra.kafka.lenient_records import LenientMemoryRecords, install


class RawName(str):
    """A header name kafka-python writes as these bytes (it calls ``encode()`` on the name)."""

    def __new__(cls, raw: bytes) -> "RawName":
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw  # type: ignore[attr-defined]
        return name

    def encode(self, *_args: Any, **_kwargs: Any) -> bytes:  # type: ignore[override]
        return self.raw  # type: ignore[attr-defined]


def record_set(codec: int) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=codec, batch_size=100_000)
    builder.append(timestamp=None, key=b"k0", value=b"v0", headers=[("fine", b"x")])
    builder.append(timestamp=None, key=b"k1", value=b"v1", headers=[(RawName(b"\xff\xfe-name"), b"x"), ("n", None)])
    builder.append(timestamp=None, key=b"k2", value=b"v2", headers=[])
    builder.close()
    return bytes(builder.buffer()) * 2  # two batches


def read(records: Any) -> list[tuple[int, bytes, list[tuple[str, bytes | None]]]]:
    out = []
    while records.has_next():
        batch = records.next_batch()
        assert batch.validate_crc() and batch.next_offset == 3
        out.extend((r.offset, r.key, list(r.headers)) for r in batch)
    return out


def test_aiokafka_alone_cannot_read_the_batch():
    with pytest.raises(UnicodeDecodeError):
        read(MemoryRecords(record_set(0)))


@pytest.mark.parametrize("codec", [0, 1], ids=["uncompressed", "gzip"])
def test_every_record_is_read_with_invalid_bytes_replaced(codec):
    expected = [(0, b"k0", [("fine", b"x")]), (1, b"k1", [("\ufffd\ufffd-name", b"x"), ("n", None)]), (2, b"k2", [])]
    assert read(LenientMemoryRecords(record_set(codec))) == expected * 2


def test_install_puts_it_in_the_fetcher():
    install()
    assert fetcher.MemoryRecords is LenientMemoryRecords
