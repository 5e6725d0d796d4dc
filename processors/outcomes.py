"""What happens to each input of the document stage: typed outcomes, decided by pure rules.

One input moves down this chain, each step a small frozen value the next one matches on::

    InputMessage ─ decide_input ─► Rejected | Deleted | Candidate
    Candidate    ─ supersede    ─► Superseded            (a later message of its source is in the batch)
    Candidate    ─ gate         ─► Gated | Scored        (the quality score against the threshold)
    Scored       ─ extract      ─► Rejected | Extracted  (patterns and, for code of a set, a structure summary)
    Extracted    ─ embedded     ─► Embedded              (one vector per pattern, new or reused from the store)

The final values (``Rejected``, ``Deleted``, ``Superseded``, ``Gated``, ``Embedded``) are what the
stage publishes: :mod:`processors.events` turns each into its messages. Nothing here does I/O:
the caller runs the model and the store and passes their answers in.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import numpy as np

from processors.ids import point_id
from processors.quality.scorers import is_gated
from processors.results import Rejection
from processors.validate import parse_document, source_id_from_key
from processors.patterns import DetectorFailure, Extraction
from schemas.documents import Document, DocumentInfo, DocumentType
from schemas.messages import InputMessage
from schemas.metrics import ExperimentScores
from schemas.patterns import PatternRecord, QualityScore
from schemas.points import StoredPoint
from schemas.structure import StructureSummary

log = logging.getLogger(__name__)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


@dataclass(frozen=True)
class Rejected:
    """The input cannot be used; it goes to the DLQ with the reason."""

    msg: InputMessage
    rejection: Rejection
    source_id: str | None = None  # from the key, for metrics only: it never drives store changes
    stage_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Deleted:
    """A tombstone: the source's points must all go."""

    msg: InputMessage
    source_id: str


@dataclass(frozen=True)
class Candidate:
    """A valid document, to be scored."""

    msg: InputMessage
    doc: Document
    stage_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Superseded:
    """A later message of the same source in the batch replaces this one."""

    msg: InputMessage
    source_id: str
    doc: Document | None = None


@dataclass(frozen=True)
class Gated:
    """Scored below the quality threshold: not indexed, and whatever the source had is removed."""

    msg: InputMessage
    doc: Document
    quality: QualityScore
    stage_ms: dict[str, float] = field(default_factory=dict)
    experiment: ExperimentScores | None = None  # both scores, while a model experiment runs


@dataclass(frozen=True)
class Scored:
    """Passed the gate; patterns come next."""

    msg: InputMessage
    doc: Document
    quality: QualityScore
    stage_ms: dict[str, float] = field(default_factory=dict)
    experiment: ExperimentScores | None = None  # both scores, while a model experiment runs


@dataclass(frozen=True)
class Extracted:
    """Patterns found; they need vectors."""

    msg: InputMessage
    doc: Document
    quality: QualityScore
    patterns: tuple[PatternRecord, ...]
    summary: StructureSummary | None = None  # code of a set: what the set stage merges across files
    failures: tuple[DetectorFailure, ...] = ()  # detectors that failed (their findings are missing)
    stage_ms: dict[str, float] = field(default_factory=dict)
    experiment: ExperimentScores | None = None


@dataclass(frozen=True)
class Embedded:
    """Ready to index: every pattern with its vector."""

    source: Extracted
    vectors: np.ndarray
    reused: bool = False  # the store already held these exact points: the model was skipped
    stage_ms: dict[str, float] = field(default_factory=dict)


Decision = Union[Rejected, Deleted, Candidate]
Final = Union[Rejected, Deleted, Superseded, Gated, Embedded]


def decide_input(msg: InputMessage, *, max_bytes: int) -> Decision:
    """Validate one input: a tombstone, a document, or a rejection (never raises for bad input)."""
    if msg.value is None:
        sid = source_id_from_key(msg.key)
        if sid is None:
            return Rejected(msg, Rejection("validate", "tombstone_without_key",
                                           "null value (tombstone) without a key: cannot tell which source was deleted"))
        return Deleted(msg, sid)
    t = time.perf_counter()
    parsed = parse_document(msg.value, msg.key, max_bytes=max_bytes)
    stage_ms = {"validate": _ms(t)}
    if isinstance(parsed, Rejection):
        return Rejected(msg, parsed, source_id_from_key(msg.key), stage_ms)
    return Candidate(msg, parsed, stage_ms)


