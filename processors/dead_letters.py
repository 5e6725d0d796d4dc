"""Turn a rejected input message into a dead-letter record that keeps its original bytes.

The record must fit the producer's message limit whatever arrived (a 3 MB value, a 100 kB key,
10,000 headers): the original is kept whole when it fits, otherwise cut to a prefix with its size
and sha256. The record's Kafka key is the original key, or its hash when that is too long.
"""

from __future__ import annotations

import base64
import hashlib
import time

import orjson

from processors.replay import replay_of_header
from processors.results import Rejection
from schemas.dlq import DeadLetter, TruncatedPart
from schemas.messages import InputMessage, OutMessage
from schemas.points import InputRef

#: Longest original key used as the dead letter's own Kafka key; longer ones are replaced by a hash.
MAX_DLQ_KEY_BYTES = 1024
#: Longest ``reason`` kept (exception texts can be long).
MAX_REASON_CHARS = 2000
#: Room left in the limit for the record's framing, key and timestamps.
_FRAMING_BYTES = 512
#: Share of the budget the key and the headers may take before the value is cut first.
_KEY_SHARE = 8
_HEADERS_SHARE = 8


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _raw_budget(b64_chars: int) -> int:
    """Raw bytes whose base64 fits in ``b64_chars`` characters."""
    return max(b64_chars, 0) // 4 * 3


def dlq_key(key: bytes | None) -> bytes | None:
    """The dead letter's Kafka key: the original key, or ``sha256:<hex>`` when it is longer than 1 kB.

    >>> dlq_key(b"doc-1")
    b'doc-1'
    >>> dlq_key(b"k" * 2000)[:7]
    b'sha256:'
    """
    if key is None or len(key) <= MAX_DLQ_KEY_BYTES:
        return key
    return b"sha256:" + hashlib.sha256(key).hexdigest().encode()


def dead_letter(rejection: Rejection, msg: InputMessage, *, worker: str, max_bytes: int = 1_000_000,
                replay_of: str | None = None) -> DeadLetter:
    """Everything needed to understand and replay ``msg``, within ``max_bytes`` when serialized.

    >>> m = InputMessage(key=b"k", value=b"{", headers=[], topic="t", partition=0, offset=7)
    >>> dl = dead_letter(Rejection("decode", "invalid_json", "bad"), m, worker="w")
    >>> (dl.key_b64, dl.value_b64, dl.error_class, dl.offset, dl.truncated)
    ('aw==', 'ew==', 'invalid_json', 7, [])
    >>> big = InputMessage(key=b"k", value=b"x" * 5000, headers=[], topic="t", partition=0, offset=8)
    >>> dl = dead_letter(Rejection("decode", "oversize", "too big"), big, worker="w", max_bytes=2000)
    >>> dl.truncated, dl.value_size, len(encode_dead_letter(dl)) <= 2000
    (['value'], 5000, True)
    """
    reason = rejection.reason if len(rejection.reason) <= MAX_REASON_CHARS else (
        rejection.reason[:MAX_REASON_CHARS] + f"… ({len(rejection.reason)} characters)")
    record = DeadLetter(
        key_b64=_b64(msg.key), value_b64=_b64(msg.value),
        headers=[(name, _b64(v) or "") for name, v in msg.headers],
        key_size=None if msg.key is None else len(msg.key),
        value_size=None if msg.value is None else len(msg.value),
        headers_count=len(msg.headers),
        key_sha256=_sha(msg.key), value_sha256=_sha(msg.value),
        stage=rejection.stage, error_class=rejection.error_class, reason=reason,
        topic=msg.topic, partition=msg.partition, offset=msg.offset, timestamp_ms=msg.timestamp_ms,
        worker=worker, rejected_at=time.time(),
        replay_of=replay_of if replay_of is not None else replay_of_header(msg.headers),
    )
    budget = max_bytes - _FRAMING_BYTES - len(dlq_key(msg.key) or b"")
    if len(encode_dead_letter(record)) <= budget:
        return record
    return _fit(record, msg, budget)


def _fit(record: DeadLetter, msg: InputMessage, budget: int) -> DeadLetter:
    """Cut key, headers and value (in that order of precedence) until the record fits ``budget``."""
    bare = record.model_copy(update={"key_b64": "", "value_b64": "", "headers": [],
                                     "truncated": ["key", "value", "headers"]})
    room = budget - len(encode_dead_letter(bare))
    truncated: list[TruncatedPart] = []
    key_b64 = record.key_b64
    if key_b64 is not None and len(key_b64) > room // _KEY_SHARE:
        key_b64 = _b64((msg.key or b"")[:_raw_budget(room // _KEY_SHARE)])
        truncated.append("key")
    room -= len(key_b64 or "")
    headers: list[tuple[str, str]] = []
    header_room = room // _HEADERS_SHARE
    for name, value in record.headers:
        cost = len(orjson.dumps([name, value])) + 1
        if cost > header_room:
            break
        headers.append((name, value))
        header_room -= cost
    if len(headers) < len(record.headers):
        truncated.append("headers")
    room -= len(orjson.dumps(headers))
    value_b64 = record.value_b64
    if value_b64 is not None and len(value_b64) > room:
        value_b64 = _b64((msg.value or b"")[:_raw_budget(room)])
        truncated.append("value")
    return record.model_copy(update={"key_b64": key_b64, "value_b64": value_b64, "headers": headers,
                                     "truncated": sorted(truncated, key=["key", "value", "headers"].index)})


def encode_dead_letter(record: DeadLetter) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def dead_letter_message(rejection: Rejection, msg: InputMessage, *, worker: str, max_bytes: int,
                        replay_of: str | None = None) -> OutMessage:
    """The ``sources.dlq`` record for ``msg``, ready to send."""
    record = dead_letter(rejection, msg, worker=worker, max_bytes=max_bytes, replay_of=replay_of)
    return OutMessage("sources.dlq", dlq_key(msg.key), encode_dead_letter(record), cause=msg)


def dead_letter_of_reference(rejection: Rejection, source_id: str, original: InputRef, *, worker: str,
                             max_bytes: int) -> OutMessage:
    """A dead letter for an input this stage only knows by reference (topic, partition, offset).

    The value is not kept (``truncated`` names it, ``value_size`` says how large it was): ``assay dlq
    replay`` reads the original back from its topic.
    """
    key = source_id.encode("utf-8", "surrogatepass")
    stub = InputMessage(key=key, value=b"", headers=[], topic=original.topic, partition=original.partition,
                        offset=original.offset, timestamp_ms=original.timestamp_ms)
    record = dead_letter(rejection, stub, worker=worker, max_bytes=max_bytes)
    record = record.model_copy(update={"value_b64": None, "value_size": original.bytes, "value_sha256": None,
                                       "truncated": sorted({*record.truncated, "value"},
                                                           key=["key", "value", "headers"].index)})
    return OutMessage("sources.dlq", dlq_key(key), encode_dead_letter(record))
