"""Documentation extras: best-practice statements, code examples and step-by-step procedures.

* ``practice:<heading path>#<n>`` — one sentence with normative language (*must*, *must not*, *never*,
  *always*, *do not*, *shall*, *required* → tag ``practice:requirement``; *should*, *avoid*, *prefer*,
  *recommended*, *best practice*, *make sure*, *ensure*, *instead of* → ``practice:recommendation``;
  *consider* → ``practice:suggestion``), or a list item that starts with such an imperative
  (“Avoid …”, “Prefer …”, “Never …”). The text is the heading path and the sentence.
* ``code_example:<heading path>#<n>`` — a fenced code block (Markdown ````` ``` `````/``~~~`` or a reST
  ``.. code-block::`` directive) with its language, the sentence introducing it and the code.
* ``procedure:<heading path>#<n>`` — a numbered list of at least two steps (``1.``, ``2)``, ``Step 3:``),
  with its title (the line before the list, or the heading).

Nothing inside code blocks counts as prose. Spans are the lines of the sentence / block / list.

>>> lines = ["# Deploy", "", "You must pin versions. Read the notes.", "", "1. Build the image.", "2. Push it."]
>>> from processors.patterns.docs import find_headings
>>> [(r.key, r.kind) for r in extract_extras(lines, find_headings(lines), rst=False, max_chars=300,
...                                            extractor="docs/1.0.0", language="markdown")]
[('practice:Deploy#1', 'practice'), ('procedure:Deploy#1', 'procedure')]
"""

from __future__ import annotations

import re
from typing import Any

from processors.patterns import text as text_extractor
from processors.patterns.html_text import HtmlLines
from processors.patterns.records import KeyDeduper, collapse_ws, line_at, record
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["extract_extras", "normative"]

MAX_PRACTICES = 200
MAX_EXAMPLES = 100
MAX_PROCEDURES = 50

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
_RST_CODE_RE = re.compile(r"^(\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*([\w+#.-]*)")
_STEP_RE = re.compile(r"^\s{0,3}(?:(\d{1,2})[.)]|step\s+(\d{1,2})\s*[:.)-])\s+(\S.*)$", re.I)
_BULLET_RE = re.compile(r"^\s{0,6}(?:[-*+•]|\d{1,2}[.)])\s+(\S.*)$")

_REQUIREMENT = re.compile(r"\b(must(?:\s+not)?|mustn['’]t|shall(?:\s+not)?|is\s+required|are\s+required|required\s+to|"
                          r"mandatory|forbidden|prohibited|under\s+no\s+circumstances)\b"
                          # never / always / do not only as instructions: leading, or after please / you / should
                          r"|(?:^|(?<=please\s)|(?<=you\s)|(?<=you\s{2})|(?<=should\s)|(?<=must\s)|[:;]\s*)"
                          r"(never|always|do\s+not|don['’]t)\b", re.I)
_RECOMMENDATION = re.compile(r"\b(should(?:\s+not)?|shouldn['’]t|(?<!to )avoid|prefer(?:ably)?|"
                             r"(?:is|are|it['’]s)\s+recommended|we\s+recommend|recommend(?:ed|s)?\s+(?:to|that|using)|"
                             r"best\s+practices?|good\s+practice|make\s+sure|^ensure|is\s+discouraged|"
                             r"(?:it\s+is|it['’]s)\s+(?:better|best|advisable|wise)|deprecated\s+in\s+favou?r)\b", re.I)
_SUGGESTION = re.compile(r"\b(consider(?:ing)?|you\s+may\s+want\s+to|it\s+may\s+be\s+useful|optionally)\b", re.I)
_IMPERATIVE = re.compile(r"^(?:\*\*)?(avoid|prefer|never|always|don['’]t|do\s+not|make\s+sure|ensure|"
                         r"use\s+\S+(?:\s+\S+)?\s+instead)\b", re.I)
