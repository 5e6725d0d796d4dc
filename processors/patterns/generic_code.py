"""Source code in languages other than Python: split at definition lines found by simple regexes.

Covers the common shapes of JavaScript/TypeScript, Java, C#, Kotlin, Scala, Swift, Go, Rust, C/C++,
Ruby, PHP, shell and SQL. A definition starts a segment that runs to the next definition; comment,
doc-comment, annotation and attribute lines right above a definition belong to it. Definitions
indented inside a class-like container (class, interface, struct, impl, module, namespace, object,
trait) are members: ``Container.member``, kind ``method`` for functions. Indented lines outside any
container are never definitions (that keeps statements inside C/Go function bodies out).

Keys are ``<kind>:<qualname>`` (``#2``… for repeats); text before the first definition is
``module:<file stem>``. Files without any recognisable definition are cut into blank-line blocks
merged up to ``max_chars``, keyed ``block:L<first line>``.

>>> from schemas.documents import Document
>>> src = "package a;\\n\\n/** Greets. */\\npublic class Hello {\\n    public String hi(String n) {\\n        return n;\\n    }\\n}\\n"
>>> ps = extract(Document(id="d", type="code", content=src, version="v", language="java", uri="a/Hello.java"))
>>> [(p.key, p.span.start_line, p.span.end_line) for p in ps]
[('module:Hello', 1, 1), ('class:Hello', 3, 4), ('method:Hello.hi', 5, 8)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from processors.patterns.records import KeyDeduper, record, split_lines, trim_span
from schemas.documents import Document
from schemas.patterns import PatternRecord

__all__ = ["EXTRACTOR", "blank_line_blocks", "extract"]

EXTRACTOR = "generic_code/1.0.0"

_MOD = r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|partial|open|data|inner|export|default|readonly|declare|pub(?:\([^)]*\))?)\s+)*+"
_CONTAINER_KINDS = frozenset({"class", "interface", "type", "impl", "module", "namespace"})
_KEYWORDS = frozenset({
    "if", "for", "while", "switch", "return", "else", "do", "case", "catch", "sizeof", "typedef", "using",
    "namespace", "template", "new", "throw", "function", "delete", "try", "finally", "elif", "when", "match",
    "await", "yield", "super", "this", "self", "assert", "print", "with", "defer", "go", "select", "foreach",
    "synchronized", "lock", "fixed", "unless", "until", "elsif", "loop", "unsafe", "checked", "unchecked",
})

# (kind, regex) tried in order on the line without its indentation; the group "name" names it.
_TOPLEVEL: list[tuple[str, re.Pattern[str]]] = [
    ("function", re.compile(r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(?P<name>[A-Za-z_$][\w$]*)\s*[<(]")),
    ("class", re.compile(_MOD + r"(?:class|interface|enum|record|struct|object|trait|protocol|extension|union)\s+(?P<name>[A-Za-z_$][\w$]*)")),
    ("type", re.compile(r"^(?:export\s+)?type\s+(?P<name>\w+)\s*(?:<[^=]*>)?\s*=")),
    ("function", re.compile(
        r"^(?:export\s+)?(?:const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?"
        r"(?:function\b|\([^)]*\)\s*(?::\s*[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>)"
    )),
    ("function", re.compile(r"^func\s+(?:\((?P<recv>[^)]*)\)\s*)?(?P<name>\w+)\s*[\[(]")),
    ("type", re.compile(r"^type\s+(?P<name>\w+)\s+(?:struct|interface)\b")),
    ("function", re.compile(
        r"^(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+(?P<name>\w+)"
    )),
    ("impl", re.compile(r"^impl(?:\s*<[^>]*>)?\s+(?:[\w:<>, ]+?\s+for\s+)?(?P<name>\w+)")),
    ("module", re.compile(r"^(?:pub\s+)?mod\s+(?P<name>\w+)\s*\{")),
    ("namespace", re.compile(r"^namespace\s+(?P<name>[\w:.\\]+)")),
    ("module", re.compile(r"^(?:defmodule|module)\s+(?P<name>[\w:.]+)")),
    ("function", re.compile(
        r"^(?:(?:public|private|protected|internal|override|open|suspend|inline|static|final|fileprivate|mutating|"
        r"abstract|async)\s+)*+(?:fun|func|def|defp)\s+(?:<[^>]*>\s*)?(?:self\.|[\w.]+\.)?(?P<name>[\w?!]+)"
    )),
    ("function", re.compile(r"^(?:(?:public|private|protected|static|final|abstract)\s+)*+function\s+&?(?P<name>\w+)\s*\(")),
    ("function", re.compile(r"^(?P<name>[A-Za-z_][\w-]*)\s*\(\)\s*\{\s*$")),  # shell: name() {
    ("function", re.compile(
        r"^(?:create\s+(?:or\s+replace\s+)?(?P<sqlkind>function|procedure|view|table|trigger)\s+(?:if\s+not\s+exists\s+)?)"
        r"(?P<name>[\w.\"`]+)",
        re.I,
    )),
    # Java / C# / C++ methods and C functions: [modifiers] type name(… with no ';' on the line
    ("function", re.compile(
        r"^(?:(?:public|private|protected|internal|static|final|abstract|synchronized|native|virtual|override|"
        r"async|sealed|extern|unsafe|inline|constexpr|explicit)\s+)*+(?:<[^>]+>\s+)?"
        r"[A-Za-z_][\w:<>,.\[\]?*&]*+(?:\s+[A-Za-z_][\w:<>,.\[\]?*&]*+)*[\s*&]+(?P<name>~?[A-Za-z_][\w:~]*)\s*\([^;]*$"
    )),
]
# JS/TS class members: `name(args) {`, `static async name(…) {`, `get name() {`
_MEMBER_SHORTHAND = re.compile(
    r"^(?:(?:public|private|protected|static|async|get|set|readonly|override)\s+)*+\*?(?P<name>[A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?"
    r"\([^;]*\)\s*(?::\s*[^{;]+)?\{.*$"
)
# `static struct PyMethodDef table[] = {`: a variable of a struct type, not a type definition
_C_VARIABLE = re.compile(r"^(?:(?:static|const|extern)\s+)*(?:struct|union|enum)\s+\w+\s+\**\w+\s*(?:\[[^\]]*\])*\s*[=;]")
_COMMENT_LINE = re.compile(r"^\s*(?://|/\*|\*|\*/|#(?![a-z]*\s*(?:include|define|if|ifdef|ifndef|endif|else|elif|pragma|undef)\b)(?!\[)|--|;;|@\w|#\[|\[[A-Z]\w*)")
_MAX_MEMBER_INDENT = 12
_MAX_DEF_LINE = 400  # longer lines are never taken for definitions (and keep regex work bounded)


@dataclass
class _Def:
    line: int  # 1-based line of the definition itself
    start: int  # first line including attached comments/annotations
    kind: str
    name: str
    indent: int


def _indent(line: str) -> int:
    """Indentation width (a tab counts 4)."""
    prefix = line[: len(line) - len(line.lstrip(" \t"))]
    return len(prefix) + 3 * prefix.count("\t")


def _match_def(stripped: str, in_container: bool) -> tuple[str, str] | None:
    """``(kind, name)`` of a definition line; a Go method's name is ``Receiver.name``."""
    if _C_VARIABLE.match(stripped):
        return None
    for kind, rx in _TOPLEVEL:
        m = rx.match(stripped)
        if m:
            name = m.group("name").strip("\"`")
            if name.lower() in _KEYWORDS:
                return None
            groups = m.groupdict()
            if groups.get("sqlkind"):
                return groups["sqlkind"].lower(), name
            if kind == "class" and stripped.endswith(";") and "{" not in stripped:
                return None  # forward declaration
            recv = groups.get("recv")
            if recv:
                words = re.findall(r"\w+", recv.split("[", 1)[0])
                if words:
                    return "method", f"{words[-1]}.{name}"
            return kind, name
    if in_container:
        m = _MEMBER_SHORTHAND.match(stripped)
        if m and m.group("name") not in _KEYWORDS:
            return "function", m.group("name")
    return None


