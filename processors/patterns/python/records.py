"""Python source → one pattern per module, class, function and method (``ast``).

* ``module:<name>`` (kind ``module``): module docstring plus the names it defines and imports; the
  span is the whole file. ``<name>`` is the file stem from the URI (the package for
  ``__init__.py``), ``<module>`` when there is no URI.
* ``class:<qualname>``, ``function:<qualname>``, ``method:<qualname>``: qualified names as Python
  builds them (``Outer.Inner.method``); functions nested inside functions are part of their parent.
  Definitions inside module/class-level ``if``/``try``/``with``/``for``/``match`` blocks are found
  too; a name defined twice gets ``#2``, ``#3``… in document order.

The text to embed is ``kind qualname``, decorators, signature, docstring (and, for classes, the
method names), then as much of the body as fits in ``max_chars``. Spans start at the first
decorator and end at the last line of the body.

A module that does not parse becomes :mod:`text <processors.patterns.text>` passages tagged
``syntax_error`` (:func:`syntax_error_passages`). The structural summary (:mod:`.summary`) is built
before the records, which take their dependency-injection tags from it; design patterns are added
by :mod:`processors.patterns.code`.

>>> import ast
>>> from schemas.documents import Document
>>> src = 'class A:\\n    "Doc."\\n    @property\\n    def x(self) -> int:\\n        return 1\\n'
>>> ps = module_records(Document(id="d", type="code", content=src, version="v", language="python"),
...                     ast.parse(src), src.split("\\n")[:-1], None, max_chars=1200)
>>> [(p.key, p.span.start_line, p.span.end_line) for p in ps]
[('module:<module>', 1, 5), ('class:A', 1, 5), ('method:A.x', 3, 5)]
>>> print(ps[2].text)
method A.x
@property
def x(self) -> int
return 1
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import PurePosixPath

from processors.patterns import text as text_extractor
from processors.patterns.python import idioms
from processors.patterns.python.syntax import last_name
from processors.patterns.records import KeyDeduper, compose_text, record, tag
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag
from schemas.structure import StructureSummary

__all__ = ["EXTRACTOR", "module_name", "module_records", "syntax_error_passages"]

EXTRACTOR = "python_code/1.0.0"

_DECORATOR_TAGS = {
    "property": "property",
    "cached_property": "property",
    "staticmethod": "staticmethod",
    "classmethod": "classmethod",
    "abstractmethod": "abstract",
    "dataclass": "dataclass",
    "overload": "overload",
    "override": "override",
}
_BLOCK_TYPES: tuple[type, ...] = (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)
if hasattr(ast, "TryStar"):
    _BLOCK_TYPES += (ast.TryStar,)


def module_name(uri: str | None) -> str:
    """File stem of ``uri`` (the package directory for ``__init__.py``); ``<module>`` when unknown.

    >>> module_name("Lib/json/decoder.py"), module_name("json/__init__.py"), module_name(None)
    ('decoder', 'json', '<module>')
    """
    if not uri:
        return "<module>"
    path = PurePosixPath(uri.replace("\\", "/").split("?", 1)[0].split("#", 1)[0])
    stem = path.stem
    if stem == "__init__" and path.parent.name:
        return path.parent.name
    return stem or "<module>"


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # trees unparse cannot write back; a signature is not worth failing for
        return "…"


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    if isinstance(node, ast.ClassDef):
        bases = [_unparse(b) for b in node.bases]
        bases += [f"{k.arg}={_unparse(k.value)}" if k.arg else f"**{_unparse(k.value)}" for k in node.keywords]
        return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    sig = f"{prefix} {node.name}({_unparse(node.args)})"
    if node.returns is not None:
        sig += f" -> {_unparse(node.returns)}"
    return sig


def _tags(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, decorators: list[str]) -> list[PatternTag]:
    tags: list[PatternTag] = []
    seen: set[str] = set()
    if isinstance(node, ast.AsyncFunctionDef):
        tags.append(tag("async", "async def"))
        seen.add("async")
    for dec, text in zip(node.decorator_list, decorators):
        name = _DECORATOR_TAGS.get(last_name(dec))
        if name and name not in seen:
            seen.add(name)
            tags.append(tag(name, text))
    return tags


def _body_start(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module) -> int | None:
    """First line of the body after the docstring (``None`` when the body is only a docstring)."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    if not body:
        return None
    first = body[0]
    decos = getattr(first, "decorator_list", None)
    return min([first.lineno] + [d.lineno for d in decos]) if decos else first.lineno