def supersede(decisions: Sequence[Decision]) -> list[Decision | Superseded]:
    """Within one batch only the last message of a source counts; earlier ones become ``Superseded``.

    >>> from schemas.messages import InputMessage
    >>> m = lambda o, v: InputMessage(key=b"s", value=v, headers=[], topic="t", partition=0, offset=o)
    >>> [type(d).__name__ for d in supersede([decide_input(m(0, b'{"content": "a"}'), max_bytes=99),
    ...                                       decide_input(m(1, None), max_bytes=99)])]
    ['Superseded', 'Deleted']
    """
    def sid(d: Decision) -> str | None:
        return d.source_id if isinstance(d, Deleted) else d.doc.id if isinstance(d, Candidate) else None

    last = {sid(d): i for i, d in enumerate(decisions) if sid(d) is not None}
    out: list[Decision | Superseded] = []
    for i, d in enumerate(decisions):
        key = sid(d)
        if key is not None and last[key] != i:
            out.append(Superseded(d.msg, key, d.doc if isinstance(d, Candidate) else None))
        else:
            out.append(d)
    return out


def gate(candidate: Candidate, quality: QualityScore, threshold: float, quality_ms: float = 0.0,
         experiment: ExperimentScores | None = None) -> Gated | Scored:
    """Below ``threshold`` a document is gated; otherwise it goes on to extraction. ``quality`` is
    the served score (the candidate's, for a document in a running experiment's candidate arm)."""
    stage_ms = {**candidate.stage_ms, "quality": round(quality_ms, 3)}
    if is_gated(quality, threshold):
        return Gated(candidate.msg, candidate.doc, quality, stage_ms, experiment)
    return Scored(candidate.msg, candidate.doc, quality, stage_ms, experiment)


Extractor = Callable[[Document], Extraction]


def extract(scored: Scored, extractor: Extractor) -> Extracted | Rejected:
    """Run the extractor; keep the structure summary only for code of a set (the set stage's input).

    Extractors fall back to passages and report failing detectors as values; one that still raises
    rejects the document (stage ``extract``).
    """
    t = time.perf_counter()
    try:
        found = extractor(scored.doc)
    except Exception as exc:  # noqa: BLE001 - extractors must not stop the stage; the DLQ says why
        log.exception("extractor failed on %s", scored.doc.id)
        return Rejected(scored.msg, Rejection("extract", "extractor_error", f"{type(exc).__name__}: {exc}"),
                        scored.doc.id, {**scored.stage_ms, "extract": _ms(t)})
    doc = scored.doc
    summary = found.summary if doc.set_id and doc.type == DocumentType.code else None
    return Extracted(scored.msg, doc, scored.quality, tuple(found.patterns), summary, tuple(found.failures),
                     {**scored.stage_ms, "extract": _ms(t)}, scored.experiment)


def reusable_vectors(doc: DocumentInfo, patterns: Sequence[PatternRecord], stored: Sequence[StoredPoint],
                     model_versions: dict[str, str]) -> np.ndarray | None:
    """The stored vectors, in pattern order, when the store holds exactly these points of this content.

    Same point ids, same source version, same texts and tags, same models: embedding again would
    give the same vectors, so a replay or a re-produce skips the model.
    """
    if not patterns or not stored or any(p.vector is None for p in stored):
        return None
    by_id = {p.id: p for p in stored}
    wanted = [point_id(doc.id, pat.key) for pat in patterns]
    if set(wanted) != set(by_id):
        return None
    for pid, pat in zip(wanted, patterns):
        payload = by_id[pid].payload
        if (payload.get("source_version") != doc.version or payload.get("model_versions") != model_versions
                or payload.get("text") != pat.text or payload.get("tags") != [t.model_dump() for t in pat.tags]):
            return None
    return np.asarray([by_id[pid].vector for pid in wanted], dtype=np.float32)


def embedded(x: Extracted, vectors: np.ndarray, *, reused: bool, embed_ms: float = 0.0) -> Embedded:
    if len(vectors) != len(x.patterns):
        raise ValueError(f"{len(vectors)} vectors for {len(x.patterns)} patterns of {x.doc.id}")
    return Embedded(x, vectors, reused, {**x.stage_ms, "embed": round(embed_ms, 3)})