def _find_defs(lines: list[str]) -> list[tuple[_Def, str]]:
    """Definitions with their qualified names, in document order."""
    found: list[tuple[_Def, str]] = []
    stack: list[list] = []  # open containers: [indent, qualname, member indent (-1: not seen yet)]
    in_block_comment = False
    for i, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if in_block_comment:
            if "*/" in stripped:
                in_block_comment = False
            continue
        if stripped.startswith("/*"):
            in_block_comment = "*/" not in stripped
            continue
        if stripped.startswith(("//", "#", "*", "--")) and not stripped.startswith("#["):
            continue
        indent = _indent(line)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and stack[-1][2] < 0:
            stack[-1][2] = indent  # first line inside a container sets its member indentation
        if indent > 0 and (not stack or indent != stack[-1][2] or indent > _MAX_MEMBER_INDENT):
            continue  # statements inside bodies
        if len(stripped) > _MAX_DEF_LINE:
            continue
        hit = _match_def(stripped, in_container=bool(stack))
        if hit is None:
            continue
        kind, name = hit
        if stack:
            qual = f"{stack[-1][1]}.{name}"
            if kind == "function":
                kind = "method"
        else:
            qual = name
        name = name.rsplit(".", 1)[-1]
        found.append((_Def(line=i, start=i, kind=kind, name=name, indent=indent), qual))
        if kind in _CONTAINER_KINDS or kind == "class":
            stack.append([indent, qual, -1])
    # attach comments / annotations directly above each definition
    prev_line = 0
    for d, _ in found:
        s = d.line
        while s - 1 > prev_line and lines[s - 2].strip() and _COMMENT_LINE.match(lines[s - 2]):
            s -= 1
        d.start = s
        prev_line = d.line
    return found


