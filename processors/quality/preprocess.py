"""One text normalization for training rows *and* raw pipeline documents.

The training data (Stack Overflow questions, ``/work/shared/datasets/so_quality``) was cleaned by its
publisher: title and HTML body joined, lowercased, punctuation removed (parentheses kept,
apostrophes deleted: ``don't`` → ``dont``), NLTK English stop words dropped. The publisher removed
the *syntax* of the HTML but not the tag names, so formatting survives as words: a code block
``<pre><code>x &lt; y</code></pre>`` became ``pre code x lt gt code pre``-like token runs, links
``href http … rel nofollow``, emphasis ``strong … strong``; ``<p>`` tags were dropped. Those words
are among the strongest quality signals of the data (a well-formatted question has code blocks).

:func:`preprocess` maps any text into that space, so a raw pipeline document looks like a
training row:

1. line endings normalized, size capped (:data:`MAX_CHARS`, the head of the document);
2. markdown rendered to the HTML *words* the training rows carry (fenced/indented code blocks →
   ``pre code … code pre``, inline code → ``code … code``, links → ``href URL text``, images →
   ``img src URL alt``, bold → ``strong``, italics → ``em``, headings → ``h1``..``h6``, lists →
   ``li``, quotes → ``blockquote``); a document of type *code* reads like a question about it:
   docstrings and comment lines are the prose, the code between them ``pre code`` blocks;
3. HTML: ``<p>``, comments, ``<script>``/``<style>`` bodies dropped; other tags reduced to their
   names and attributes; entities keep their names (``&lt;`` → ``lt``, as in the rows); in
   markdown code, ``<``, ``>``, ``&`` become ``lt``, ``gt``, ``amp`` (the HTML of a rendered code
   block escapes them);
4. lowercased, ``https`` → ``http`` (the rows have no ``https``), apostrophes deleted, every other
   character that is not a letter, digit or parenthesis becomes a space;
5. stop words (:data:`STOP_WORDS`, NLTK's English list, shipped here) dropped; tokens joined by one
   space.

All whitespace collapses to single spaces: the rows' line breaks are an artefact of the source
format (``\\r\\n`` in markdown-sourced ``LQ_EDIT`` rows, ``\\n\\n`` in HTML-sourced rows) that would
otherwise let a model learn "CRLF = low quality"; a pipeline document's line endings say nothing
about its quality.

Applied to an already-cleaned training row, :func:`preprocess` only collapses whitespace (it is
idempotent): ``preprocess(preprocess(x)) == preprocess(x)``.

>>> preprocess("<p>How do I <strong>sort</strong> a list?</p><pre><code>xs.sort(key=len) # a &lt; b</code></pre>")
'strong sort strong list pre code xs sort(key len) lt b code pre'
>>> preprocess("Why doesn't `x < 1` work?\\n\\n```python\\nprint(x)\\n```")
'doesnt code x lt 1 code work pre code print(x) code pre'
>>> preprocess('strong sort strong list pre code xs sort(key len) lt b code pre')
'strong sort strong list pre code xs sort(key len) lt b code pre'
"""

from __future__ import annotations

import re

from schemas.documents import Document, DocumentType

__all__ = ["MAX_CHARS", "PREPROCESS_VERSION", "STOP_WORDS", "document_text", "preprocess"]

PREPROCESS_VERSION = "1"
MAX_CHARS = 32_000
"""Raw characters read from a document (its head); the longest training row has ~34k cleaned characters."""

# NLTK 3.x ``stopwords.words("english")`` (179 words), the list the training rows were cleaned with.
STOP_WORDS: frozenset[str] = frozenset(
    """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him
    his himself she she's her hers herself it it's its itself they them their theirs themselves what which who
    whom this that that'll these those am is are was were be been being have has had having do does did doing a
    an the and but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here there when
    where why how all any both each few more most other some such no nor not only own same so than too very s t
    can will just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't
    doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't
    shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
    """.split()
)

_HTML_TAG_RE = re.compile(r"<(?:/?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?|!--.*?--)>", re.S)
_HTML_DROP_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|</?p(?:\s[^<>]*)?>", re.S | re.I)
_HTML_CODE_RE = re.compile(r"<(pre|code)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)
_FENCE_RE = re.compile(r"^[ \t]*(```+|~~~+)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_INDENTED_RE = re.compile(r"(?:^(?:\t| {4})[^\n]*\n?)+", re.M)
_INLINE_CODE_RE = re.compile(r"(`+)([^`\n]+?)\1")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)[^)]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)[^)]*\)")
_BOLD_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+([^\n]*?)[ \t#]*$", re.M)
_LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d+\.)[ \t]+", re.M)
_QUOTE_RE = re.compile(r"^[ \t]*>[ \t]?", re.M)
_APOSTROPHE_RE = re.compile(r"['\u2019]")
_NON_WORD_RE = re.compile(r"[^\w\s()]|_")
_PUNCT_RE = re.compile(r"[^\w\s()]")
_CODE_MARK = "\x00"  # protects rendered code from the markdown rules that follow
_DOCSTRING_RE = re.compile(r"^[rRbBuU]{0,2}(\"\"\"|\'\'\')")
_COMMENT_LINE_RE = re.compile(r"^(?:#(?!!|include\b|define\b|if|endif|else|pragma|import\b)|//+|/\*+|\*/?|--(?!-))\s?")