class _Walker:
    def __init__(self, doc: Document, lines: list[str], max_chars: int, summary: StructureSummary | None) -> None:
        self.doc = doc
        self.lines = lines
        self.max_chars = max_chars
        self.keys = KeyDeduper()
        self.out: list[PatternRecord] = []
        classes = summary.classes if summary is not None else ()
        self.class_summaries = {c.qualname: c for c in classes}
        self.abstract_names = {c.name for c in classes if c.abstract or c.kind == "protocol"}

    def emit_module(self, tree: ast.Module) -> None:
        name = module_name(self.doc.uri)
        docstring = ast.get_docstring(tree, clean=True) or ""
        defined: list[str] = []
        imported: list[str] = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.append(node.name)
            elif isinstance(node, ast.Import):
                imported += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported.append("." * node.level + (node.module or ""))
        header = [f"module {name}", docstring]
        if defined:
            header.append("Defines: " + ", ".join(defined))
        if imported:
            header.append("Imports: " + ", ".join(dict.fromkeys(imported)))
        start = _body_start(tree)
        body = self.lines[start - 1 :] if start else []
        rec = record(
            key=self.keys(f"module:{name}"),
            kind="module",
            name=name,
            lines=self.lines,
            start=1,
            end=len(self.lines),
            text=compose_text(header, body if not defined else [], self.max_chars),
            max_chars=self.max_chars,
            extractor=EXTRACTOR,
            language="python",
        )
        if rec is not None:
            self.out.append(rec)

    def emit(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, kind: str, qualname: str) -> None:
        decorators = ["@" + _unparse(d) for d in node.decorator_list]
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        end = node.end_lineno or node.lineno
        header = [f"{kind} {qualname}", *decorators, _signature(node), ast.get_docstring(node, clean=True) or ""]
        body_lines: list[str] = []
        if isinstance(node, ast.ClassDef):
            methods = [n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if methods:
                header.append("Methods: " + ", ".join(methods))
        body_start = _body_start(node)
        if body_start is not None and body_start <= end:
            head: list[str] = []
            size = 0
            for line in self.lines[body_start - 1 : end]:  # only what can fit is dedented
                head.append(line)
                size += len(line) + 1
                if size > self.max_chars * 2:
                    break
            body_lines = textwrap.dedent("\n".join(head)).split("\n")
        rec = record(
            key=self.keys(f"{kind}:{qualname}"),
            kind=kind,
            name=qualname,
            lines=self.lines,
            start=start,
            end=end,
            text=compose_text(header, body_lines, self.max_chars),
            max_chars=self.max_chars,
            extractor=EXTRACTOR,
            language="python",
            tags=_tags(node, decorators) + self.idiom_tags(node, qualname),
        )
        if rec is not None:
            self.out.append(rec)

    def idiom_tags(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, qualname: str) -> list[PatternTag]:
        if isinstance(node, ast.ClassDef):
            return idioms.class_tags(node, self.class_summaries.get(qualname), self.abstract_names)
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        end = node.end_lineno or node.lineno
        return idioms.function_tags(node, "\n".join(self.lines[start - 1 : end]))

    def walk(self, body: list[ast.stmt], prefix: str, in_class: bool) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.emit(node, "method" if in_class else "function", prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                qual = prefix + node.name
                self.emit(node, "class", qual)
                self.walk(node.body, qual + ".", True)
            elif isinstance(node, _BLOCK_TYPES):
                for field in ("body", "orelse", "finalbody"):
                    self.walk(getattr(node, field, []) or [], prefix, in_class)
                for handler in getattr(node, "handlers", []) or []:
                    self.walk(handler.body, prefix, in_class)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    self.walk(case.body, prefix, in_class)


def module_records(doc: Document, tree: ast.Module, lines: list[str], summary: StructureSummary | None, *,
                   max_chars: int) -> list[PatternRecord]:
    """Module, class, function and method patterns of a parsed Python module, in document order.

    ``summary`` (the module's structural summary, when it could be built) gives classes their
    dependency-injection tags.
    """
    walker = _Walker(doc, lines, max_chars, summary)
    walker.emit_module(tree)
    walker.walk(tree.body, "", False)
    return walker.out


def syntax_error_passages(doc: Document, exc: SyntaxError | ValueError, *, max_chars: int) -> list[PatternRecord]:
    """Text passages of a module that does not parse, tagged ``syntax_error`` with where and why."""
    where = f"line {exc.lineno}: " if isinstance(exc, SyntaxError) and exc.lineno else ""
    msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return text_extractor.passages(
        doc.content, max_chars=max_chars, language=doc.language or "python", tags=[tag("syntax_error", f"{where}{msg}")]
    )
