"""The one entry point: a validated document → :class:`~.outcome.Extraction` (see the package doc).

:func:`extractor_for` picks an extractor by document type (and language); :func:`extract_patterns`
runs it, falls back to text passages when it fails (tagged ``extractor_error``, and reported as a
:class:`~.outcome.DetectorFailure`) or finds nothing, repairs anything outside the record contract,
and caps the number of patterns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from processors.patterns import code, docs, generic_code, text
from processors.patterns.architecture import records as architecture
from processors.patterns.outcome import Extraction, FailureLog
from processors.patterns.records import SNIPPET_MAX_CHARS, KeyDeduper, clip, split_lines, tag
from processors.patterns.treesitter.languages import supports
from schemas.documents import Document, DocumentType
from schemas.patterns import PatternRecord

__all__ = ["MAX_PATTERNS", "Extractor", "extract_patterns", "extractor_for"]

log = logging.getLogger(__name__)

#: Default cap on patterns per document.
MAX_PATTERNS = 500

#: ``extract(doc, max_chars=…)`` → what one extractor found.
Extractor = Callable[..., Extraction]


def _records_only(extract: Callable[..., list[PatternRecord]]) -> Extractor:
    """An extractor that only finds records (no summary, no detectors that can fail on their own)."""
    def run(doc: Document, *, max_chars: int) -> Extraction:
        return Extraction(tuple(extract(doc, max_chars=max_chars)))

    return run


_GENERIC = _records_only(generic_code.extract)
_DOCS = _records_only(docs.extract)
_TEXT = _records_only(text.extract)


def extractor_for(doc: Document) -> tuple[str, Extractor]:
    """The extractor :func:`extract_patterns` uses for ``doc``: ``(name, extract function)``.

    >>> from schemas.documents import Document
    >>> extractor_for(Document(id="d", type="code", content="x", version="v", uri="a/b.go"))[0]
    'treesitter_code'
    >>> extractor_for(Document(id="d", type="code", content="x", version="v", uri="a/b.rb"))[0]
    'generic_code'
    """
    if doc.type == DocumentType.code:
        if code.is_python(doc):
            return "python_code", code.extract_python
        if supports(doc):
            return "treesitter_code", code.extract_treesitter
        return "generic_code", _GENERIC
    if doc.type == DocumentType.documentation:
        return "docs", _DOCS
    if doc.type == DocumentType.architecture:
        return "architecture", architecture.extract
    return "text", _TEXT


def extract_patterns(doc: Document, *, max_chars: int = 1200, max_patterns: int = MAX_PATTERNS) -> Extraction:
    """Patterns of ``doc`` (see the package doc for the contract), its structural summary when it is
    code that parsed, and the detectors that failed. Never raises for any content."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    if max_patterns < 1:
        raise ValueError(f"max_patterns must be >= 1, got {max_patterns}")
    content = doc.content
    if not content or not content.strip():
        return Extraction()
    name, extractor = extractor_for(doc)
    failures = FailureLog(doc.id)
    found = None
    with failures.guard(name):
        found = extractor(doc, max_chars=max_chars)
    if found is None:  # the extractor failed: text passages instead, tagged with why
        error = failures.failures[-1].error.split(":", 1)[0]
        found = Extraction(tuple(_passages(doc, max_chars, failures, [tag("extractor_error", f"{name}: {error}")])))
    failures.add(found.failures)
    records = list(found.patterns)
    if not records and name != "text":
        records = _passages(doc, max_chars, failures)
    records = _enforce(records, max(1, len(split_lines(content))), max_chars)
    if len(records) > max_patterns:
        total = len(records)
        records = records[:max_patterns]
        last = records[-1]
        records[-1] = last.model_copy(
            update={"tags": [*last.tags, tag("truncated", f"kept {max_patterns} of {total} patterns")]}
        )
        log.info("document %s: kept %d of %d patterns", doc.id, max_patterns, total)
    return Extraction(tuple(records), found.summary, failures.failures)


def _passages(doc: Document, max_chars: int, failures: FailureLog, tags: list | None = None) -> list[PatternRecord]:
    out: list[PatternRecord] = []
    with failures.guard("text"):  # the splitter is regex-only; this is the last resort
        out = text.passages(doc.content, max_chars=max_chars, language=doc.language, tags=tags)
    return out


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