#: sections whose sentences are records of the past or legal text, not guidance
_SKIP_SECTIONS = re.compile(r"change\s*log|changes|history|release\s+notes|what['’]s\s+new|news|\blicen[cs]e|copying|"
                            r"copyright|^v?\d+(?:\.\d+)+|\bv?\d+\.\d+(?:\.\d+)?\b", re.I)
_LEGAL = re.compile(r"copyright|licen[cs]|warrant|liab(?:le|ility)|redistribution|merchantability|"
                    r"without\s+restriction|permission\s+notice", re.I)
_NOT_IMPERATIVE = {"the", "a", "an", "this", "that", "these", "those", "you", "we", "it", "they", "there", "your",
                   "our", "my", "i", "he", "she", "its", "their", "if", "when", "for", "in", "on", "at", "with", "by",
                   "as", "all", "some", "most", "each", "every", "no", "not", "one", "two", "three", "more", "less"}


def _imperative(step: str) -> bool:
    """Does a list item read like an instruction (“Install …”, “Run …”)?"""
    m = re.match(r"[`*_]*([A-Za-z]+)", step)
    if not m:
        return False
    w = m.group(1).lower()
    if w in _NOT_IMPERATIVE or w.endswith(("ing", "ed", "ly")):
        return False
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return False  # plural nouns / third person: descriptions
    return True


def normative(sentence: str) -> tuple[str, float, str] | None:
    """``(strength, confidence, phrase)`` when ``sentence`` states a practice, else ``None``.

    >>> normative("You should always pin dependency versions.")
    ('requirement', 0.85, 'always')
    >>> normative("The parser reads the file.") is None
    True
    """
    m = _REQUIREMENT.search(sentence)
    if m:
        word = (m.group(1) or m.group(2)).lower()
        if word in ("always", "never") and re.search(r"\b(?:is|are|was|were|has|have)\s+(?:always|never)\b", sentence, re.I):
            pass  # “it is always 0” describes, does not prescribe
        else:
            return "requirement", 0.85, m.group(1) or m.group(2)
    m = _RECOMMENDATION.search(sentence)
    if m:
        return "recommendation", 0.75, m.group(1)
    m = _SUGGESTION.search(sentence)
    if m:
        return "suggestion", 0.55, m.group(1)
    return None


# --------------------------------------------------------------------------- extraction

def _paths(lines: list[str], headings: list[Any]) -> list[str]:
    """Heading path in effect at each line (index 0 → line 1)."""
    paths = [""] * (len(lines) + 2)
    stack: list[tuple[int, str]] = []
    hi = 0
    current = ""
    hs = sorted(headings, key=lambda h: h.first_line)
    for ln in range(1, len(lines) + 1):
        while hi < len(hs) and hs[hi].first_line == ln:
            h = hs[hi]
            while stack and stack[-1][0] >= h.level:
                stack.pop()
            stack.append((h.level, h.title))
            current = " > ".join(t for _, t in stack)
            hi += 1
        paths[ln] = current
    return paths


def _code_blocks(lines: list[str], rst: bool) -> list[tuple[int, int, str]]:
    """``(first, last, language)`` of code blocks (first/last include the fence lines)."""
    if isinstance(lines, HtmlLines):
        return list(lines.code_blocks)
    out: list[tuple[int, int, str]] = []
    i, n = 0, len(lines)
    while i < n and len(out) < 10_000:
        m = _FENCE_RE.match(lines[i])
        if m:
            fence = m.group(1)
            j = i + 1
            while j < n:
                f = _FENCE_RE.match(lines[j])
                if f and f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence) and not lines[j].strip()[len(f.group(1)):].strip():
                    break
                j += 1
            out.append((i + 1, min(j, n - 1) + 1, m.group(2).lower()))
            i = j + 1
            continue
        r = _RST_CODE_RE.match(lines[i])
        if r:
            indent = len(r.group(1))
            j = i + 1
            while j < n and (not lines[j].strip() or (len(lines[j]) - len(lines[j].lstrip())) > indent):
                j += 1
            last = j
            while last > i + 1 and not lines[last - 1].strip():
                last -= 1
            if last > i + 1:
                out.append((i + 1, last, r.group(2).lower()))
            i = j
            continue
        i += 1
    return out


