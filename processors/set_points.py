"""What a set's own patterns are attached to: a pseudo source, its version and its quality.

The set stage indexes each set's records (:func:`processors.patterns.sets.set_patterns`) under the
pseudo source ``set:<set_id>``, like any source: the indexer compares, writes and announces them.
"""

from __future__ import annotations

from collections.abc import Mapping

from processors.patterns.sets import set_source_id, set_version
from processors.quality.baseline import label_for
from schemas.documents import DocumentInfo, DocumentType
from schemas.patterns import QualityScore
from schemas.sets import SetMember

#: Version of the set-level "quality": the mean of the members' scores.
SET_QUALITY_MODEL = "set-members-mean/1.0.0"


def set_document(set_id: str, members: Mapping[str, SetMember]) -> DocumentInfo:
    """The pseudo source a set's own patterns belong to (id and uri ``set:<set_id>``).

    >>> d = set_document("s", {"a": SetMember(source_version="1", language="python")})
    >>> d.id, d.uri, d.language, d.set_id
    ('set:s', 'set:s', 'python', 's')
    """
    sid = set_source_id(set_id)
    langs = sorted({m.language for m in members.values() if m.language})
    return DocumentInfo(id=sid, type=DocumentType.code, version=set_version(members), uri=sid,
                        language=langs[0] if len(langs) == 1 else None, set_id=set_id, title=set_id)


def set_quality(members: Mapping[str, SetMember]) -> QualityScore:
    """The mean quality of the members (3.0 when none has a score).

    >>> set_quality({"a": SetMember(quality=4.0), "b": SetMember(quality=2.0)}).score
    3.0
    """
    scores = [m.quality for m in members.values() if m.quality is not None]
    score = round(sum(scores) / len(scores), 3) if scores else 3.0
    return QualityScore(score=score, label=label_for(score), model_version=SET_QUALITY_MODEL)
