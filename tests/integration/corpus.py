"""Real documents, many and cheap: stdlib functions and classes, and Markdown sections of package docs.

Whole stdlib modules are expensive to embed (dozens of patterns each); one top-level function is a
document of two patterns (the module and the function), so a thousand real documents cost about
two thousand embeddings. Documentation comes from the long descriptions (Markdown) of the packages
installed beside Assay, split at their headings. Everything is read in a fixed order, so a run is
reproducible; nothing is generated.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson

MIN_CHARS, MAX_CHARS = 200, 3000
_HEADING = re.compile(r"^#{1,3} \S.*$", re.M)
_SKIPPED_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "__pycache__", "turtledemo", "ensurepip"}


@dataclass(frozen=True)
class RealDoc:
    """One document: its source id and its JSON fields (without ``id``)."""

    source_id: str
    fields: dict[str, str]

    def value(self, **changes: str) -> bytes:
        return orjson.dumps({"id": self.source_id, **self.fields, **changes})

    def renamed(self) -> "RealDoc":
        """The same document with its first definition renamed: a new version whose old pattern goes stale."""
        content = self.fields["content"]
        if self.fields.get("type") == "code":
            content = re.sub(r"^(\s*(?:async\s+)?(?:def|class)\s+)(\w+)", r"\1\2_v2", content, count=1, flags=re.M)
        else:
            content = content + "\n\nRevised: prefer the documented defaults over local overrides.\n"
        return RealDoc(self.source_id, {**self.fields, "content": content})


def _stdlib_files() -> list[Path]:
    """Top-level modules first (sorted), then those of packages: the first documents are the best known."""
    root = Path(sysconfig.get_paths()["stdlib"])
    top = sorted(p for p in root.glob("*.py") if not p.name.startswith("_"))
    nested = sorted(p for p in root.glob("*/**/*.py")
                    if not p.name.startswith("_")
                    and not any(d in _SKIPPED_DIRS or d.startswith("_") for d in p.relative_to(root).parts[:-1]))
    return top + nested


def stdlib_definitions(n: int, kind: str = "function") -> list[RealDoc]:
    """The first ``n`` top-level functions (or classes) of the stdlib of 200–3,000 characters.

    Files are parsed only until ``n`` are found (parsing the whole stdlib takes a minute here).
    """
    wanted = (ast.FunctionDef, ast.AsyncFunctionDef) if kind == "function" else (ast.ClassDef,)
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[RealDoc] = []
    for path in _stdlib_files():
        if len(out) >= n:
            break
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        lines = source.splitlines(keepends=True)  # ast.get_source_segment splits the file again per call
        for node in tree.body:
            if isinstance(node, wanted) and node.end_lineno is not None:
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                text = "".join(lines[first - 1: node.end_lineno])
                if MIN_CHARS <= len(text) <= MAX_CHARS:
                    out.append(RealDoc(f"stdlib/{module}.{node.name}",
                                       {"type": "code", "language": "python", "uri": f"stdlib/{module}.py",
                                        "content": text}))
    return out[:n]


@lru_cache(maxsize=None)
def markdown_sections() -> tuple[RealDoc, ...]:
    """Sections (split at level 1–3 headings) of the Markdown descriptions of installed packages."""
    out: list[RealDoc] = []
    dists = sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower())
    seen: set[str] = set()
    for dist in dists:
        name = (dist.metadata["Name"] or "").lower()
        if name in seen or "markdown" not in (dist.metadata["Description-Content-Type"] or ""):
            continue
        seen.add(name)
        body = dist.metadata.get_payload() or dist.metadata["Description"] or ""
        starts = [m.start() for m in _HEADING.finditer(body)] or [0]
        for i, start in enumerate(starts):
            section = body[start: starts[i + 1] if i + 1 < len(starts) else len(body)].strip()
            if MIN_CHARS <= len(section) <= MAX_CHARS and len(section.split()) >= 30:
                out.append(RealDoc(f"pkgdocs/{name}/{i}", {"type": "documentation", "language": "markdown",
                                                           "uri": f"pkgdocs/{name}.md", "content": section}))
    return tuple(out)


def real_documents(n: int, docs_every: int = 8) -> list[RealDoc]:
    """``n`` documents: stdlib functions, with one Markdown section every ``docs_every`` documents.

    Raises ValueError when the machine holds fewer (the stdlib has about 2,500 such functions).
    """
    docs = list(markdown_sections())
    code = stdlib_definitions(n - min(len(docs), n // docs_every if docs_every else 0))
    out: list[RealDoc] = []
    ci = di = 0
    while len(out) < n:
        if docs_every and len(out) % docs_every == docs_every - 1 and di < len(docs):
            out.append(docs[di])
            di += 1
        elif ci < len(code):
            out.append(code[ci])
            ci += 1
        elif di < len(docs):
            out.append(docs[di])
            di += 1
        else:
            raise ValueError(f"only {len(out)} real documents on this machine, {n} asked")
    return out