def _file_stem(uri: str | None) -> str:
    if not uri:
        return "<module>"
    return PurePosixPath(uri.replace("\\", "/").split("?", 1)[0]).stem or "<module>"


def blank_line_blocks(doc: Document, lines: list[str], max_chars: int) -> list[PatternRecord]:
    """Blank-line blocks merged greedily up to ``max_chars``."""
    out: list[PatternRecord] = []
    keys = KeyDeduper()
    blocks: list[tuple[int, int]] = []
    start = None
    for i, line in enumerate(lines, start=1):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            blocks.append((start, i - 1))
            start = None
    if start is not None:
        blocks.append((start, len(lines)))
    merged: list[tuple[int, int]] = []
    for b in blocks:
        if merged:
            s, e = merged[-1]
            if len("\n".join(lines[s - 1 : b[1]])) <= max_chars:
                merged[-1] = (s, b[1])
                continue
        merged.append(b)
    for s, e in merged:
        rec = record(
            key=keys(f"block:L{s}"),
            kind="block",
            name=f"lines {s}-{e}",
            lines=lines,
            start=s,
            end=e,
            text="\n".join(lines[s - 1 : e]),
            max_chars=max_chars,
            extractor=EXTRACTOR,
            language=doc.language,
        )
        if rec is not None:
            out.append(rec)
    return out


def extract(doc: Document, *, max_chars: int = 1200) -> list[PatternRecord]:
    """Definition segments of a source file (blank-line blocks when none are recognised)."""
    lines = split_lines(doc.content)
    if not doc.content.strip():
        return []
    defs = _find_defs(lines)
    if not defs:
        return blank_line_blocks(doc, lines, max_chars)
    keys = KeyDeduper()
    out: list[PatternRecord] = []
    first = defs[0][0].start
    if first > 1 and any(line.strip() for line in lines[: first - 1]):
        s, e = trim_span(lines, 1, first - 1)
        stem = _file_stem(doc.uri)
        rec = record(
            key=keys(f"module:{stem}"), kind="module", name=stem, lines=lines, start=s, end=e,
            text=f"module {stem}\n" + "\n".join(lines[s - 1 : e]), max_chars=max_chars,
            extractor=EXTRACTOR, language=doc.language,
        )
        if rec is not None:
            out.append(rec)
    members: dict[str, list[str]] = {}
    for d, qual in defs:
        if "." in qual:
            members.setdefault(qual.rsplit(".", 1)[0], []).append(d.name)
    for idx, (d, qual) in enumerate(defs):
        end = defs[idx + 1][0].start - 1 if idx + 1 < len(defs) else len(lines)
        s, e = trim_span(lines, d.start, max(d.start, end))
        body = "\n".join(line[min(d.indent, _indent(line)) :] for line in lines[s - 1 : e])
        header = f"{d.kind} {qual}"
        if members.get(qual):
            header += "\nMembers: " + ", ".join(members[qual])
        rec = record(
            key=keys(f"{d.kind}:{qual}"), kind=d.kind, name=qual, lines=lines, start=s, end=e,
            text=f"{header}\n{body}", max_chars=max_chars, extractor=EXTRACTOR, language=doc.language,
        )
        if rec is not None:
            out.append(rec)
    return out
