"""Read one ``quality.feedback`` record: a typed :class:`~schemas.feedback.Feedback` or a rejection.

Pure, like :mod:`processors.validate`: nothing raises for bad input; the caller dead-letters a
:class:`~processors.results.Rejection`.

>>> parse_feedback(b'{"source_id": "a", "label": "HQ"}').label
'HQ'
>>> parse_feedback(b'{"source_id": "a"}').error_class
'schema_violation'
>>> class_of(parse_feedback(b'{"content": "x", "score": 2.2}'))
'LQ_CLOSE'
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from processors.quality.classes import CLASS_MEANS, CLASSES
from processors.results import Rejection
from schemas.feedback import Feedback

MAX_FEEDBACK_BYTES = 1_000_000


def parse_feedback(value: bytes | None, max_bytes: int = MAX_FEEDBACK_BYTES) -> Feedback | Rejection:
    if value is None:
        return Rejection("feedback", "tombstone", "null value: a feedback record must carry a label")
    if len(value) > max_bytes:
        return Rejection("feedback", "oversize", f"feedback record is {len(value)} bytes, over {max_bytes}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Rejection("feedback", "invalid_json", f"value is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return Rejection("feedback", "not_an_object", "a feedback record is a JSON object")
    try:
        return Feedback.model_validate(obj)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or '(record)'}: {e.get('msg')}"
                           for e in exc.errors()[:10])
        return Rejection("feedback", "schema_violation", f"feedback does not match Feedback: {errors}")


def class_of(feedback: Feedback) -> str:
    """The quality class of a verdict: its label, or the class whose mean level is nearest its score."""
    if feedback.label is not None:
        return feedback.label
    assert feedback.score is not None
    return CLASSES[int(abs(CLASS_MEANS - feedback.score).argmin())]
