"""Helpers shared by the extractors: line handling, text clipping, record building, key de-duplication.

Lines are counted the way Python's tokenizer counts them (``\\n``, ``\\r\\n`` and ``\\r`` end a line;
form feeds and other Unicode separators do not), so ``ast`` line numbers and ours agree.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from schemas.patterns import PatternRecord, PatternTag, Span

SNIPPET_MAX_CHARS = 4000
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_WS_RE = re.compile(r"\s+")


def split_lines(content: str) -> list[str]:
    r"""The document's lines (1-based line ``n`` is ``lines[n - 1]``); no trailing empty line.

    >>> split_lines("a\r\nb\rc\n")
    ['a', 'b', 'c']
    >>> split_lines("")
    []
    """
    if not content:
        return []
    lines = content.split("\n") if "\r" not in content else _LINE_BREAK_RE.split(content)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class LineIndex:
    """Maps character offsets in the content to 1-based line numbers."""

    def __init__(self, content: str) -> None:
        self.starts = [0] + [m.end() for m in _LINE_BREAK_RE.finditer(content)]
        trailing = 1 if len(self.starts) > 1 and self.starts[-1] == len(content) else 0
        self.n_lines = max(1, len(self.starts) - trailing)

    def line_of(self, offset: int) -> int:
        return min(self.n_lines, max(1, bisect_right(self.starts, offset)))


def collapse_ws(text: str) -> str:
    """Runs of whitespace → one space, stripped."""
    return _WS_RE.sub(" ", text).strip()


def clip(text: str, max_chars: int) -> str:
    """``text`` stripped and cut to at most ``max_chars``, at a line or word boundary when one is near.

    >>> clip("alpha beta gamma", 12)
    'alpha beta'
    """
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    floor = int(max_chars * 0.6)
    for sep in ("\n", " "):
        pos = cut.rfind(sep)
        if pos >= floor:
            cut = cut[:pos]
            break
    cut = cut.rstrip()
    return cut if cut else text[:max_chars]


def snippet(lines: list[str], start: int, end: int) -> str:
    """Raw lines ``start..end`` (1-based, inclusive), capped at :data:`SNIPPET_MAX_CHARS`."""
    out = "\n".join(lines[start - 1 : end])
    return out[:SNIPPET_MAX_CHARS]


def trim_span(lines: list[str], start: int, end: int) -> tuple[int, int]:
    """Shrink ``start..end`` past blank lines at both ends (keeps at least one line)."""
    while start < end and not lines[start - 1].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


class KeyDeduper:
    """Make keys unique within a document, deterministically: the 2nd ``k`` becomes ``k#2``, …"""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._used: set[str] = set()

    def __call__(self, key: str) -> str:
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        out = key if n == 1 else f"{key}#{n}"
        while out in self._used:
            n += 1
            self._seen[key] = n
            out = f"{key}#{n}"
        self._used.add(out)
        return out


def tag(name: str, evidence: str | None = None, confidence: float = 1.0) -> PatternTag:
    return PatternTag(name=name, confidence=confidence, evidence=[evidence] if evidence else [])


def record(
    *,
    key: str,
    kind: str,
    name: str,
    lines: list[str],
    start: int,
    end: int,
    text: str,
    max_chars: int,
    extractor: str,
    language: str | None = None,
    section: str | None = None,
    tags: list[PatternTag] | None = None,
) -> PatternRecord | None:
    """Build a :class:`PatternRecord`, clamping the span to the document and the text to ``max_chars``.

    Returns ``None`` when nothing embeddable is left (empty text).
    """
    n = max(1, len(lines))
    start = min(max(1, start), n)
    end = min(max(start, end), n)
    text = clip(text, max_chars)
    if not text:
        return None
    return PatternRecord(
        key=key,
        kind=kind,
        name=name or key,
        span=Span(start_line=start, end_line=end, section=section),
        text=text,
        snippet=snippet(lines, start, end),
        language=language,
        tags=list(tags or []),
        extractor=extractor,
    )


def compose_text(header: list[str], body_lines: list[str], max_chars: int) -> str:
    """Header lines, then as many non-blank body lines as fit in ``max_chars``."""
    head = "\n".join(p for p in header if p)
    if len(head) >= max_chars:
        return head
    budget = max_chars - len(head) - 1
    out: list[str] = []
    used = 0
    for line in body_lines:
        if not line.strip():
            continue
        if used + len(line) + 1 > budget:
            break
        out.append(line)
        used += len(line) + 1
    return head + ("\n" + "\n".join(out) if out else "")


def line_at(offsets: list[int], pos: int) -> int:
    """Index of the line containing character ``pos``, given each line's start offset (sorted)."""
    lo, hi = 0, len(offsets) - 1
    while lo < hi - 1:
        mid = (lo + hi) // 2
        if offsets[mid] <= pos:
            lo = mid
        else:
            hi = mid
    return lo
