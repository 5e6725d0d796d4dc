"""Code documents, in one direction: parse → structural summary → records → design patterns.

* Python: ``ast`` (:mod:`.python`); a module that does not parse becomes passages tagged
  ``syntax_error``.
* Java, JavaScript, TypeScript/TSX, Go, Rust, C and C++: tree-sitter (:mod:`.treesitter`); a missing
  grammar or a file over the size cap goes to the regex extractor (:mod:`.generic_code`), tagged
  ``treesitter_unavailable`` / ``size_cap``.

The summary the parser built is detected once (:mod:`.design`): detections tag the class records
(``gof:<pattern>``) and add one ``design_pattern`` record each, and the summary itself is returned
so the set stage can merge it with the other files of its set. Parsers never call detection, and
detection never calls a parser: this module is the only place that knows the order.

>>> from schemas.documents import Document
>>> found = extract_python(Document(id="d", type="code", language="python", version="v",
...                                 content="class A:\\n    def f(self):\\n        return 1\\n"), max_chars=1200)
>>> [p.key for p in found.patterns], [c.name for c in found.summary.classes]
(['module:<module>', 'class:A', 'method:A.f'], ['A'])
"""

from __future__ import annotations

import ast

from processors.patterns import generic_code
from processors.patterns.design import annotate, detect_design_patterns
from processors.patterns.outcome import Extraction
from processors.patterns.python import records as python_records
from processors.patterns.python.summary import summarize
from processors.patterns.records import split_lines, tag
from processors.patterns.treesitter import records as treesitter_records
from processors.patterns.treesitter.languages import language_of, parser_for
from processors.patterns.treesitter.parse import parse_document
from schemas.documents import Document
from schemas.patterns import PatternRecord
from schemas.structure import StructureSummary

__all__ = ["extract_python", "extract_treesitter", "is_python", "summarize_structure"]

_PY_LANGS = frozenset({"python", "py", "python3", "python2"})
_PY_EXTS = (".py", ".pyi", ".pyw")


def is_python(doc: Document) -> bool:
    """Python by declared language or by file extension."""
    if (doc.language or "").lower() in _PY_LANGS:
        return True
    return bool(doc.uri) and doc.uri.lower().split("?", 1)[0].endswith(_PY_EXTS)


def extract_python(doc: Document, *, max_chars: int) -> Extraction:
    """Module, class, function and method patterns of a Python document, with design patterns."""
    try:
        tree = ast.parse(doc.content)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes (Python 3.11)
        return Extraction(tuple(python_records.syntax_error_passages(doc, exc, max_chars=max_chars)))
    lines = split_lines(doc.content)
    try:
        summary = summarize(tree, uri=doc.uri, doc_id=doc.id)
    except RecursionError:  # pathological nesting: patterns without structure tags
        summary = None
    records = python_records.module_records(doc, tree, lines, summary, max_chars=max_chars)
    return _with_design_patterns(doc, records, summary, lines, max_chars=max_chars,
                                 extractor=python_records.EXTRACTOR, language="python")


def extract_treesitter(doc: Document, *, max_chars: int) -> Extraction:
    """Definition patterns of a source file parsed by tree-sitter, with design patterns."""
    lang = language_of(doc)
    if lang is None:
        return Extraction(tuple(generic_code.extract(doc, max_chars=max_chars)))
    parsed = parse_document(doc) if parser_for(lang) is not None else None
    if parsed is None:
        reason = "treesitter_unavailable" if parser_for(lang) is None else "size_cap"
        recs = generic_code.extract(doc, max_chars=max_chars)
        if recs:
            recs[0] = recs[0].model_copy(update={"tags": [*recs[0].tags, tag(reason, lang)]})
        return Extraction(tuple(recs))
    records = treesitter_records.build_records(doc, parsed, max_chars)
    if not parsed.defs:  # passages or blocks: nothing for detection to tag
        return Extraction(tuple(records), parsed.summary)
    return _with_design_patterns(doc, records, parsed.summary, parsed.lines, max_chars=max_chars,
                                 extractor=treesitter_records.EXTRACTOR, language=lang)


def summarize_structure(doc: Document) -> StructureSummary | None:
    """The structural summary of a code document alone; ``None`` when its language has no parser here
    or it does not parse at all."""
    if is_python(doc):
        try:
            return summarize(ast.parse(doc.content), uri=doc.uri, doc_id=doc.id)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    parsed = parse_document(doc)
    return parsed.summary if parsed is not None else None


def _with_design_patterns(doc: Document, records: list[PatternRecord], summary: StructureSummary | None,
                          lines: list[str], *, max_chars: int, extractor: str, language: str) -> Extraction:
    if summary is None:
        return Extraction(tuple(records))
    found = detect_design_patterns([summary], document_id=doc.id)
    records = annotate(records, found.detections, lines=lines, max_chars=max_chars, extractor=extractor,
                       language=language)
    return Extraction(tuple(records), summary, found.failures)
