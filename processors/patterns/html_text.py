"""HTML documentation read as text: the same lines with tags stripped, so headings, lists and code still show.

>>> list(html_view(["<h1>Install</h1>", "<p>Run <b>make</b> &amp; wait.</p>", "<ol>", "<li>Build</li>", "</ol>"]))
['<h1>Install</h1>', 'Run make & wait.', '', '1. Build', '']
"""

from __future__ import annotations

import html
import re

from schemas.documents import Document

__all__ = ["HtmlLines", "html_view", "is_html"]

_HTML_DOC_RE = re.compile(r"^\s*(?:<!doctype\s+html|<html\b|<body\b|<head\b|<div\b|<p\b|<h[1-6]\b)", re.I)
_TAG_RE = re.compile(r"<[^<>]*>")
_BLOCK_OPEN_RE = re.compile(r"<(script|style|noscript|template)\b[^>]*>", re.I)


def is_html(doc: Document) -> bool:
    lang = (doc.language or "").lower()
    uri = (doc.uri or "").lower().split("?", 1)[0]
    return lang in ("html", "htm", "xhtml") or uri.endswith((".html", ".htm", ".xhtml")) or bool(_HTML_DOC_RE.match(doc.content[:300]))


class HtmlLines(list):
    """Lines of an HTML page's text view, with the ``<pre>`` blocks found: ``(first, last, language)``."""

    code_blocks: list[tuple[int, int, str]]


def html_view(lines: list[str]) -> list[str]:
    """The same number of lines with tags stripped, entities decoded, ``<script>``/``<style>`` blanked,
    ``<li>`` as list markers (numbered inside ``<ol>``), ``<pre>`` as code fences and one-line headings kept
    as ``<hN>`` so :func:`docs.find_headings` still sees them."""
    out = HtmlLines()
    out.code_blocks = []
    skip: str | None = None
    ol_depth = 0
    counters: list[int] = []
    in_pre = False
    pre_start, pre_lang = 0, ""
    for line in lines:
        if skip is not None:
            if re.search(rf"</{skip}\s*>", line, re.I):
                skip = None
            out.append("")
            continue
        m = _BLOCK_OPEN_RE.search(line)
        if m and not re.search(rf"</{m.group(1)}\s*>", line, re.I):
            skip = m.group(1).lower()
            out.append("")
            continue
        if re.match(r"\s*<h[1-6]\b[^>]*>.*</h[1-6]>\s*$", line, re.I):
            out.append(line.strip())
            continue
        text = line
        pre_open = re.match(r"\s*<pre\b[^>]*>(?:\s*<code\b([^>]*)>)?", text, re.I)
        if pre_open and not in_pre:
            lang = ""
            cm = re.search(r'class="[^"]*?(?:language|lang)-([\w+#-]+)', pre_open.group(0))
            if cm:
                lang = cm.group(1)
            rest = re.split(r"</pre>", text[pre_open.end():], 1, flags=re.I)
            out.append(html.unescape(_TAG_RE.sub("", rest[0])))
            pre_start, pre_lang = len(out), lang
            in_pre = len(rest) == 1
            if not in_pre:
                out.code_blocks.append((pre_start, pre_start, pre_lang))
            continue
        if in_pre:
            if re.search(r"</pre>", text, re.I):
                in_pre = False
                before = re.split(r"</pre>", text, 1, flags=re.I)[0]
                out.append(html.unescape(_TAG_RE.sub("", before)))
                last = len(out) if _TAG_RE.sub("", before).strip() else len(out) - 1
                out.code_blocks.append((pre_start, max(pre_start, last), pre_lang))
            else:
                out.append(html.unescape(_TAG_RE.sub("", text)))
            continue
        for tag in re.findall(r"<(/?)(ol|ul)\b", text, re.I):
            if tag[1].lower() == "ol":
                if tag[0]:
                    ol_depth = max(0, ol_depth - 1)
                    if counters:
                        counters.pop()
                else:
                    ol_depth += 1
                    counters.append(0)

        def li(_m: re.Match[str]) -> str:
            if ol_depth and counters:
                counters[-1] += 1
                return f"{counters[-1]}. "
            return "- "

        text = re.sub(r"<li\b[^>]*>", li, text, flags=re.I)
        text = re.sub(r"<br\s*/?>", " ", text, flags=re.I)
        text = html.unescape(_TAG_RE.sub("", text))
        out.append(text.rstrip())
    return out
