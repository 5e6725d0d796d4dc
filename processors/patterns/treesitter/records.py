"""Definitions of a parsed document (:mod:`.parse`) → one record per type, function and method.

The text to embed is ``<kind> <qualname>``, the doc comment, the signature, for types the member
names, then as much of the body as fits. A file that parsed into no definition becomes passages
tagged ``syntax_error`` (parse errors) or blank-line ``block`` patterns (a script).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import PurePosixPath

from processors.patterns import generic_code
from processors.patterns import text as text_extractor
from processors.patterns.records import KeyDeduper, collapse_ws, compose_text, record, tag
from processors.patterns.treesitter.parse import ParsedDocument, clean_doc
from processors.patterns.treesitter.walker import Definition
from schemas.documents import Document
from schemas.patterns import PatternRecord

__all__ = ["EXTRACTOR", "build_records"]

EXTRACTOR = "treesitter_code/1.0.0"


def _body_lines(lines: list[str], d: Definition, max_chars: int) -> list[str]:
    body = d.body
    sig_end_row = d.node.start_point[0] if body is None else body.start_point[0]
    if body is not None and body.start_point[0] == body.end_point[0]:
        line = lines[body.start_point[0]] if body.start_point[0] < len(lines) else ""
        one = line[body.start_point[1]:body.end_point[1]] if body.end_point[1] > body.start_point[1] else ""
        return [collapse_ws(one)] if one.strip() else []  # one-liner: its body
    first = sig_end_row + 2  # 1-based line after the one that opens the body
    last = d.end_line
    if first > last:
        return []
    if last > first and lines[last - 1].strip() in ("}", "};", "})", "});", "end"):
        last -= 1  # the closing brace adds nothing
    head: list[str] = []
    size = 0
    for line in lines[first - 1 : last]:
        head.append(line)
        size += len(line) + 1
        if size > max_chars * 2:
            break
    return textwrap.dedent("\n".join(head)).split("\n")


def _stem(uri: str | None) -> str:
    if not uri:
        return "<module>"
    return PurePosixPath(uri.replace("\\", "/").split("?", 1)[0]).stem or "<module>"


def build_records(doc: Document, parsed: ParsedDocument, max_chars: int) -> list[PatternRecord]:
    """The module record, then one record per definition in document order (see the module doc)."""
    lines = parsed.lines
    err_tags = [tag("syntax_error", f"line {parsed.error_line}: parse error")] if parsed.error_line else []
    if not parsed.defs:
        if err_tags:  # nothing parsed into a definition: plain passages, flagged
            return text_extractor.passages(doc.content, max_chars=max_chars, language=parsed.lang, tags=err_tags)
        return [b.model_copy(update={"extractor": EXTRACTOR}) for b in generic_code.blank_line_blocks(doc, lines, max_chars)]
    keys = KeyDeduper()
    out: list[PatternRecord] = []
    stem = _stem(doc.uri)
    lang = parsed.lang
    top = [d.qualname for d in parsed.defs if "." not in d.qualname and d.kind != "impl"]
    file_doc = ""
    first = parsed.defs[0]
    if first.start_line > 1:
        head = "\n".join(lines[: min(first.start_line - 1, 40)])
        m = re.match(r"\s*(/\*[\s\S]*?\*/|(?:\s*//[^\n]*\n?)+)", head)
        if m:
            file_doc = clean_doc(m.group(1))[:600]
    header = [f"module {stem}", f"language: {lang}", file_doc]
    if top:
        header.append("Defines: " + ", ".join(dict.fromkeys(top)))
    if parsed.imports:
        header.append("Imports: " + ", ".join(dict.fromkeys(parsed.imports)))
    rec = record(key=keys(f"module:{stem}"), kind="module", name=stem, lines=lines, start=1, end=len(lines),
                 text=compose_text(header, [], max_chars), max_chars=max_chars, extractor=EXTRACTOR, language=lang,
                 tags=err_tags)
    if rec is not None:
        out.append(rec)
    for d in parsed.defs:
        header = [f"{d.kind} {d.qualname}", d.doc, d.signature]
        if d.members and d.kind not in ("function", "method"):
            header.append("Members: " + ", ".join(dict.fromkeys(d.members)))
        tags = list(d.tags)
        if parsed.error_line and (d.node.has_error or d.outer.has_error):
            tags.extend(err_tags)
        rec = record(key=keys(f"{d.kind}:{d.qualname}"), kind=d.kind, name=d.qualname, lines=lines,
                     start=d.start_line, end=d.end_line, text=compose_text(header, _body_lines(lines, d, max_chars), max_chars),
                     max_chars=max_chars, extractor=EXTRACTOR, language=lang, tags=tags)
        if rec is not None:
            out.append(rec)
    return out
