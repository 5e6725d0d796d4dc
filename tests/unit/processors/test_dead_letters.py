"""Dead letters always fit the message limit, and keep the original whole whenever it fits."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from processors.dead_letters import MAX_DLQ_KEY_BYTES, dead_letter_message, dlq_key
from processors.results import Rejection
from schemas.messages import InputMessage

REJ = Rejection("decode", "oversize", "too large")


def msg(key: bytes | None, value: bytes | None, headers: int = 0, header_bytes: int = 10) -> InputMessage:
    return InputMessage(key=key, value=value, headers=[(f"h{i}", b"x" * header_bytes) for i in range(headers)],
                        topic="sources.raw", partition=1, offset=42, timestamp_ms=7)


def decode(out) -> dict:
    return orjson.loads(out.value)


def test_a_small_record_is_kept_whole():
    m = msg(b"doc-1", b'{"content": 1}', headers=2)
    dl = decode(dead_letter_message(REJ, m, worker="w", max_bytes=1_000_000))
    assert base64.b64decode(dl["value_b64"]) == m.value and base64.b64decode(dl["key_b64"]) == m.key
    assert len(dl["headers"]) == 2 and dl["truncated"] == []
    assert (dl["value_size"], dl["key_size"], dl["headers_count"]) == (len(m.value), 5, 2)
    assert dl["value_sha256"] == hashlib.sha256(m.value).hexdigest()


def test_a_3mb_value_becomes_a_prefix_with_size_and_hash():
    value = b'{"content": "' + b"a" * 3_000_000 + b'"}'
    out = dead_letter_message(REJ, msg(b"big", value), worker="w", max_bytes=1_000_000)
    dl = decode(out)
    assert len(out.value) + len(out.key) <= 1_000_000
    assert dl["truncated"] == ["value"] and dl["value_size"] == len(value)
    assert dl["value_sha256"] == hashlib.sha256(value).hexdigest()
    prefix = base64.b64decode(dl["value_b64"])
    assert value.startswith(prefix) and len(prefix) > 500_000  # most of the budget goes to the value


def test_a_huge_key_is_hashed_as_the_dlq_key_and_cut_in_the_record():
    key = b"k" * 900_000
    out = dead_letter_message(REJ, msg(key, b"v"), worker="w", max_bytes=1_000_000)
    assert out.key == dlq_key(key) and out.key.startswith(b"sha256:")
    dl = decode(out)
    assert "key" in dl["truncated"] and dl["key_size"] == len(key)
    assert key.startswith(base64.b64decode(dl["key_b64"]))
    assert dlq_key(b"k" * MAX_DLQ_KEY_BYTES) == b"k" * MAX_DLQ_KEY_BYTES


def test_ten_thousand_headers_are_cut():
    out = dead_letter_message(REJ, msg(b"k", b"v", headers=10_000, header_bytes=200), worker="w", max_bytes=1_000_000)
    dl = decode(out)
    assert dl["truncated"] == ["headers"] and dl["headers_count"] == 10_000
    assert 0 < len(dl["headers"]) < 10_000 and len(out.value) <= 1_000_000


def test_a_long_reason_is_cut():
    out = dead_letter_message(Rejection("internal", "internal_error", "x" * 50_000), msg(b"k", b"v"), worker="w",
                              max_bytes=1_000_000)
    assert len(decode(out)["reason"]) < 2100


@settings(max_examples=60, deadline=None)
@given(key=st.one_of(st.none(), st.binary(max_size=3000)), value=st.one_of(st.none(), st.binary(max_size=30_000)),
       headers=st.integers(0, 300), limit=st.integers(4_000, 40_000))
def test_every_dead_letter_fits_its_limit(key, value, headers, limit):
    out = dead_letter_message(REJ, msg(key, value, headers=headers, header_bytes=20), worker="w", max_bytes=limit)
    assert len(out.value) + len(out.key or b"") <= limit
    dl = decode(out)
    if not dl["truncated"]:  # kept whole: replay gets the exact original back
        assert (base64.b64decode(dl["value_b64"]) if dl["value_b64"] is not None else None) == value


@pytest.mark.parametrize("limit", [1_000_000, 100_000])
def test_tombstones_and_missing_keys_survive(limit):
    dl = decode(dead_letter_message(REJ, msg(None, None), worker="w", max_bytes=limit))
    assert dl["value_b64"] is None and dl["value_size"] is None and dl["key_size"] is None
