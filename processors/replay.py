"""Choosing dead letters and rebuilding their originals, for ``assay dlq list | show | replay``.

A replayed record carries the header ``assay-replay-of: <dlq partition>:<offset>``. When the
document stage rejects it again, its new dead letter has ``replay_of`` set to that value, and
``replay`` skips such letters unless asked: a record that is still bad comes back once, not in a loop.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from schemas.dlq import DeadLetter

REPLAY_HEADER = "assay-replay-of"

Headers = list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class StoredDeadLetter:
    """A dead letter and where it sits on the DLQ topic."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def replay_id(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters a command works on; empty tuples match everything."""

    error_classes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    since: float | None = None  # rejected_at, epoch seconds
    until: float | None = None
    include_replayed: bool = True

    def matches(self, letter: DeadLetter) -> bool:
        """
        >>> dl = DeadLetter(stage="decode", error_class="invalid_json", reason="r", topic="t", partition=0,
        ...                 offset=1, worker="w", rejected_at=100.0, replay_of="0:3")
        >>> DeadLetterFilter(error_classes=("invalid_json",), since=50).matches(dl)
        True
        >>> DeadLetterFilter(include_replayed=False).matches(dl), DeadLetterFilter(stages=("embed",)).matches(dl)
        (False, False)
        """
        return ((not self.error_classes or letter.error_class in self.error_classes)
                and (not self.stages or letter.stage in self.stages)
                and (self.since is None or letter.rejected_at >= self.since)
                and (self.until is None or letter.rejected_at < self.until)
                and (self.include_replayed or letter.replay_of is None))


@dataclass(frozen=True)
class Original:
    """The rejected record as it was produced (key, value, headers)."""

    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def kept_original(letter: DeadLetter) -> Original:
    """What the dead letter kept: the whole original when ``truncated`` is empty, else prefixes."""
    return Original(_unb64(letter.key_b64), _unb64(letter.value_b64),
                    [(name, base64.b64decode(v)) for name, v in letter.headers])


def mismatch(letter: DeadLetter, read_back: Original) -> str | None:
    """Why ``read_back`` (read from the letter's topic/partition/offset) is not its original, or None.

    >>> dl = DeadLetter(stage="decode", error_class="oversize", reason="r", topic="t", partition=0, offset=1,
    ...                 worker="w", rejected_at=1.0, value_size=3, value_sha256=hashlib.sha256(b"abc").hexdigest(),
    ...                 truncated=["value"])
    >>> mismatch(dl, Original(None, b"abc")), mismatch(dl, Original(None, b"abd"))
    (None, 'value sha256 differs from the dead letter')
    >>> mismatch(dl, Original(None, b"ab"))
    'value is 2 bytes, the dead letter says 3'
    """
    # A letter written by reference (a stage that only knew topic/partition/offset) knows the value's size.
    by_reference = "value" in letter.truncated and letter.value_sha256 is None and letter.value_size is not None
    checks = [("value", letter.value_size, letter.value_sha256, read_back.value)]
    if not by_reference:
        checks.insert(0, ("key", letter.key_size, letter.key_sha256, read_back.key))
    for part, size, sha, data in checks:
        have = None if data is None else len(data)
        if size != have:
            return f"{part} is {have if have is not None else 'null'} bytes, the dead letter says {size}"
        if sha is not None and data is not None and hashlib.sha256(data).hexdigest() != sha:
            return f"{part} sha256 differs from the dead letter"
    if not by_reference and len(read_back.headers) != letter.headers_count:
        return f"{len(read_back.headers)} headers, the dead letter says {letter.headers_count}"
    return None


def replay_of_header(headers: Sequence[tuple[str, bytes | None]]) -> str | None:
    """The replay id a record carries, if it is a replay.

    >>> replay_of_header([("trace", b"x"), (REPLAY_HEADER, b"0:12")]), replay_of_header([])
    ('0:12', None)
    """
    for name, value in headers:
        if name == REPLAY_HEADER and value is not None:
            return value.decode("utf-8", "replace")
    return None


def replay_headers(headers: Headers, replay_id: str) -> Headers:
    """The original headers, with this replay's id instead of any earlier one.

    >>> replay_headers([("a", b"1"), (REPLAY_HEADER, b"0:1")], "0:9")
    [('a', b'1'), ('assay-replay-of', b'0:9')]
    """
    return [(n, v) for n, v in headers if n != REPLAY_HEADER] + [(REPLAY_HEADER, replay_id.encode())]


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_moment(text: str, now: float) -> float:
    """A point in time as epoch seconds: a duration ago (``90s``, ``30m``, ``2h``, ``7d``, ``1w``) or
    an ISO 8601 date/time (UTC unless it names a zone).

    >>> parse_moment("2h", now=10_000.0)
    2800.0
    >>> parse_moment("2025-01-31T00:00:00Z", now=0), parse_moment("2025-01-31", now=0)
    (1738281600.0, 1738281600.0)
    >>> parse_moment("yesterday", now=0)
    Traceback (most recent call last):
    ...
    ValueError: 'yesterday' is neither a duration like 30m, 2h, 7d nor an ISO date/time like 2025-01-31T12:00:00Z
    """
    t = text.strip()
    m = _DURATION.match(t.lower())
    if m:
        return now - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        when = datetime.fromisoformat(t.replace("Z", "+00:00") if t.endswith("Z") else t)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration like 30m, 2h, 7d nor an ISO date/time like "
                         "2025-01-31T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()