def extract_extras(lines: list[str], headings: list[Any], *, rst: bool, max_chars: int, extractor: str,
                   language: str | None) -> list[PatternRecord]:
    """``practice``, ``code_example`` and ``procedure`` records of a documentation page (document order)."""
    if not lines:
        return []
    paths = _paths(lines, headings)
    heading_lines = {ln for h in headings for ln in range(h.first_line, h.last_line + 1)}
    blocks = _code_blocks(lines, rst)
    in_code = set()
    for a, b, _ in blocks:
        in_code.update(range(a, b + 1))
    out: list[tuple[int, PatternRecord]] = []
    keys = KeyDeduper()
    counters: dict[str, int] = {}

    def key(kind: str, path: str) -> str:
        label = path or "(preamble)"
        n = counters.get((kind, label), 0) + 1  # type: ignore[call-overload]
        counters[(kind, label)] = n  # type: ignore[index]
        return keys(f"{kind}:{label}#{n}")

    def prefix(path: str) -> str:
        return (path[: max_chars // 3] + "\n\n") if path else ""

    # code examples
    fenced = not isinstance(lines, HtmlLines)
    for a, b, lang in blocks[:MAX_EXAMPLES]:
        body_first = a + 1 if fenced else a
        body_last = b - 1 if fenced and _FENCE_RE.match(lines[b - 1]) and b > a else b
        code = "\n".join(lines[body_first - 1 : body_last]).strip("\n")
        if not code.strip():
            continue
        path = paths[a]
        intro = ""
        k = a - 1
        while k >= 1 and not lines[k - 1].strip():
            k -= 1
        if k >= 1 and k not in in_code and k not in heading_lines:
            intro = collapse_ws(lines[k - 1])[:200]
        label = f"{lang} example" if lang else "code example"
        text = prefix(path) + f"{label}" + (f" — {intro}" if intro else "") + "\n" + code
        rec = record(key=key("code_example", path), kind="code_example", name=f"{label} in {path or '(preamble)'}",
                     lines=lines, start=a, end=b, text=text, max_chars=max_chars, extractor=extractor,
                     language=lang or language, section=path or None,
                     tags=[PatternTag(name="code_example", confidence=1.0, evidence=[f"lines {a}-{b}", lang or "unknown language"])])
        if rec is not None:
            out.append((a, rec))
    # procedures: numbered lists of ≥2 steps
    i, n = 1, len(lines)
    n_proc = 0
    while i <= n and n_proc < MAX_PROCEDURES:
        if i in in_code:
            i += 1
            continue
        m = _STEP_RE.match(lines[i - 1])
        if not m:
            i += 1
            continue
        steps = [(i, collapse_ws(m.group(3)))]
        j = i + 1
        last = i
        while j <= n:
            line = lines[j - 1]
            if j in in_code:
                last = j
                j += 1
                continue
            sm = _STEP_RE.match(line)
            if sm:
                steps.append((j, collapse_ws(sm.group(3))))
                last = j
            elif not line.strip():
                nxt = next((k for k in range(j + 1, min(n, j + 3) + 1) if lines[k - 1].strip()), None)
                if nxt is None or not (_STEP_RE.match(lines[nxt - 1]) or lines[nxt - 1].startswith(("  ", "\t")) or nxt in in_code):
                    break
            elif line.startswith(("  ", "\t")):
                last = j
            else:
                break
            j += 1
        imperative = sum(_imperative(t) for _, t in steps)
        if len(steps) >= 2 and imperative * 2 >= len(steps) and not _SKIP_SECTIONS.search(paths[i]) \
                and not any(_LEGAL.search(t) for _, t in steps):
            path = paths[i]
            title = ""
            k = i - 1
            while k >= 1 and not lines[k - 1].strip():
                k -= 1
            if k >= 1 and k not in in_code and k not in heading_lines and not _STEP_RE.match(lines[k - 1]):
                title = collapse_ws(lines[k - 1])[:160]
            title = title or (path.rsplit(" > ", 1)[-1] if path else "steps")
            if title.endswith("?"):
                i = max(j, i + 1)
                continue  # a numbered list answering a question: reasons, not steps
            body = "\n".join(f"{s + 1}. {t}" for s, (_, t) in enumerate(steps))
            text = prefix(path) + f"procedure: {title}\n" + body
            rec = record(key=key("procedure", path), kind="procedure", name=title[:80], lines=lines, start=i, end=last,
                         text=text, max_chars=max_chars, extractor=extractor, language=language, section=path or None,
                         tags=[PatternTag(name="procedure", confidence=0.9, evidence=[f"{len(steps)} numbered steps, lines {i}-{last}"])])
            if rec is not None:
                out.append((i, rec))
                n_proc += 1
        i = max(j, i + 1)
    # practices: normative sentences in prose and list items
    n_prac = 0
    para: list[int] = []

    def flush(para_lines: list[int]) -> None:
        nonlocal n_prac
        if not para_lines or n_prac >= MAX_PRACTICES:
            return
        first = para_lines[0]
        texts = [lines[ln - 1] for ln in para_lines]
        joined = "\n".join(texts)
        offsets = [0]
        for t in texts:
            offsets.append(offsets[-1] + len(t) + 1)
        items: list[tuple[int, int, str]] = []
        bullet = [bool(_BULLET_RE.match(t)) for t in texts]
        if any(bullet):  # list items are statements of their own
            cur_start = None
            for idx, t in enumerate(texts):
                if bullet[idx]:
                    if cur_start is not None:
                        items.append((cur_start, idx - 1, " ".join(x.strip() for x in texts[cur_start:idx])))
                    cur_start = idx
                elif cur_start is None:
                    items.append((idx, idx, t.strip()))
            if cur_start is not None:
                items.append((cur_start, len(texts) - 1, " ".join(x.strip() for x in texts[cur_start:])))
            units = []
            for a, b, t in items:
                body = _BULLET_RE.match(texts[a])
                item_text = collapse_ws(t)
                if body:
                    item_text = collapse_ws(body.group(1) + " " + " ".join(x.strip() for x in texts[a + 1 : b + 1]))
                units.append((first + a, first + b, item_text, bool(body)))
        else:
            units = []
            for u in text_extractor.split_units(joined, 0, len(joined), max_chars):
                ls = first + line_at(offsets, u.start)
                le = first + line_at(offsets, max(u.start, u.end - 1))
                units.append((ls, le, u.text, False))
        for ls, le, sent, is_item in units:
            if n_prac >= MAX_PRACTICES:
                return
            plain = re.sub(r"[`*_]{1,2}", "", re.sub(r"<!--.*?(?:-->|$)", "", sent)).strip()
            if len(plain) < 20 or plain.endswith("?") or plain.count("`") > 6 or _LEGAL.search(plain) \
                    or _SKIP_SECTIONS.search(paths[ls]):
                continue
            found = normative(plain)
            if found is None and is_item:
                im = _IMPERATIVE.match(plain)
                if im:
                    found = ("recommendation", 0.65, im.group(1))
            if found is None:
                continue
            strength, conf, phrase = found
            path = paths[ls]
            rec = record(key=key("practice", path), kind="practice", name=plain[:80], lines=lines, start=ls, end=le,
                         text=prefix(path) + plain, max_chars=max_chars, extractor=extractor, language=language,
                         section=path or None,
                         tags=[PatternTag(name=f"practice:{strength}", confidence=conf, evidence=[f'line {ls}: "{phrase}"'])])
            if rec is not None:
                out.append((ls, rec))
                n_prac += 1

    for ln in range(1, n + 1):
        line = lines[ln - 1]
        if ln in in_code or ln in heading_lines or not line.strip() or re.match(r"^\s*(?:[=\-~^\"'`#*+]{3,}|\|)", line):
            flush(para)
            para = []
            continue
        para.append(ln)
    flush(para)
    out.sort(key=lambda t: t[0])
    return [r for _, r in out]

