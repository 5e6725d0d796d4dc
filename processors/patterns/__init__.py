"""Pattern extraction: one validated :class:`Document` → a list of :class:`PatternRecord`.

:func:`extract_patterns` picks an extractor by document type (and language):

==============  ===========================================================================
code            :mod:`.python_code` (``ast``) for Python; :mod:`.treesitter_code` for Java,
                JavaScript, TypeScript/TSX, Go, Rust, C and C++; :mod:`.generic_code` (regexes)
                for other languages or when a grammar is missing
documentation   :mod:`.docs`: heading-path sections split at paragraphs, then ``practice``,
                ``code_example`` and ``procedure`` patterns (:mod:`.practices`); HTML via a
                tag-stripped view
architecture    :mod:`.architecture`: YAML services/resources/keys; other formats as docs; all
                formats also through :mod:`.arch_graph` (component graph → ``component``
                patterns and one ``architecture`` pattern tagged ``arch:<style>``)
general         :mod:`.text`: sentence-aware passages with one-sentence overlap
==============  ===========================================================================

Code patterns carry tags: Python idioms (:mod:`.python_idioms`: context managers, retry with
backoff, caching, async fan-out, dependency injection) and GoF design patterns found from structure
(:mod:`.design_patterns`: ``gof:<pattern>`` tags on the classes involved plus one ``design_pattern``
pattern per detection). :func:`summarize_structure` / :func:`detect_design_patterns` are exported so a
stateful stage can merge the structural summaries of several files of one set (cross-file patterns).

Contract, whatever the input (checked by ``tests/unit/test_patterns.py``):

* keys are unique within the document and stable (same document → same keys, in the same order);
* spans are 1-based line ranges inside the document (``1 <= start <= end <= lines``), where lines
  end at ``\\n``, ``\\r\\n`` or ``\\r``;
* ``text`` is non-empty and at most ``max_chars`` long; ``snippet`` is the raw lines, at most 4000
  characters; ``extractor`` is ``<module>/<version>``;
* nothing raises: an extractor that fails falls back to text passages (tagged
  ``extractor_error``), and one that finds nothing in non-blank content falls back to passages too;
* at most ``max_patterns`` (default :data:`MAX_PATTERNS`) per document: the rest is dropped and the
  last kept pattern carries a ``truncated`` tag saying how many there were.

>>> from schemas.documents import Document
>>> doc = Document(id="d", type="code", language="python", version="v",
...                content="def add(a, b):\\n    '''Sum.'''\\n    return a + b\\n")
>>> [(p.key, p.kind, p.extractor) for p in extract_patterns(doc)]
[('module:<module>', 'module', 'python_code/1.0.0'), ('function:add', 'function', 'python_code/1.0.0')]
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from processors.patterns import architecture, docs, generic_code, python_code, text, treesitter_code
from processors.patterns._common import KeyDeduper, SNIPPET_MAX_CHARS, clip, split_lines, tag
from processors.patterns.design_patterns import detect_design_patterns, summarize_structure
from schemas.documents import Document, DocumentType
from schemas.patterns import PatternRecord

__all__ = ["MAX_PATTERNS", "detect_design_patterns", "extract_patterns", "extractor_for", "summarize_structure"]

log = logging.getLogger(__name__)

#: Default cap on patterns per document.
MAX_PATTERNS = 500

_Extractor = Callable[..., list[PatternRecord]]
_PY_LANGS = frozenset({"python", "py", "python3", "python2"})
_PY_EXTS = (".py", ".pyi", ".pyw")


def _is_python(doc: Document) -> bool:
    if (doc.language or "").lower() in _PY_LANGS:
        return True
    return bool(doc.uri) and doc.uri.lower().split("?", 1)[0].endswith(_PY_EXTS)


def extractor_for(doc: Document) -> tuple[str, _Extractor]:
    """The extractor :func:`extract_patterns` uses for ``doc``: ``(module name, extract function)``.

    >>> from schemas.documents import Document
    >>> extractor_for(Document(id="d", type="code", content="x", version="v", uri="a/b.go"))[0]
    'treesitter_code'
    >>> extractor_for(Document(id="d", type="code", content="x", version="v", uri="a/b.rb"))[0]
    'generic_code'
    """
    if doc.type == DocumentType.code:
        if _is_python(doc):
            return "python_code", python_code.extract
        if treesitter_code.supports(doc):
            return "treesitter_code", treesitter_code.extract
        return "generic_code", generic_code.extract
    if doc.type == DocumentType.documentation:
        return "docs", docs.extract
    if doc.type == DocumentType.architecture:
        return "architecture", architecture.extract
    return "text", text.extract


def _passages(doc: Document, max_chars: int, tags: list | None = None) -> list[PatternRecord]:
    try:
        return text.passages(doc.content, max_chars=max_chars, language=doc.language, tags=tags)
    except Exception:  # pragma: no cover - the splitter is regex-only; this is the last resort
        log.exception("text passages failed for document %s", doc.id)
        return []


def _enforce(records: list[PatternRecord], n_lines: int, max_chars: int) -> list[PatternRecord]:
    """Drop/repair anything outside the contract (normally a no-op)."""
    out: list[PatternRecord] = []
    dedupe = KeyDeduper()
    for rec in records:
        changes: dict = {}
        txt = rec.text if len(rec.text) <= max_chars else clip(rec.text, max_chars)
        if not txt.strip():
            continue
        if txt != rec.text:
            changes["text"] = txt
        key = dedupe(rec.key)
        if key != rec.key:
            changes["key"] = key
        start = min(max(1, rec.span.start_line), n_lines)
        end = min(max(start, rec.span.end_line), n_lines)
        if (start, end) != (rec.span.start_line, rec.span.end_line):
            changes["span"] = rec.span.model_copy(update={"start_line": start, "end_line": end})
        if len(rec.snippet) > SNIPPET_MAX_CHARS:
            changes["snippet"] = rec.snippet[:SNIPPET_MAX_CHARS]
        out.append(rec.model_copy(update=changes) if changes else rec)
    return out


def extract_patterns(doc: Document, *, max_chars: int = 1200, max_patterns: int = MAX_PATTERNS,
                     structure_out: list[dict] | None = None) -> list[PatternRecord]:
    """Patterns of ``doc`` (see the module doc for the contract). Never raises for any content.

    ``structure_out``, when given, receives the structural summary of a code document that the
    extractor built anyway (Python and tree-sitter languages), so the set stage needs no second parse.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    if max_patterns < 1:
        raise ValueError(f"max_patterns must be >= 1, got {max_patterns}")
    content = doc.content
    if not content or not content.strip():
        return []
    name, extractor = extractor_for(doc)
    try:
        if structure_out is not None and name in ("python_code", "treesitter_code"):
            records = extractor(doc, max_chars=max_chars, structure_out=structure_out)
        else:
            records = extractor(doc, max_chars=max_chars)
    except Exception as exc:  # never crash on content: fall back to passages
        log.warning("extractor %s failed on document %s (%s: %s); using text passages", name, doc.id, type(exc).__name__, exc)
        records = _passages(doc, max_chars, [tag("extractor_error", f"{name}: {type(exc).__name__}")])
    if not records and name != "text":
        records = _passages(doc, max_chars)
    records = _enforce(records, max(1, len(split_lines(content))), max_chars)
    if len(records) > max_patterns:
        total = len(records)
        records = records[:max_patterns]
        last = records[-1]
        records[-1] = last.model_copy(
            update={"tags": [*last.tags, tag("truncated", f"kept {max_patterns} of {total} patterns")]}
        )
        log.info("document %s: kept %d of %d patterns", doc.id, max_patterns, total)
    return records
