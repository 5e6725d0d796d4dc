"""processors.validate: every rejection class, id/type/language resolution, versions (inference: test_doc_kinds)."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from processors.results import Rejection
from processors.validate import (
    STAGE_DECODE,
    STAGE_VALIDATE,
    content_version,
    parse_document,
    source_id_from_key,
)
from schemas.documents import Document, DocumentType


def raw(**fields) -> bytes:
    return orjson.dumps(fields)


def ok(value: bytes, key: bytes | None = None, **kw) -> Document:
    doc = parse_document(value, key, **kw)
    assert isinstance(doc, Document), doc
    return doc


def rejected(value: bytes | None, key: bytes | None = None, **kw) -> Rejection:
    rej = parse_document(value, key, **kw)
    assert isinstance(rej, Rejection), rej
    return rej


# --------------------------------------------------------------------------- rejections

REJECTIONS = [
    # (value, kwargs, error_class, stage, fragments the reason must contain)
    (b"x" * 11, {"max_bytes": 10}, "oversize", STAGE_DECODE, ["11 bytes", "10-byte", "ASSAY_MAX_DOCUMENT_BYTES"]),
    (b'{"content": "caf\xe9"}', {}, "undecodable", STAGE_DECODE, ["UTF-8", "byte offset 16"]),
    (b'{"content": ', {}, "invalid_json", STAGE_DECODE, ["not valid JSON"]),
    (b"{'content': 'single quotes'}", {}, "invalid_json", STAGE_DECODE, ["not valid JSON"]),
    (b"[1, 2]", {}, "not_an_object", STAGE_DECODE, ["array", "object"]),
    (b'"just a string"', {}, "not_an_object", STAGE_DECODE, ["string"]),
    (b"null", {}, "not_an_object", STAGE_DECODE, ["null"]),
    (b"42", {}, "not_an_object", STAGE_DECODE, ["number"]),
    (raw(uri="a.py"), {}, "schema_violation", STAGE_VALIDATE, ["content: Field required"]),
    (raw(content="x", colour="red"), {}, "schema_violation", STAGE_VALIDATE, ["colour: Extra inputs are not permitted"]),
    (raw(content=3), {}, "schema_violation", STAGE_VALIDATE, ["content: "]),
    (
        raw(content="x", metadata={"source_credibility": 2.0, "engagement": -1}),
        {},
        "schema_violation",
        STAGE_VALIDATE,
        ["metadata.source_credibility: ", "metadata.engagement: ", "; "],
    ),
    (raw(content=""), {}, "empty_content", STAGE_VALIDATE, ["empty"]),
    (raw(content="  \n\t \r\n"), {}, "empty_content", STAGE_VALIDATE, ["whitespace"]),
    (raw(content="abc\x00def"), {}, "binary_content", STAGE_VALIDATE, ["NUL", "character 3"]),
    (raw(content="".join(chr(i % 8 + 1) for i in range(200)) + "text"), {}, "binary_content", STAGE_VALIDATE,
     ["control characters"]),
    (None, {}, "tombstone", STAGE_VALIDATE, ["tombstone"]),
]


@pytest.mark.parametrize(("value", "kwargs", "error_class", "stage", "fragments"), REJECTIONS,
                         ids=[f"{r[2]}-{i}" for i, r in enumerate(REJECTIONS)])
def test_rejection_classes(value, kwargs, error_class, stage, fragments):
    rej = rejected(value, b"some-key", **kwargs)
    assert rej.error_class == error_class
    assert rej.stage == stage
    for fragment in fragments:
        assert fragment in rej.reason, rej.reason
    # human readable: a sentence, not a repr or a traceback
    assert " " in rej.reason and len(rej.reason) < 1000
    assert "Traceback" not in rej.reason and "ValidationError" not in rej.reason


def test_size_cap_is_inclusive_and_on_raw_bytes():
    value = raw(content="é" * 10)  # 2 bytes per é
    assert isinstance(parse_document(value, None, max_bytes=len(value)), Document)
    assert rejected(value, None, max_bytes=len(value) - 1).error_class == "oversize"


def test_default_size_cap_is_the_settings_default():
    from infra.settings import Settings

    big = raw(content="a" * Settings.model_fields["max_document_bytes"].default)
    assert rejected(big).error_class == "oversize"


def test_schema_violation_lists_each_field():
    rej = rejected(raw(content=1, uri=2, title=3))
    fields = [part.split(":")[0] for part in rej.reason.split(": ", 1)[1].split("; ")]
    assert fields == ["content", "uri", "title"]


def test_control_characters_in_ordinary_text_are_fine():
    doc = ok(raw(content="col1\tcol2\fnext page\x1b[0m colour\n" * 5))
    assert doc.content.startswith("col1")


def test_nothing_raises_on_garbage():
    for value in (b"", b"\xff\xfe\x00", b"{" * 10_000, b'{"content": "' + b"a" * 100 + b'"' , bytes(range(256))):
        assert isinstance(parse_document(value, b"\xff"), (Document, Rejection))


@pytest.mark.parametrize("depth", [254, 255, 1000])
def test_metadata_nested_too_deep_is_a_schema_violation_not_an_exception(depth):
    # orjson reads up to 1,024 levels, but pydantic writes at most 254: the document stage raised on it.
    value = b'{"content": "hello", "metadata": {"extra": ' + b"[" * depth + b"1" + b"]" * depth + b"}}"
    result = parse_document(value, None)
    if depth < 255:
        assert isinstance(result, Document)
    else:
        assert isinstance(result, Rejection) and result.error_class == "schema_violation"
        assert "metadata" in result.reason and "deep" in result.reason


# --------------------------------------------------------------------------- id

def test_id_given_wins_over_key():
    doc = ok(raw(id="doc-1", content="hello"), b"key-1")
    assert doc.id == "doc-1"


def test_id_from_key_when_missing():
    assert ok(raw(content="hello", uri="a.md"), b"repo:a.md").id == "repo:a.md"


def test_id_from_uri_then_hash():
    assert ok(raw(content="hello", uri="https://x.org/a.md")).id == "uri:https://x.org/a.md"
    doc = ok(raw(content="hello"))
    assert doc.id == "sha256:" + hashlib.sha256(b"hello").hexdigest()[:16]
    assert doc.id == f"sha256:{doc.version}"


def test_unusable_keys_and_blank_ids_are_skipped():
    assert ok(raw(content="hello", uri="u"), b"").id == "uri:u"
    assert ok(raw(content="hello", uri="u"), b"\xff\xfe").id == "uri:u"
    assert ok(raw(id="  ", content="hello"), b"k").id == "k"


def test_source_id_from_key():
    assert source_id_from_key(b"repo:README.md") == "repo:README.md"
    assert source_id_from_key("ünï".encode()) == "ünï"
    assert source_id_from_key(None) is None
    assert source_id_from_key(b"") is None
    assert source_id_from_key(b"   ") is None
    assert source_id_from_key(b"\xc3") is None


# --------------------------------------------------------------------------- type and language

def test_given_type_is_kept():
    doc = ok(raw(content="# Title\n\ntext", type="code"))
    assert doc.type == DocumentType.code and not doc.type_inferred


@pytest.mark.parametrize(("given", "expected"), [("Documentation", "documentation"), (" GENERAL ", "general"),
                                                 ("docs", "documentation"), ("arch", "architecture")])
def test_given_type_is_normalised(given, expected):
    doc = ok(raw(content="text", type=given))
    assert doc.type.value == expected and not doc.type_inferred


@pytest.mark.parametrize("given", [None, "blog-post", ""])
def test_missing_or_unknown_type_is_inferred(given):
    fields = {"content": "def f():\n    return 1\n", "uri": "src/f.py"}
    if given is not None:
        fields["type"] = given
    doc = ok(orjson.dumps(fields))
    assert doc.type == DocumentType.code and doc.type_inferred


COMPOSE = "services:\n  db:\n    image: postgres:16\n"


def test_inferred_type_and_language_via_parse():
    doc = ok(raw(content=COMPOSE, uri="docker-compose.yml"))
    assert (doc.type, doc.language, doc.type_inferred) == (DocumentType.architecture, "yaml", True)


def test_given_language_is_lowercased_and_kept():
    assert ok(raw(content="x = 1", language="Python ", uri="a.txt")).language == "python"


# --------------------------------------------------------------------------- version and other fields

def test_version_is_content_hash_and_stable():
    a = ok(raw(content="same text", id="a", title="A"))
    b = ok(raw(content="same text", id="b", metadata={"engagement": 5}))
    c = ok(raw(content="same text!", id="a"))
    assert a.version == b.version == content_version("same text") == hashlib.sha256(b"same text").hexdigest()[:16]
    assert a.version != c.version
    assert len(a.version) == 16


def test_optional_fields_and_metadata_are_carried():
    doc = ok(raw(content="text", uri="u.md", title="T", set_id="batch-1",
                 metadata={"published_at": "2024-05-01T10:00:00Z", "source_credibility": 0.9, "stars": 12}))
    assert (doc.uri, doc.title, doc.set_id) == ("u.md", "T", "batch-1")
    assert doc.metadata["source_credibility"] == 0.9
    assert doc.metadata["stars"] == 12
    assert doc.metadata["published_at"].startswith("2024-05-01T10:00:00")
    assert "engagement" not in doc.metadata  # None fields are dropped
    assert orjson.loads(doc.model_dump_json())["metadata"] == doc.metadata  # plain JSON values


def test_key_differing_from_id_is_ignored_but_does_not_reject():
    doc = ok(raw(id="canonical", content="x"), b"other")
    assert doc.id == "canonical"
