"""Which tree-sitter grammar reads a document, and the parsers (one per language, loaded once).

Grammars are per-language wheels; one that is not installed (or fails to load) is remembered as
unavailable and its documents go to :mod:`processors.patterns.generic_code`.
"""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import PurePosixPath
from typing import Any

from schemas.documents import Document

try:
    from tree_sitter import Language, Parser
except ImportError:  # pragma: no cover - tree-sitter is a dependency; every grammar is then unavailable
    Language = Parser = None

__all__ = ["LANGUAGES", "language_of", "parser_for", "supports"]

log = logging.getLogger(__name__)

#: canonical language → (module, function returning the grammar)
LANGUAGES: dict[str, tuple[str, str]] = {
    "java": ("tree_sitter_java", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}
_ALIASES = {
    "java": "java", "javascript": "javascript", "js": "javascript", "jsx": "javascript", "node": "javascript",
    "nodejs": "javascript", "mjs": "javascript", "cjs": "javascript", "ecmascript": "javascript",
    "typescript": "typescript", "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "golang": "go", "rust": "rust", "rs": "rust", "c": "c", "h": "c",
    "cpp": "cpp", "c++": "cpp", "cxx": "cpp", "cc": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp", "h++": "cpp",
    "ino": "cpp", "cuda": "cpp", "cu": "cpp", "objective-c++": "cpp",
}
_CPP_HINT = re.compile(r"^\s*(?:class\s+\w+|namespace\s+\w+|template\s*<|public:|private:|#include\s*<(?:iostream|vector|string|memory|map)>)", re.M)

_parsers: dict[str, Any] = {}
_unavailable: set[str] = set()


def language_of(doc: Document) -> str | None:
    """Canonical tree-sitter language of ``doc`` (from ``language``, else the URI extension), or ``None``.

    >>> from schemas.documents import Document
    >>> language_of(Document(id="d", type="code", content="x", version="v", uri="src/App.tsx"))
    'tsx'
    """
    lang = (doc.language or "").strip().lower()
    canon = _ALIASES.get(lang)
    if canon is None and doc.uri:
        ext = PurePosixPath(doc.uri.replace("\\", "/").split("?", 1)[0]).suffix.lower().lstrip(".")
        if not lang or lang in ("text", "code", "plain", "unknown"):
            canon = _ALIASES.get(ext)
        elif lang in ("c", "cpp") or ext in ("h",):
            canon = _ALIASES.get(ext)
    if canon == "c" and _CPP_HINT.search(doc.content[:20000]):
        canon = "cpp"
    return canon


def parser_for(lang: str) -> Any | None:
    if lang in _parsers:
        return _parsers[lang]
    if lang in _unavailable:
        return None
    try:
        mod_name, fn = LANGUAGES[lang]
        mod = importlib.import_module(mod_name)
        parser = Parser(Language(getattr(mod, fn)()))
    except Exception as exc:  # missing wheel, ABI mismatch …
        log.warning("tree-sitter grammar for %s unavailable (%s: %s); using the regex extractor", lang,
                    type(exc).__name__, exc)
        _unavailable.add(lang)
        return None
    _parsers[lang] = parser
    return parser


def supports(doc: Document) -> bool:
    """True when ``doc`` is in a language this extractor parses and its grammar loads."""
    lang = language_of(doc)
    return lang is not None and parser_for(lang) is not None

