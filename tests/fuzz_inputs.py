"""Inputs no producer should send, for fuzzing validation alone and the whole pipeline on a real broker.

* :func:`source_records`: hypothesis strategy of (key, value) records: documents with every field
  absent, right, or of a wrong JSON type, unknown fields, plus raw bytes that are not JSON at all;
* :func:`hostile_records`: a fixed corpus of records built to break parsers, limits and stores:
  deep nesting, megabytes of one character, NUL and control bytes, invalid UTF-8 in value, key
  and header values, wrong types at every field, numbers where strings belong, 100 kB keys,
  10,000 headers.

Header *names* with invalid UTF-8 are not here: most clients cannot send them (see
``tests/integration/test_fuzz_broker.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import strategies as st

FIELDS = ("id", "type", "content", "uri", "language", "title", "set_id", "metadata")
REAL_TEXT = (
    "# Retrying calls\n\nWrap calls to flaky services in a retry loop with exponential backoff and jitter. "
    "Never retry a request that is not idempotent, and always cap the total time spent waiting.\n\n"
    "```python\nfor attempt in range(5):\n    try:\n        return call()\n    except TimeoutError:\n"
    "        time.sleep(0.1 * 2 ** attempt)\n```\n"
)
REAL_CODE = (
    "def parse_port(text):\n    \"\"\"Parse a TCP port number from text and check its range.\"\"\"\n"
    "    port = int(text)\n    if not 0 < port < 65536:\n        raise ValueError(port)\n    return port\n"
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4)),
                           max_leaves=12)
plausible = {
    "id": st.text(min_size=1, max_size=600),
    "type": st.sampled_from(["code", "documentation", "architecture", "general", "CODE", "docs", "arch", "banana", ""]),
    # Real texts first: hypothesis starts from (and shrinks towards) the first branch.
    "content": st.one_of(st.sampled_from([REAL_TEXT, REAL_CODE]).flatmap(
                             lambda base: st.text(max_size=30).map(lambda extra: base + extra)),
                         st.text(min_size=0, max_size=400)),
    "uri": st.one_of(st.text(max_size=80), st.sampled_from(["src/app.py", "docs/a.md", "Dockerfile", "x.yml",
                                                             "file:///a b/%ff.py", "http://[::1"])),
    "language": st.one_of(st.text(max_size=70), st.sampled_from(["python", "markdown", "go", "PYTHON"])),
    "title": st.text(max_size=60),
    "set_id": st.text(max_size=60),
    "metadata": st.fixed_dictionaries({}, optional={
        "source_credibility": st.one_of(st.floats(allow_nan=False, allow_infinity=False), json_values),
        "published_at": st.one_of(st.sampled_from(["2025-01-31T00:00:00Z", "yesterday", "2025-13-45"]), json_values),
        "engagement": st.one_of(st.integers(-(2**63), 2**64 - 1), json_values),
        "extra": json_values,
    }),
}


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    """A JSON object: each field absent or plausible, except up to two broken ones (any JSON value);
    sometimes an unknown field. About half have no broken field."""
    broken = draw(st.one_of(st.just(set()), st.sets(st.sampled_from(FIELDS), min_size=1, max_size=2)))
    doc: dict[str, Any] = {}
    for name in FIELDS:
        if name in broken:
            doc[name] = draw(json_values)
        elif name == "content" or draw(st.booleans()):
            doc[name] = draw(plausible[name])
    if draw(st.integers(0, 9)) == 9:
        doc[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return doc


def source_records() -> st.SearchStrategy[tuple[bytes | None, bytes | None]]:
    """(key, value) records for ``sources.raw``: mostly JSON documents, some raw bytes, a few tombstones."""
    keys = st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=40).map(str.encode))
    values = st.one_of(
        documents().map(orjson.dumps),
        documents().map(orjson.dumps),
        documents().map(orjson.dumps),
        json_values.map(orjson.dumps),
        st.binary(max_size=200),
        st.none(),
    )
    return st.tuples(keys, values)


@dataclass(frozen=True)
class Hostile:
    """One record of the hostile corpus and what it exercises."""

    name: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def _doc(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def _nested_doc(depth: int, where: str) -> bytes:
    """A document with ``depth`` nested arrays at ``where`` (built as bytes: orjson writes at most 255 levels)."""
    nested = b"[" * depth + b'"x"' + b"]" * depth
    head = orjson.dumps({"content": REAL_TEXT})[:-1]
    if where == "metadata":
        return head + b',"metadata":{"extra":' + nested + b"}}"
    return head + b',"' + where.encode() + b'":' + nested + b"}"


WRONG_TYPES: dict[str, Any] = {"number": 12, "float": 1.5e308, "bool": True, "null": None, "list": ["a"],
                               "object": {"a": 1}, "empty_string": ""}


def hostile_records() -> list[Hostile]:
    """The fixed corpus; every record has a unique key (or none), so none supersedes another."""
    out = [
        Hostile("deep-array", b"h-deep-array", b"[" * 100_000 + b"]" * 100_000),
        Hostile("deep-object", b"h-deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        Hostile("deep-metadata-200", b"h-deep-metadata-200", _nested_doc(200, "metadata")),
        Hostile("deep-metadata-500", b"h-deep-metadata-500", _nested_doc(500, "metadata")),
        Hostile("deep-metadata-1000", b"h-deep-metadata-1000", _nested_doc(1000, "metadata")),
        Hostile("deep-unknown-field", b"h-deep-unknown", _nested_doc(900, "nested")),
        Hostile("5mb-of-a", b"h-5mb", b"a" * 5_000_000),
        Hostile("900kb-of-a-content", b"h-900kb-a", _doc(content="a" * 900_000)),
        Hostile("900kb-of-a-code", b"h-900kb-code", _doc(content="a" * 900_000, type="code", language="python")),
        Hostile("400k-e-acute", b"h-400k-e", _doc(content="é" * 400_000)),
        Hostile("900kb-newlines", b"h-900kb-nl", _doc(content="\n" * 900_000)),
        Hostile("long-expression", b"h-long-expr",
                _doc(content="x = " + "1 + " * 150_000 + "1\n", type="code", language="python")),
        Hostile("deep-parens", b"h-deep-parens",
                _doc(content="x = " + "(" * 5000 + "1" + ")" * 5000 + "\n", type="code", language="python")),
        Hostile("deep-defs", b"h-deep-defs", _doc(content="".join("    " * i + f"def f{i}():\n" for i in range(300))
                                                  + "    " * 300 + "pass\n", type="code", language="python")),
        Hostile("many-functions", b"h-many-functions",
                _doc(content="".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(20_000)), type="code",
                     language="python")),
        Hostile("nul-bytes-value", b"h-nul-value", b"\x00" * 1000),
        Hostile("nul-in-content", b"h-nul-content", _doc(content="abc\x00def " * 50)),
        Hostile("controls-in-content", b"h-controls",
                _doc(content="".join(chr(c) for c in range(1, 32)) + REAL_TEXT * 3)),
        Hostile("nul-in-key", b"h-nul\x00key", _doc(content=REAL_TEXT)),
        Hostile("nul-in-id", b"h-nul-id", _doc(id="doc\x00id", content=REAL_TEXT)),
        Hostile("controls-in-id", b"h-controls-id",
                _doc(id="\x01\x02\x7f\u202e\ufeff", content=REAL_CODE, type="code")),
        Hostile("invalid-utf8-value", b"h-bad-utf8-value", b'{"content": "caf\xe9 \xff\xfe"}'),
        Hostile("invalid-utf8-key", b"h-bad-utf8-\xff\xfe", _doc(content=REAL_TEXT)),
        Hostile("invalid-utf8-key-tombstone", b"\xff\xfe\xfd", None),
        Hostile("invalid-utf8-header-value", b"h-bad-header-value", _doc(content=REAL_TEXT),
                [("trace", b"\xff\xfe\x00"), ("empty", b""), ("null", None)]),
        Hostile("lone-surrogate", b"h-surrogate", b'{"content": "a \\ud800 b"}'),
        Hostile("big-integer-id", b"h-bigint", b'{"id": 123456789012345678901234567890, "content": "x y z"}'),
        Hostile("number-content", b"h-number-content", b'{"content": 1e308}'),
        Hostile("nan", b"h-nan", b'{"content": NaN}'),
        Hostile("empty-value", b"h-empty-value", b""),
        Hostile("json-null", b"h-json-null", b"null"),
        Hostile("json-string", b"h-json-string", b'"just a string"'),
        Hostile("empty-object", b"h-empty-object", b"{}"),
        Hostile("duplicate-keys", b"h-duplicate-keys", b'{"content": 1, "content": "second wins?"}'),
        Hostile("unknown-fields", b"h-unknown", _doc(content=REAL_TEXT, author="me", tags=["a"])),
        Hostile("long-id-513", b"h-long-id", _doc(id="i" * 513, content=REAL_TEXT)),
        Hostile("long-uri", b"h-long-uri", _doc(uri="u" * 3000, content=REAL_TEXT)),
        Hostile("100kb-key", b"k" * 100_000, _doc(content=REAL_CODE, type="code")),
        Hostile("100kb-key-tombstone", b"t" * 100_000, None),
        Hostile("100kb-key-bad-value", b"b" * 100_000, b"{nope"),
        Hostile("10000-headers", b"h-10000-headers", _doc(content=REAL_TEXT),
                [(f"h{i}", b"v" * 10) for i in range(10_000)]),
        Hostile("10000-headers-bad-value", b"h-10000-headers-bad", b"not json",
                [(f"h{i}", b"v" * 10) for i in range(10_000)]),
        Hostile("metadata-out-of-range", b"h-metadata-range",
                _doc(content=REAL_TEXT, metadata={"source_credibility": 7, "engagement": -1})),
        Hostile("metadata-not-a-date", b"h-metadata-date", _doc(content=REAL_TEXT, metadata={"published_at": "soon"})),
        Hostile("tombstone-without-key", None, None),
    ]
    for fld in FIELDS:
        for tname, wrong in WRONG_TYPES.items():
            body: dict[str, Any] = {"content": REAL_TEXT}
            body[fld] = wrong
            out.append(Hostile(f"wrong-{fld}-{tname}", f"h-wrong-{fld}-{tname}".encode(), orjson.dumps(body)))
    return out
