r"""Turn one raw ``sources.raw`` record into a :class:`~schemas.documents.Document` or a :class:`Rejection`.

Pure: no I/O, no settings, nothing raises for bad input. The caller (the stream agent) passes the
limits it read from settings and turns a :class:`Rejection` into a dead letter.

Tombstones (``value is None``) delete a source and are the caller's business: check for ``None``
first and use :func:`source_id_from_key`. :func:`parse_document` called with ``None`` returns a
``tombstone`` rejection rather than raising.

Checks, in order (``error_class`` in brackets; the first failing check wins):

========================  ==================  ===========================================================
stage ``decode``          ``oversize``        raw value longer than ``max_bytes`` (``ASSAY_MAX_DOCUMENT_BYTES``)
                          ``undecodable``     value is not UTF-8 (the reason gives the byte offset)
                          ``invalid_json``    not JSON (the reason gives orjson's message)
                          ``not_an_object``   JSON, but the top level is not an object
stage ``validate``        ``schema_violation`` fails :class:`SourceDocument` (``field: message; …``)
                          ``empty_content``   content empty or whitespace only
                          ``binary_content``  content holds NUL characters or mostly control characters
                          ``tombstone``       called with ``value=None`` (callers should not do that)
========================  ==================  ===========================================================

Resolution of the :class:`Document` fields:

* **id**: the ``id`` field; else the record key (UTF-8); else ``uri:<uri>``; else
  ``sha256:<first 16 hex of the content hash>``. When the key and the ``id`` field both exist
  and differ, the ``id`` field wins (the key only routes the record to a partition).
* **type**: the given type when it names a :class:`DocumentType` (case-insensitive; ``docs`` and
  ``arch`` are accepted aliases); otherwise :func:`infer_type`, with ``type_inferred=True``.
* **language**: the given one (lower-cased); else from the file name (:func:`infer_language`);
  else sniffed from the content for the few languages that can be told apart cheaply.
* **version**: sha256 of the UTF-8 content, first 16 hex characters.

>>> doc = parse_document(b'{"content": "def f():\\n    return 1\\n", "uri": "src/app/f.py"}', b"repo:f")
>>> doc.id, doc.type.value, doc.language, doc.type_inferred
('repo:f', 'code', 'python', True)
>>> parse_document(b'[1, 2]', None).error_class
'not_an_object'
"""

from __future__ import annotations

import hashlib
import re

import orjson
from pydantic import ValidationError

from processors.doc_kinds import SNIFF_CHARS, infer_language, infer_type
from processors.results import Rejection
from schemas.documents import Document, DocumentType, SourceDocument

__all__ = [
    "DEFAULT_MAX_BYTES",
    "STAGE_DECODE",
    "STAGE_VALIDATE",
    "content_version",
    "parse_document",
    "source_id_from_key",
]

DEFAULT_MAX_BYTES = 1_000_000  # same default as Settings.max_document_bytes
STAGE_DECODE = "decode"
STAGE_VALIDATE = "validate"

_MAX_LISTED_ERRORS = 10
_CONTROL_RATIO_LIMIT = 0.3  # share of control characters above which content counts as binary

# C0 controls except tab, LF, VT, FF, CR; plus DEL and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

_TYPE_ALIASES = {
    "doc": DocumentType.documentation,
    "docs": DocumentType.documentation,
    "arch": DocumentType.architecture,
    "text": DocumentType.general,
}


# --------------------------------------------------------------------------- public helpers

def content_version(content: str) -> str:
    """sha256 of the UTF-8 content, first 16 hex characters.

    >>> content_version("hello")
    '2cf24dba5fb0a30e'
    """
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def source_id_from_key(key: bytes | None) -> str | None:
    """The source id a record key names (UTF-8), or ``None`` for no/empty/undecodable key.

    Used for tombstones, whose value is ``None``; :func:`parse_document` resolves keys the same way.

    >>> source_id_from_key(b"repo:README.md")
    'repo:README.md'
    >>> source_id_from_key(b"") is None, source_id_from_key(b"\\xff") is None, source_id_from_key(None) is None
    (True, True, True)
    """
    if not key:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.strip() else None




# --------------------------------------------------------------------------- parse_document

