"""Documentation (Markdown, reStructuredText, simple HTML) → section passages.

Headings recognised: Markdown ATX (``## Title``) and setext (``Title`` over ``===``/``---``),
reStructuredText titles (underlined, optionally overlined, with any punctuation character; levels
in order of first appearance, as reST defines them) and one-line HTML ``<h1>``–``<h6>``. Nothing
inside fenced code blocks (```` ``` ````/``~~~``) or YAML front matter counts as a heading.

Each section's body is cut at paragraph boundaries (blank lines outside code fences) into chunks
that fit ``max_chars`` together with the heading path; an over-long paragraph is cut at sentences
(or lines, for code blocks). The text to embed is ``<heading path>\\n\\n<chunk>``, the heading path is
kept in ``span.section`` (``Install > Linux``), and keys are ``section:<heading path>#<n>`` with
``n`` counting that path's chunks in document order (text before the first heading has the path
``(preamble)``). Sections with an empty body produce nothing.

After the sections come the page's ``practice``, ``code_example`` and ``procedure`` patterns
(:mod:`.practices`). HTML pages are read through a view with tags stripped (:mod:`.html_text`: same
line numbers; ``<script>``/``<style>`` dropped, ``<li>`` as list items, ``<pre>`` as code); snippets
stay the raw lines.

>>> from schemas.documents import Document
>>> md = "# Guide\\n\\nIntro.\\n\\n## Install\\n\\nRun it.\\n\\n```sh\\n# not a heading\\n```\\n"
>>> ps = extract(Document(id="d", type="documentation", content=md, version="v"))
>>> [(p.key, p.span.section, p.span.start_line, p.span.end_line) for p in ps]  # doctest: +NORMALIZE_WHITESPACE
[('section:Guide#1', 'Guide', 1, 3), ('section:Guide > Install#1', 'Guide > Install', 5, 11),
 ('code_example:Guide > Install#1', 'Guide > Install', 9, 11)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processors.patterns import practices
from processors.patterns.html_text import html_view, is_html
from processors.patterns import text as text_extractor
from processors.patterns.records import line_at, record, snippet, split_lines
from schemas.documents import Document
from schemas.patterns import PatternRecord

__all__ = ["EXTRACTOR", "PREAMBLE", "extract", "find_headings"]

EXTRACTOR = "docs/1.0.0"
PREAMBLE = "(preamble)"

_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ADORNMENT_RE = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")  # a line of one repeated punctuation character
_HTML_H_RE = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)</h\1>\s*$", re.I)
_TAG_RE = re.compile(r"<[^<>]*>")
_MD_PATH_SEP = " > "


@dataclass
class Heading:
    level: int
    title: str
    first_line: int  # 1-based, first line of the heading (overline included)
    last_line: int  # 1-based, last line of the heading (underline included)


def _atx_title(rest: str) -> str:
    """Heading text without the optional closing ``#`` run (``## Title ##`` → ``Title``)."""
    title = rest.strip()
    stripped = title.rstrip("#")
    if stripped != title and (not stripped or stripped[-1] in " \t"):
        title = stripped.strip()
    return title


def _is_rst(doc: Document) -> bool:
    lang = (doc.language or "").lower()
    uri = (doc.uri or "").lower()
    return lang in {"rst", "restructuredtext"} or uri.endswith((".rst", ".rest"))


def _front_matter_end(lines: list[str]) -> int:
    """Number of leading lines taken by YAML front matter (``---`` … ``---``/``...``), 0 if none."""
    if lines and lines[0].strip() == "---":
        for i in range(1, min(len(lines), 200)):
            if lines[i].strip() in {"---", "..."}:
                return i + 1
    return 0


