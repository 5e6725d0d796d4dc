"""Validation never raises, whatever a record holds: it returns a document, a rejection or a delete."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from processors.outcomes import Candidate, Deleted, Rejected, decide_input
from processors.results import Rejection
from processors.validate import parse_document
from schemas.documents import Document
from schemas.messages import InputMessage
from tests.fuzz_inputs import hostile_records, source_records

headers = st.lists(st.tuples(st.text(max_size=20), st.one_of(st.none(), st.binary(max_size=20))), max_size=5)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=source_records(), max_bytes=st.sampled_from([1, 64, 1_000_000]))
def test_parse_document_returns_a_document_or_a_rejection(record, max_bytes):
    key, value = record
    result = parse_document(value, key, max_bytes=max_bytes)
    assert isinstance(result, (Document, Rejection))
    if isinstance(result, Document):
        assert result.content.strip() and result.id and len(result.version) == 16
    else:
        assert result.error_class and len(result.reason) > 10


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=source_records(), headers=headers, offset=st.integers(0, 2**62))
def test_decide_input_never_raises(record, headers, offset):
    key, value = record
    msg = InputMessage(key=key, value=value, headers=headers, topic="sources.raw", partition=0, offset=offset)
    decision = decide_input(msg, max_bytes=1_000_000)
    assert isinstance(decision, (Candidate, Deleted, Rejected))
    if value is None:
        assert isinstance(decision, (Deleted, Rejected))


def test_decide_input_never_raises_on_the_hostile_corpus():
    for h in hostile_records():
        msg = InputMessage(key=h.key, value=h.value, headers=h.headers, topic="sources.raw", partition=0, offset=0)
        assert isinstance(decide_input(msg, max_bytes=1_000_000), (Candidate, Deleted, Rejected)), h.name