def _reject(stage: str, error_class: str, reason: str) -> Rejection:
    return Rejection(stage=stage, error_class=error_class, reason=reason)


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for err in errors[:_MAX_LISTED_ERRORS]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(document)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    if len(errors) > _MAX_LISTED_ERRORS:
        parts.append(f"… and {len(errors) - _MAX_LISTED_ERRORS} more")
    return "; ".join(parts)


def _binary_reason(content: str) -> str | None:
    if "\x00" in content:
        return f"content contains NUL characters (first at character {content.index(chr(0))}); binary data is not accepted"
    sample = content[:SNIFF_CHARS]
    controls = len(_CONTROL_RE.findall(sample))
    if controls and controls / len(sample) > _CONTROL_RATIO_LIMIT:
        return (
            f"content looks binary: {controls} of the first {len(sample)} characters are control characters "
            f"(limit {_CONTROL_RATIO_LIMIT:.0%})"
        )
    return None


def _json_type_name(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def parse_document(value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document | Rejection:
    """Decode and validate one ``sources.raw`` record; never raises for bad input.

    ``value`` ``None`` is a tombstone: callers check for it first (see :func:`source_id_from_key`);
    passed here it yields a ``tombstone`` rejection.

    >>> r = parse_document(b"x" * 11, None, max_bytes=10)
    >>> r.error_class, r.reason
    ('oversize', 'document is 11 bytes, over the 10-byte limit (ASSAY_MAX_DOCUMENT_BYTES)')
    """
    if value is None:
        return _reject(STAGE_VALIDATE, "tombstone", "value is null (a tombstone); callers handle deletes before parsing")
    raw = bytes(value)
    if len(raw) > max_bytes:
        return _reject(
            STAGE_DECODE,
            "oversize",
            f"document is {len(raw)} bytes, over the {max_bytes}-byte limit (ASSAY_MAX_DOCUMENT_BYTES)",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 4].hex(" ")
        return _reject(
            STAGE_DECODE,
            "undecodable",
            f"value is not valid UTF-8: {exc.reason} at byte offset {exc.start} (bytes {bad})",
        )
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _reject(STAGE_DECODE, "invalid_json", f"value is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return _reject(
            STAGE_DECODE,
            "not_an_object",
            f"top-level JSON value is {_json_type_name(obj)}, expected an object with at least a 'content' field",
        )
    try:
        src = SourceDocument.model_validate(obj)
    except ValidationError as exc:
        return _reject(STAGE_VALIDATE, "schema_violation", f"document does not match SourceDocument: {_format_validation_error(exc)}")

    content = src.content
    if not content.strip():
        what = "empty" if not content else f"whitespace only ({len(content)} characters)"
        return _reject(STAGE_VALIDATE, "empty_content", f"content is {what}; nothing to extract")
    binary = _binary_reason(content)
    if binary:
        return _reject(STAGE_VALIDATE, "binary_content", binary)

    version = content_version(content)
    uri = src.uri if src.uri and src.uri.strip() else None

    # id: explicit id > record key > uri > content hash. A key that differs from the id is ignored.
    doc_id = src.id if src.id and src.id.strip() else None
    if doc_id is None:
        doc_id = source_id_from_key(key)
    if doc_id is None and uri:
        doc_id = f"uri:{uri}"
    if doc_id is None:
        doc_id = f"sha256:{version}"

    language = src.language.strip().lower() if src.language and src.language.strip() else None
    if language is None:
        language = infer_language(uri, content)

    given = (src.type or "").strip().lower()
    doc_type: DocumentType | None
    try:
        doc_type = DocumentType(given) if given else None
    except ValueError:
        doc_type = _TYPE_ALIASES.get(given)
    type_inferred = doc_type is None
    if doc_type is None:
        doc_type = infer_type(uri, content, language)

    try:
        metadata = src.metadata.model_dump(mode="json", exclude_none=True) if src.metadata is not None else {}
    except ValueError as exc:  # pydantic writes at most 254 levels of nesting; orjson read up to 1,024
        return _reject(STAGE_VALIDATE, "schema_violation",
                       f"document does not match SourceDocument: metadata: nested too deep to be read ({exc})")
    return Document(
        id=doc_id,
        type=doc_type,
        content=content,
        version=version,
        uri=uri,
        language=language,
        title=src.title,
        set_id=src.set_id,
        metadata=metadata,
        type_inferred=type_inferred,
    )