def find_headings(lines: list[str], *, rst: bool = False) -> list[Heading]:
    """Headings of a document, in order (see the module doc for what counts)."""
    headings: list[Heading] = []
    styles: list[tuple[str, bool]] = []  # reST adornment styles in order of appearance
    fence: str | None = None
    i = _front_matter_end(lines)
    n = len(lines)
    while i < n:
        line = lines[i]
        m = _FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = None
            i += 1
            continue
        if m:
            fence = m.group(1)
            i += 1
            continue
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        atx = _ATX_RE.match(line)
        if atx and not rst:
            title = _atx_title(line[atx.end() :])
            if title:
                headings.append(Heading(len(atx.group(1)), title, i + 1, i + 1))
            i += 1
            continue
        html = _HTML_H_RE.match(line)
        if html:
            title = " ".join(_TAG_RE.sub("", html.group(2)).split())
            if title:
                headings.append(Heading(int(html.group(1)), title, i + 1, i + 1))
            i += 1
            continue
        # overlined reST title: adornment / title / same adornment
        if rst and _ADORNMENT_RE.match(line) and i + 2 < n and lines[i + 1].strip() and lines[i + 2].strip() == stripped:
            title = lines[i + 1].strip()
            style = (stripped[0], True)
            if style not in styles:
                styles.append(style)
            headings.append(Heading(styles.index(style) + 1, title, i + 1, i + 3))
            i += 3
            continue
        # underlined title (reST) or setext (Markdown)
        if i + 1 < n and not line[:1].isspace() and not _ADORNMENT_RE.match(line):
            under = lines[i + 1].strip()
            um = _ADORNMENT_RE.match(lines[i + 1])
            prev_blank = i == 0 or not lines[i - 1].strip() or (headings and headings[-1].last_line == i)
            if um and prev_blank and len(under) >= min(len(stripped), 3):
                ch = under[0]
                if rst:
                    style = (ch, False)
                    if style not in styles:
                        styles.append(style)
                    headings.append(Heading(styles.index(style) + 1, stripped, i + 1, i + 2))
                    i += 2
                    continue
                if ch in "=-":
                    headings.append(Heading(1 if ch == "=" else 2, stripped, i + 1, i + 2))
                    i += 2
                    continue
        i += 1
    return headings


def _blocks(lines: list[str], start: int, end: int) -> list[tuple[int, int, bool]]:
    """Paragraph blocks ``(first, last, is_code)`` of lines ``start..end``; fences stay whole."""
    blocks: list[tuple[int, int, bool]] = []
    cur: int | None = None
    fence: str | None = None
    fence_start = 0
    for ln in range(start, end + 1):
        line = lines[ln - 1]
        m = _FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                blocks.append((fence_start, ln, True))
                fence = None
            continue
        if m:
            if cur is not None:
                blocks.append((cur, ln - 1, False))
                cur = None
            fence, fence_start = m.group(1), ln
            continue
        if line.strip():
            if cur is None:
                cur = ln
        elif cur is not None:
            blocks.append((cur, ln - 1, False))
            cur = None
    if fence is not None:
        blocks.append((fence_start, end, True))
    elif cur is not None:
        blocks.append((cur, end, False))
    return blocks


@dataclass
class _Piece:
    first: int
    last: int
    text: str
    block: int


def _pieces(lines: list[str], blocks: list[tuple[int, int, bool]], budget: int) -> list[_Piece]:
    """Blocks as pieces within ``budget`` (long prose → sentences, long code → lines)."""
    out: list[_Piece] = []
    for b, (first, last, is_code) in enumerate(blocks):
        raw = "\n".join(lines[first - 1 : last])
        if len(raw.strip()) <= budget:
            out.append(_Piece(first, last, raw.strip(), b))
            continue
        if is_code:
            cur_first, cur = first, []
            size = 0
            for ln in range(first, last + 1):
                line = lines[ln - 1]
                if len(line) > budget:  # one huge line: cut it
                    if cur:
                        out.append(_Piece(cur_first, ln - 1, "\n".join(cur), b))
                        cur, size = [], 0
                    for k in range(0, len(line), budget):
                        if line[k : k + budget].strip():
                            out.append(_Piece(ln, ln, line[k : k + budget], b))
                    cur_first = ln + 1
                    continue
                if cur and size + len(line) + 1 > budget:
                    out.append(_Piece(cur_first, ln - 1, "\n".join(cur), b))
                    cur, size, cur_first = [], 0, ln
                cur.append(line)
                size += len(line) + 1
            if cur and "\n".join(cur).strip():
                out.append(_Piece(cur_first, last, "\n".join(cur), b))
            continue
        # prose: sentence units over this block's characters
        block_text = raw
        index_base = first
        offsets = [0]
        for line in lines[first - 1 : last]:
            offsets.append(offsets[-1] + len(line) + 1)
        for u in text_extractor.split_units(block_text, 0, len(block_text), budget):
            ls = index_base + line_at(offsets, u.start)
            le = index_base + line_at(offsets, u.end - 1)
            out.append(_Piece(ls, le, u.text, b))
    return out