def _code_words(code: str) -> str:
    """Code as the HTML source would carry it: ``<``, ``>``, ``&`` as entity names."""
    return code.replace("&", " amp ").replace("<", " lt ").replace(">", " gt ")


def _block(code: str) -> str:
    return f"\n{_CODE_MARK}pre code {_code_words(code)} code pre{_CODE_MARK}\n"


def _render_html(text: str) -> str:
    text = _HTML_DROP_RE.sub(" ", text)
    # Code in HTML is already entity-escaped; the names survive the punctuation pass as words.
    text = _HTML_TAG_RE.sub(lambda m: " " + m.group(0)[1:-1] + " ", text)
    return text


def _indented(m: re.Match) -> str:
    # An indented block with punctuation is code; cleaned training rows have none (idempotence).
    block = m.group(0)
    return _block(block) if _CODE_MARK not in block and _PUNCT_RE.search(block) else block


def _render_markdown(text: str) -> str:
    text = _FENCE_RE.sub(lambda m: _block(m.group(2)), text)
    text = _INDENTED_RE.sub(_indented, text)
    text = _INLINE_CODE_RE.sub(lambda m: f" {_CODE_MARK}code {_code_words(m.group(2))} code{_CODE_MARK} ", text)
    parts = text.split(_CODE_MARK)  # odd parts are rendered code: leave them alone
    for i in range(0, len(parts), 2):
        p = parts[i]
        p = _IMAGE_RE.sub(r" img src \2 alt \1 ", p)
        p = _LINK_RE.sub(r" href \2 \1 ", p)
        p = _BOLD_RE.sub(r" strong \2 strong ", p)
        p = _ITALIC_RE.sub(r" em \1 em ", p)
        p = _HEADING_RE.sub(lambda m: f" h{len(m.group(1))} {m.group(2)} h{len(m.group(1))} ", p)
        p = _LIST_RE.sub(" li ", p)
        p = _QUOTE_RE.sub(" blockquote ", p)
        parts[i] = p
    return " ".join(parts)


def _render_code(source: str) -> str:
    """A source file as a question would show it: its prose (docstrings, comment lines) as text,
    the code between as ``pre code … code pre`` blocks."""
    out: list[str] = []
    code: list[str] = []
    quote = ""  # the open docstring delimiter

    def flush() -> None:
        if any(ln.strip() for ln in code):
            out.append(_block("\n".join(code)))
        code.clear()

    for line in source.split("\n"):
        s = line.strip()
        if quote:
            if quote in s:
                out.append(" " + s[: s.index(quote)])
                quote = ""
            else:
                out.append(" " + s)
            continue
        m = _DOCSTRING_RE.match(s)
        if m:
            flush()
            q, rest = m.group(1), s[m.end():]
            if q in rest:
                out.append(" " + rest[: rest.index(q)])
            else:
                out.append(" " + rest)
                quote = q
            continue
        m = _COMMENT_LINE_RE.match(s)
        if m:
            flush()
            out.append(" " + s[m.end():])
            continue
        code.append(line)
    flush()
    return "\n".join(out)


def preprocess(text: str, *, code: bool = False) -> str:
    """``text`` (raw markdown/HTML/code, or an already-cleaned training row) → cleaned tokens.

    ``code=True`` reads the text as a source file (documents of type *code*): docstrings and
    comment lines are its prose, the code between them ``pre code … code pre`` blocks.
    """
    text = text[:MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    if code:
        text = _render_code(text)
    else:
        if "<" in text and _HTML_TAG_RE.search(text):
            text = _render_html(text)
        text = _render_markdown(text)
    text = text.replace(_CODE_MARK, " ").lower().replace("https", "http")
    text = _NON_WORD_RE.sub(" ", _APOSTROPHE_RE.sub("", text))
    return " ".join(w for w in text.split() if w not in STOP_WORDS)


def document_text(doc: Document) -> str:
    """The cleaned text of a pipeline document: title (when set) and content, as a training row.

    Embed *this* text (the embedder keeps its first 256 tokens) and pass the vector to
    :meth:`processors.quality.model.QualityModel.score`.
    """
    title = preprocess(doc.title) if doc.title else ""
    code_like = doc.type == DocumentType.code
    body = preprocess(doc.content, code=code_like)
    return f"{title} {body}" if title else body
