"""Plain-text passages: sentence-aware chunks within ``max_chars``, overlapping by one sentence.

The fallback of every other extractor. Keys are ``passage:<n>`` (1-based, in document order): stable
for the same content, which is all a point id needs (a changed document replaces its points).

>>> from schemas.documents import Document
>>> text = "One fine day. " * 3 + "The end came soon. " * 3
>>> ps = extract(Document(id="d", type="general", content=text, version="v"), max_chars=60)
>>> [p.key for p in ps]
['passage:1', 'passage:2']
>>> ps[0].text
'One fine day. One fine day. One fine day. The end came soon.'
>>> ps[1].text  # starts with the last sentence of passage 1
'The end came soon. The end came soon. The end came soon.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processors.patterns.records import LineIndex, collapse_ws, record, split_lines
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["EXTRACTOR", "Unit", "extract", "group_units", "passages", "split_units"]

EXTRACTOR = "text/1.0.0"

# Both start with a character class that cannot repeat inside the match's own first run, so
# finditer stays linear even on huge runs of spaces or dots.
_PARAGRAPH_BREAK_RE = re.compile(r"(?:\r\n|\r|\n)(?:[ \t\f\v]*+(?:\r\n|\r|\n))+")
_SENTENCE_END_RE = re.compile(r"(?<![.!?\u2026\u3002])[.!?\u2026\u3002]++[\"'\u201d\u2019)\]]*+(?=\s|$)")
_WORD_RE = re.compile(r"\S+")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "mr", "mrs", "ms", "dr", "vs", "etc", "fig", "cf", "no", "st", "approx"})


@dataclass(frozen=True)
class Unit:
    """A sentence (or a piece of an over-long sentence): character range and normalised text."""

    start: int
    end: int
    text: str


def _is_abbreviation(content: str, dot: int, floor: int) -> bool:
    """True when the '.' at ``dot`` ends a known abbreviation or a single letter ("e.g.", "J. Smith")."""
    i = dot
    while i > floor and not content[i - 1].isspace():
        i -= 1
    word = content[i:dot].lower().lstrip("([\"'")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _hard_split(content: str, start: int, end: int, max_chars: int) -> list[Unit]:
    """Pieces of ``content[start:end]`` within ``max_chars``, cut between words (inside a word if it must)."""
    out: list[Unit] = []
    words: list[tuple[int, int]] = []
    for m in _WORD_RE.finditer(content, start, end):
        ws, we = m.start(), m.end()
        while we - ws > max_chars:  # one huge "word" (a blob): cut it
            words.append((ws, ws + max_chars))
            ws += max_chars
        words.append((ws, we))
    cur_start = cur_end = -1
    cur_len = 0
    for ws, we in words:
        wl = we - ws
        if cur_start >= 0 and cur_len + 1 + wl > max_chars:
            out.append(Unit(cur_start, cur_end, collapse_ws(content[cur_start:cur_end])))
            cur_start = -1
        if cur_start < 0:
            cur_start, cur_end, cur_len = ws, we, wl
        else:
            cur_end, cur_len = we, cur_len + 1 + wl
    if cur_start >= 0:
        out.append(Unit(cur_start, cur_end, collapse_ws(content[cur_start:cur_end])))
    # collapse_ws never lengthens; a piece made of one cut word is exactly max_chars at most
    return [u for u in out if u.text]


def split_units(content: str, start: int, end: int, max_chars: int) -> list[Unit]:
    """Sentences of ``content[start:end]``, each within ``max_chars`` (long ones are hard-split).

    Paragraph breaks (blank lines) always end a sentence.
    """
    units: list[Unit] = []
    para_start = start
    bounds: list[tuple[int, int]] = []
    for m in _PARAGRAPH_BREAK_RE.finditer(content, start, end):
        bounds.append((para_start, m.start()))
        para_start = m.end()
    bounds.append((para_start, end))
    for ps, pe in bounds:
        s = ps
        for m in _SENTENCE_END_RE.finditer(content, ps, pe):
            if content[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(content, m.start(), s):
                continue
            units.extend(_units_for(content, s, m.end(), max_chars))
            s = m.end()
        units.extend(_units_for(content, s, pe, max_chars))
    return units


def _units_for(content: str, start: int, end: int, max_chars: int) -> list[Unit]:
    # skip leading/trailing whitespace so offsets point at text
    while start < end and content[start].isspace():
        start += 1
    while end > start and content[end - 1].isspace():
        end -= 1
    if start >= end:
        return []
    text = collapse_ws(content[start:end])
    if len(text) <= max_chars:
        return [Unit(start, end, text)]
    return _hard_split(content, start, end, max_chars)


def group_units(units: list[Unit], max_chars: int, *, overlap: bool = True) -> list[list[Unit]]:
    """Greedy passages of units joined by spaces, each within ``max_chars``.

    With ``overlap``, a passage starts with the last sentence of the previous one whenever that
    sentence and the next both fit (and the previous passage had more than one sentence).
    """
    groups: list[list[Unit]] = []
    cur: list[Unit] = []
    cur_len = 0
    for u in units:
        add = len(u.text) + (1 if cur else 0)
        if cur and cur_len + add > max_chars:
            groups.append(cur)
            last = cur[-1]
            if overlap and len(cur) >= 2 and len(last.text) + 1 + len(u.text) <= max_chars:
                cur, cur_len = [last], len(last.text)
            else:
                cur, cur_len = [], 0
            add = len(u.text) + (1 if cur else 0)
        cur.append(u)
        cur_len += add
    if cur:
        groups.append(cur)
    return groups


def passages(
    content: str,
    *,
    max_chars: int,
    language: str | None = None,
    tags: list[PatternTag] | None = None,
    extractor: str = EXTRACTOR,
    kind: str = "passage",
    key_prefix: str = "passage",
) -> list[PatternRecord]:
    """Sentence-aware passages of the whole ``content`` (keys ``<key_prefix>:<n>``)."""
    if not content or not content.strip():
        return []
    lines = split_lines(content)
    index = LineIndex(content)
    out: list[PatternRecord] = []
    for n, group in enumerate(group_units(split_units(content, 0, len(content), max_chars), max_chars), start=1):
        start = index.line_of(group[0].start)
        end = index.line_of(group[-1].end - 1)
        rec = record(
            key=f"{key_prefix}:{n}",
            kind=kind,
            name=f"{key_prefix} {n}",
            lines=lines,
            start=start,
            end=end,
            text=" ".join(u.text for u in group),
            max_chars=max_chars,
            extractor=extractor,
            language=language,
            tags=tags,
        )
        if rec is not None:
            out.append(rec)
    return out


def extract(doc: Document, *, max_chars: int = 1200, tags: list[PatternTag] | None = None) -> list[PatternRecord]:
    """Passages of ``doc.content``."""
    return passages(doc.content, max_chars=max_chars, language=doc.language, tags=tags)
