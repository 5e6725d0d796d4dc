"""One document → tree-sitter parse → :class:`ParsedDocument` (definitions and structural summary).

:func:`parse_document` picks the language walker, walks the tree, then analyses the queued method
bodies (:mod:`.body`) now that every class's fields and methods are known, and finally attaches doc
comments and spans to the definitions. It never calls detection or builds records: :mod:`.records`
turns the definitions into records, :mod:`processors.patterns.code` runs the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from processors.patterns.records import split_lines
from processors.patterns.structure_builder import finish_summary, new_field
from schemas.structure import StructureSummary
from processors.patterns.treesitter.body import BodyAnalyzer
from processors.patterns.treesitter.cfamily import CFamilyWalker
from processors.patterns.treesitter.go import GoWalker
from processors.patterns.treesitter.java import JavaWalker
from processors.patterns.treesitter.javascript import JsWalker
from processors.patterns.treesitter.languages import language_of, parser_for
from processors.patterns.treesitter.rust import RustWalker
from processors.patterns.treesitter.walker import Definition, Walker
from schemas.documents import Document

__all__ = ["MAX_BYTES", "ParsedDocument", "clean_doc", "parse_document"]

MAX_BYTES = 1_500_000  # larger files go to the regex extractor

WALKERS: dict[str, type[Walker]] = {
    "java": JavaWalker, "javascript": JsWalker, "typescript": JsWalker, "tsx": JsWalker, "go": GoWalker,
    "rust": RustWalker, "c": CFamilyWalker, "cpp": CFamilyWalker,
}

_COMMENT_TYPES = {"comment", "line_comment", "block_comment"}
_ATTR_TYPES = {"attribute_item", "decorator", "marker_annotation", "annotation", "inner_attribute_item"}
_DOC_MARK_RE = re.compile(r"^\s*(?:/\*\*?|\*/|\*(?!/)|///?!?|//|#)\s?")


def clean_doc(raw: str) -> str:
    out = []
    for line in raw.splitlines():
        line = line.rstrip()
        if line.endswith("*/"):
            line = line[:-2]
        out.append(_DOC_MARK_RE.sub("", line, count=1).rstrip())
    return "\n".join(l for l in out if l.strip()).strip()


@dataclass
class ParsedDocument:
    """What one tree-sitter parse of a document gives: definitions, the structural summary, errors."""

    lang: str
    lines: list[str]
    defs: list[Definition]
    summary: StructureSummary
    error_line: int | None
    imports: list[str]


def parse_document(doc: Document) -> ParsedDocument | None:
    """Parse ``doc`` and walk it (``None`` when the language/grammar is unavailable or the file too big)."""
    lang = language_of(doc)
    if lang is None:
        return None
    parser = parser_for(lang)
    if parser is None:
        return None
    content = doc.content
    src_text = re.sub(r"\r(?!\n)", "\n", content) if "\r" in content else content
    src = src_text.encode("utf-8", "surrogatepass") if _has_surrogates(src_text) else src_text.encode("utf-8")
    if len(src) > MAX_BYTES:
        return None
    tree = parser.parse(src)
    if tree is None:
        return None
    root = tree.root_node
    w = WALKERS[lang](src, lang)
    w.walk(root)
    # bodies, now that every class's fields are known
    known = {c["name"] for c in w.classes.values()}
    global_names = {g["name"] for g in w.globals}
    by_name = {c["name"]: c for c in w.classes.values()}

    def lineage(c: dict[str, Any]) -> list[dict[str, Any]]:
        out, stack, seen = [c], list(c["bases"]), {c["name"]}
        while stack and len(out) < 30:
            b = stack.pop()
            if b in seen or b not in by_name:
                continue
            seen.add(b)
            out.append(by_name[b])
            stack.extend(by_name[b]["bases"])
        return out

    for p in w.pending:
        cls = w.classes.get(p.class_key) if p.class_key else None
        chain = lineage(cls) if cls is not None else []
        fields = {f["name"] for k in chain for f in k["fields"]}
        methods = {m["name"] for k in chain for m in k["methods"]}
        analyzer = BodyAnalyzer(src, lang, own=cls["name"] if cls is not None else None, fields=fields,
                                own_methods=methods, bases=cls["bases"] if cls is not None else [],
                                receiver=p.receiver, globals_=global_names, known=known)
        analyzer.analyze(p.facts, p.params, p.body)
        if cls is not None and analyzer.static_locals:
            for name, tname in analyzer.static_locals:
                if not any(f["name"] == name for f in cls["fields"]):
                    cls["fields"].append(new_field(name, tname, static=True, visibility="private", line=p.facts.d["line"],
                                                   init="n:" + tname))
                p.facts.write("f:" + name, "n:" + tname)
                p.facts.d["rets"] = ["f:" + name if r == "n:" + tname or r == "l:" + name else r for r in p.facts.d["rets"]]
    classes = []
    for key, c in w.classes.items():
        vis = w.ctor_vis.get(key)
        c["private_ctor"] = bool(vis) and all(v == "private" for v in vis)
        c.pop("_key", None)
        for m in c["methods"]:
            m.pop("_decl_only", None)
        if not c["abstract"] and c["kind"] in ("class", "struct") and any(m["abstract"] for m in c["methods"]):
            c["abstract"] = True
        classes.append(c)
    for fn in w.functions:
        fn.pop("_decl_only", None)
    summary = finish_summary(uri=doc.uri, doc_id=doc.id, language=lang, classes=classes, functions=w.functions,
                             globals_=w.globals[:500])
    lines = split_lines(content)
    for d in w.defs:
        _attach_comments(w, d, lines)
        d.signature = w.signature(d.node, d.body)
        if lang == "go" and d.kind in ("struct", "interface"):
            d.signature = f"type {d.name} {d.kind}"
    w.defs.sort(key=lambda d: (d.start_line, d.node.start_byte))
    members: dict[str, list[str]] = {}
    for d in w.defs:
        if "." in d.qualname:
            members.setdefault(d.qualname.rsplit(".", 1)[0], []).append(d.name)
    for d in w.defs:
        d.members = members.get(d.qualname, [])
    return ParsedDocument(lang, lines, w.defs, summary, _error_line(root) if root.has_error else None, w.imports)


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _error_line(root: Any) -> int | None:
    stack = [root]
    seen = 0
    while stack and seen < 200_000:
        n = stack.pop()
        seen += 1
        if n.is_error or n.is_missing:
            return n.start_point[0] + 1
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


def _attach_comments(w: Walker, d: Definition, lines: list[str]) -> None:
    node = d.outer
    while node.parent is not None and node.parent.type in ("template_declaration", "decorated_definition"):
        node = node.parent  # `template <typename T>` belongs to what it declares
    d.outer = node
    start_row = node.start_point[0]
    doc_parts: list[str] = []
    prev = node.prev_sibling
    cur_row = start_row
    guard = 0
    while prev is not None and guard < 50:
        guard += 1
        if prev.type in _COMMENT_TYPES or prev.type in _ATTR_TYPES:
            if prev.end_point[0] < cur_row - 1:
                break
            if prev.type in _COMMENT_TYPES:
                doc_parts.append(w.text(prev))
            cur_row = prev.start_point[0]
            prev = prev.prev_sibling
            continue
        break
    d.start_line = cur_row + 1
    d.end_line = max(d.start_line, node.end_point[0] + 1 if node.end_point[1] > 0 else node.end_point[0])
    d.end_line = max(d.end_line, d.node.end_point[0] + 1 if d.node.end_point[1] > 0 else d.node.end_point[0])
    d.end_line = min(d.end_line, len(lines))
    d.doc = clean_doc("\n".join(reversed(doc_parts)))[:800]