def extract(doc: Document, *, max_chars: int = 1200) -> list[PatternRecord]:
    """Section passages of a documentation page, then its ``practice``, ``code_example`` and ``procedure``
    patterns (see :mod:`.practices`). HTML is read through a tag-stripped view with the same lines."""
    if not doc.content.strip():
        return []
    raw_lines = split_lines(doc.content)
    if is_html(doc):
        lines = html_view(raw_lines)
    else:
        lines = raw_lines
    sections = _sections(doc, lines, max_chars)
    extras = practices.extract_extras(lines, find_headings(lines, rst=_is_rst(doc)), rst=_is_rst(doc),
                                      max_chars=max_chars, extractor=EXTRACTOR, language=doc.language)
    out = sections + extras
    if lines is not raw_lines:  # snippets are the raw source lines
        out = [r.model_copy(update={"snippet": snippet(raw_lines, r.span.start_line, r.span.end_line)}) for r in out]
    return out


def _sections(doc: Document, lines: list[str], max_chars: int) -> list[PatternRecord]:
    headings = find_headings(lines, rst=_is_rst(doc))
    # sections: (path, title, body_first, body_last)
    sections: list[tuple[str, str, int, int]] = []
    body_first = 1
    stack: list[tuple[int, str]] = []
    path, title = "", ""
    for h in headings:
        if h.first_line - 1 >= body_first:
            sections.append((path, title, body_first, h.first_line - 1))
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        stack.append((h.level, h.title))
        path = _MD_PATH_SEP.join(t for _, t in stack)
        title = h.title
        body_first = h.last_line + 1
    if body_first <= len(lines):
        sections.append((path, title, body_first, len(lines)))

    out: list[PatternRecord] = []
    counters: dict[str, int] = {}
    heading_at = {h.last_line + 1: h.first_line for h in headings}  # body's first line → heading's first line
    for path, title, first, last in sections:
        blocks = _blocks(lines, first, last)
        if not blocks:
            continue
        label = path or PREAMBLE
        prefix = (path[: max_chars // 3] + "\n\n") if path else ""
        budget = max(1, max_chars - len(prefix))
        heading_first = heading_at.get(first)
        pieces = _pieces(lines, blocks, budget)
        chunks: list[list[_Piece]] = []
        size = 0
        for p in pieces:
            sep = 0 if not chunks or not chunks[-1] else (1 if chunks[-1][-1].block == p.block else 2)
            if chunks and chunks[-1] and size + sep + len(p.text) <= budget:
                chunks[-1].append(p)
                size += sep + len(p.text)
            else:
                chunks.append([p])
                size = len(p.text)
        for chunk in chunks:
            body = ""
            for j, p in enumerate(chunk):
                if j:
                    body += "\n" if chunk[j - 1].block == p.block else "\n\n"
                body += p.text
            n = counters.get(label, 0) + 1
            counters[label] = n
            start = chunk[0].first
            if n == 1 and heading_first is not None:
                start = heading_first  # the first chunk of a section spans its heading too
            rec = record(
                key=f"section:{label}#{n}",
                kind="section",
                name=title or label,
                lines=lines,
                start=start,
                end=chunk[-1].last,
                text=prefix + body,
                max_chars=max_chars,
                extractor=EXTRACTOR,
                language=doc.language,
                section=path or None,
            )
            if rec is not None:
                out.append(rec)
    return out

