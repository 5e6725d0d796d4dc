"""Set-level design patterns: detection over the structural summaries of every file of one set.

Documents produced together share a ``set_id`` (``assay produce DIR`` sets it to the folder).
A pattern's classes often live in different files — an observer interface in one, its subjects
in others — so no single document shows it. The set agent keeps each member
(:class:`~schemas.sets.SetMember`: version, uri, language, quality and typed structural summary)
compressed (:func:`pack_member` / :func:`unpack_member`) and calls :func:`set_patterns` on all of
them whenever a member changes. State written in the shape before versioning is converted on read;
state it cannot read is never misread: the member is kept with ``unreadable`` set and no summary.

What a set yields (all keyed deterministically, so an update overwrites and never duplicates):

* one ``design_pattern`` record per detection whose classes come from **two or more** files
  (key ``design_pattern:<pattern>:<sorted participants>``); detections inside one file are
  already on that file's own records and are not repeated. Classes are matched across files by
  simple name, so a cross-file detection is dropped when one of its class names is defined in
  more than one file (unrelated classes would be merged) or belongs to test code;
* one ``set`` record (key ``set_overview``) naming every pattern detected in the set, cross-file
  or not, with the files involved — so "which patterns does this project use" is one search.

Records are addressed under the pseudo source :func:`set_source_id` (``set:<set_id>``), which is
also their ``uri``. Spans cannot point into one document: they are ``1–1`` with ``section``
listing the files, and every record's text and tag evidence name the files and lines.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from collections import defaultdict
from collections.abc import Mapping

import orjson
from pydantic import ValidationError

from processors.patterns.records import clip
from processors.patterns.design import Detection, detect_design_patterns
from processors.patterns.outcome import Extraction
from schemas.patterns import PatternRecord, PatternTag, Span
from schemas.sets import SetMember

__all__ = ["EXTRACTOR", "OVERVIEW_KEY", "pack_member", "set_patterns", "set_source_id", "set_version",
           "unpack_member"]

log = logging.getLogger(__name__)

EXTRACTOR = "set_patterns/1.0.0"
OVERVIEW_KEY = "set_overview"
_SOURCE_PREFIX = "set:"
_MAX_FILES_LISTED = 12


def set_source_id(set_id: str) -> str:
    """The pseudo source id (and uri) of a set's own patterns.

    >>> set_source_id("file:///src/shop")
    'set:file:///src/shop'
    """
    return _SOURCE_PREFIX + set_id


def pack_member(member: SetMember) -> bytes:
    """A member as compressed JSON: the value the set agent stores in ``sets.state``.

    Summaries of real modules are 2–120 KB of JSON; zlib brings them to a fraction of that.

    >>> unpack_member(pack_member(SetMember(source_version="v1"))).source_version
    'v1'
    """
    return zlib.compress(member.model_dump_json().encode(), 6)


_ENVELOPE = ("source_version", "uri", "language", "quality")


def unpack_member(blob: bytes) -> SetMember:
    """A stored member, whatever version wrote it: read, converted (the version 1 dict), or marked.

    A member that cannot be read is returned without summary, with ``unreadable`` saying why (and
    whatever of its version, uri, language and quality could be read), so detection never misreads it.

    >>> old = zlib.compress(orjson.dumps({"source_version": "v1", "summary": {"version": 1, "language": "go"}}))
    >>> unpack_member(old).summary.schema_version
    2
    >>> m = unpack_member(zlib.compress(orjson.dumps({"source_version": "v2", "summary": {"schema_version": 9}})))
    >>> m.summary, m.source_version, m.unreadable is not None
    (None, 'v2', True)
    """
    try:
        data = orjson.loads(zlib.decompress(blob))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        return _unreadable({}, f"not compressed JSON: {exc}")
    try:
        return SetMember.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        return _unreadable(data, f"{exc.error_count()} validation error(s), first at {where}: {first['msg']}")


def _unreadable(data: object, reason: str) -> SetMember:
    log.warning("set member state not readable (%s): kept without summary until its document is produced again",
                reason)
    envelope = {k: data.get(k) for k in _ENVELOPE} if isinstance(data, dict) else {}
    try:
        return SetMember(**envelope, unreadable=reason)
    except ValidationError:
        return SetMember(unreadable=reason)


def set_version(members: Mapping[str, SetMember]) -> str:
    """A content hash of the set: its member ids and their versions (order-independent).

    >>> one, two = SetMember(source_version="1"), SetMember(source_version="2")
    >>> set_version({"a": one}) == set_version({"a": one}), set_version({"a": one}) == set_version({"a": two})
    (True, False)
    """
    h = hashlib.sha256()
    for sid in sorted(members):
        h.update(sid.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
        h.update(str(members[sid].source_version or "").encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def _class_locations(members: Mapping[str, SetMember]) -> dict[str, list[tuple[str, str, int, int]]]:
    """Simple class (and module function) name → [(source id, uri, first line, last line)]."""
    where: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    for sid in sorted(members):
        member = members[sid]
        summary = member.summary
        if summary is None:
            continue
        uri = member.uri or sid
        for items in (summary.classes, summary.functions):
            for item in items:
                name = item.name
                if not name:
                    continue
                loc = (sid, uri, int(item.line or 1), int(item.end_line or item.line or 1))
                if loc not in where[name]:
                    where[name].append(loc)
    return where


def _files_of(det: Detection, where: Mapping[str, list[tuple[str, str, int, int]]]) -> list[tuple[str, str, int, int]]:
    out: list[tuple[str, str, int, int]] = []
    for p in det.participants:
        for loc in where.get(p, []):
            if loc not in out:
                out.append(loc)
    return out


def _location_lines(det: Detection, where: Mapping[str, list[tuple[str, str, int, int]]]) -> list[str]:
    lines = []
    for p in det.participants:
        for _sid, uri, start, end in where.get(p, [])[:3]:
            lines.append(f"{p}: {uri} lines {start}-{end}")
    return lines[:_MAX_FILES_LISTED]


_TEST_PATH = re.compile(r"(^|[/\\])(tests?|idle_test|testing)[/\\]|(^|[/\\])test_[^/\\]*$|_tests?\.[a-z]+$", re.I)


def _doubtful(det: Detection, where: Mapping[str, list[tuple[str, str, int, int]]]) -> str | None:
    """Why a cross-file detection should not be reported, or None.

    Across files, classes are matched by simple name. A name defined in two files (two ``Command``
    classes in unrelated packages) would merge unrelated classes, and test code imitates the
    structure it tests: such detections are left out of the set's records.
    """
    for p in det.participants:
        files = {uri for _sid, uri, _s, _e in where.get(p, [])}
        if len(files) > 1:
            return f"{p} is defined in {len(files)} files"
        if p.endswith(("Test", "Tests", "TestCase")) or any(_TEST_PATH.search(f) for f in files):
            return f"{p} is test code"
    return None


def _uris(locs: list[tuple[str, str, int, int]]) -> list[str]:
    return list(dict.fromkeys(uri for _sid, uri, _s, _e in locs))


def set_patterns(set_id: str, members: Mapping[str, SetMember], *, max_chars: int = 1200) -> Extraction:
    """The set-level records of one set (see the module doc; none when nothing is detected) and the
    detectors that failed.

    ``members`` maps source id → member (as unpacked from the table). Detection merges same-named
    classes across files (see :func:`~processors.patterns.design.detect.detect_design_patterns`).
    """
    summaries = [m.summary for _sid, m in sorted(members.items()) if m.summary is not None]
    if not summaries:
        return Extraction()
    found = detect_design_patterns(summaries, document_id=set_source_id(set_id))
    detections = found.detections
    if not detections:
        return Extraction(failures=found.failures)
    where = _class_locations(members)
    languages = sorted({str(m.language or (m.summary.language if m.summary else "") or "")
                        for m in members.values()} - {""})
    language = languages[0] if len(languages) == 1 else None

    records: list[PatternRecord] = []
    overview_lines: list[str] = []
    overview_tags: list[PatternTag] = []
    for det in detections:
        locs = _files_of(det, where)
        uris = _uris(locs)
        shown = ", ".join(uris[:_MAX_FILES_LISTED])
        overview_lines.append(f"- {det.pattern.replace('_', ' ')}: {', '.join(det.participants[:8])}"
                              f" ({shown or 'unknown files'})")
        if len(uris) >= 2 and _doubtful(det, where):
            continue  # an ambiguous name or test code: not this set's design
        base = det.tag()
        overview_tags.append(base)
        if len(uris) < 2:
            continue  # single-file: already on that file's records
        evidence = [*base.evidence, *_location_lines(det, where)][:16]
        text = det.describe() + "\nfiles: " + shown
        records.append(PatternRecord(
            key=det.key, kind="design_pattern", name=det.pattern,
            span=Span(start_line=1, end_line=1, section="files: " + shown),
            text=clip(text, max_chars), snippet="\n".join(_location_lines(det, where)),
            language=language,
            tags=[base.model_copy(update={"evidence": evidence}),
                  PatternTag(name="cross_file", confidence=1.0, evidence=uris[:_MAX_FILES_LISTED])],
            extractor=EXTRACTOR,
        ))
    n_files = len(members)
    header = (f"Design patterns in the code set {set_id} ({n_files} file{'s' if n_files != 1 else ''}"
              f"{', ' + ', '.join(languages) if languages else ''}):")
    overview = PatternRecord(
        key=OVERVIEW_KEY, kind="set", name=set_id,
        span=Span(start_line=1, end_line=1, section=f"{n_files} files"),
        text=clip("\n".join([header, *overview_lines]), max_chars),
        snippet="\n".join(overview_lines)[:4000], language=language,
        tags=_merge_tags(overview_tags), extractor=EXTRACTOR,
    )
    return Extraction((overview, *records), failures=found.failures)


def _merge_tags(tags: list[PatternTag]) -> list[PatternTag]:
    """One tag per pattern name: the highest confidence, evidence of every instance (capped)."""
    by_name: dict[str, PatternTag] = {}
    for t in tags:
        cur = by_name.get(t.name)
        if cur is None:
            by_name[t.name] = t
        else:
            by_name[t.name] = PatternTag(name=t.name, confidence=max(cur.confidence, t.confidence),
                                         evidence=[*cur.evidence, *t.evidence][:16])
    return list(by_name.values())
