"""Choosing dead letters, rebuilding their originals, and the replay id a rejected replay carries."""

from __future__ import annotations

import base64

import orjson

from processors.dead_letters import dead_letter, dead_letter_of_reference
from processors.events import compute_messages
from processors.outcomes import Rejected
from processors.replay import (REPLAY_HEADER, DeadLetterFilter, Original, kept_original, mismatch,
                               replay_headers)
from processors.results import Rejection
from schemas.dlq import DeadLetter
from schemas.messages import InputMessage
from schemas.points import InputRef


def message(value: bytes, headers: list[tuple[str, bytes | None]] | None = None) -> InputMessage:
    return InputMessage(key=b"doc-1", value=value, headers=headers or [], topic="sources.raw", partition=1,
                        offset=42)


def test_a_whole_letter_gives_back_its_original_bytes():
    original = message(b"\xff{not json", [("trace", b"abc"), ("empty", None)])
    letter = dead_letter(Rejection("decode", "invalid_utf8", "bad"), original, worker="w")
    kept = kept_original(letter)
    assert (kept.key, kept.value) == (b"doc-1", b"\xff{not json")
    assert kept.headers == [("trace", b"abc"), ("empty", b"")]


def test_a_truncated_letter_is_checked_against_the_record_read_back():
    big = message(b"x" * 50_000)
    letter = dead_letter(Rejection("decode", "oversize", "too big"), big, worker="w", max_bytes=5_000)
    assert letter.truncated == ["value"]
    assert mismatch(letter, Original(b"doc-1", b"x" * 50_000)) is None
    assert "sha256 differs" in mismatch(letter, Original(b"doc-1", b"y" * 50_000))
    assert "bytes, the dead letter says" in mismatch(letter, Original(b"doc-1", b"x" * 10))
    assert "key" in mismatch(letter, Original(b"doc-2", b"x" * 50_000))


def test_a_letter_by_reference_is_checked_by_the_value_size_only():
    ref = InputRef(topic="sources.raw", partition=0, offset=3, timestamp_ms=None, bytes=120)
    out = dead_letter_of_reference(Rejection("store", "store_rejected", "refused"), "src", ref, worker="w",
                                   max_bytes=100_000)
    letter = DeadLetter.model_validate_json(out.value)
    assert mismatch(letter, Original(b"another-key", b"v" * 120, [("h", b"1")])) is None
    assert mismatch(letter, Original(b"src", b"v" * 121)) is not None


def test_filters_combine():
    def letter(error_class: str, stage: str, at: float, replay_of: str | None = None) -> DeadLetter:
        return DeadLetter(stage=stage, error_class=error_class, reason="r", topic="t", partition=0, offset=0,
                          worker="w", rejected_at=at, replay_of=replay_of)

    letters = [letter("invalid_json", "decode", 10), letter("oversize", "decode", 20),
               letter("inference_error", "embed", 30), letter("invalid_json", "decode", 40, replay_of="0:0")]
    pick = lambda f: [(d.error_class, d.rejected_at) for d in letters if f.matches(d)]  # noqa: E731
    assert pick(DeadLetterFilter(error_classes=("invalid_json",))) == [("invalid_json", 10), ("invalid_json", 40)]
    assert pick(DeadLetterFilter(stages=("decode",), since=15, until=40)) == [("oversize", 20)]
    assert pick(DeadLetterFilter(include_replayed=False, stages=("decode",))) == [("invalid_json", 10),
                                                                                   ("oversize", 20)]


def test_a_replay_replaces_an_earlier_replay_id():
    headers = replay_headers([("a", b"1"), (REPLAY_HEADER, b"0:1"), ("b", None)], "0:7")
    assert headers == [("a", b"1"), ("b", None), (REPLAY_HEADER, b"0:7")]


def test_a_rejected_replay_gets_replay_of_in_its_new_dead_letter():
    replayed = message(b"{broken", [(REPLAY_HEADER, b"0:5")])
    plain = message(b"{broken")
    finals = [Rejected(replayed, Rejection("decode", "invalid_json", "bad")),
              Rejected(plain, Rejection("decode", "invalid_json", "bad"))]
    out = compute_messages(finals, embedding_variant="v", worker="w", max_dlq_bytes=100_000, batch_ms={},
                           texts_embedded=0)
    letters = [orjson.loads(m.value) for m in out if m.role == "sources.dlq"]
    assert [dl["replay_of"] for dl in letters] == ["0:5", None]
    # the original headers are kept as they were: a replay of this letter replaces the id
    assert letters[0]["headers"] == [[REPLAY_HEADER, base64.b64encode(b"0:5").decode()]]
