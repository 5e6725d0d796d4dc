"""Kafka records as plain values, independent of the client that read or will write them.

An agent turns what it consumed into :class:`InputMessage` values and sends :class:`OutMessage`
values; everything between is pure. An output names the input that caused it, so an output the
broker refuses becomes a dead letter of that input instead of an error that stops the agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class InputMessage:
    """A consumed record: its bytes and where it came from."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None

    @property
    def size(self) -> int:
        """Bytes of key, value and headers together (what the broker accepted)."""
        return (len(self.key or b"") + len(self.value or b"")
                + sum(len(k.encode("utf-8", "surrogatepass")) + len(v or b"") for k, v in self.headers))

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class OutMessage:
    """One record to publish. ``cause`` is the input it stems from (None for a batch-level event)."""

    role: str  # a topic role of infra.kafka.topics (patterns.enriched, sources.dlq, …), not a topic name
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    cause: InputMessage | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return len(self.key or b"") + len(self.value or b"")
