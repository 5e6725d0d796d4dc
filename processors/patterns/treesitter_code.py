"""Java, JavaScript, TypeScript/TSX, Go, Rust, C and C++ source → patterns, parsed with tree-sitter.

One pattern per definition, with the same record shape as :mod:`.python_code`:

* ``module:<file stem>``: the whole file — file comment, what it defines and imports;
* ``class:``/``interface:``/``enum:``/``record:``/``struct:``/``trait:``/``union:``/``type:<qualname>`` for
  type definitions (Java/TS classes and interfaces, Go ``type`` specs, Rust items, C/C++ specifiers);
* ``impl:<Type>`` / ``impl:<Trait> for <Type>`` for Rust ``impl`` blocks;
* ``function:<name>`` and ``method:<Type>.<name>``: methods are qualified by their class (nested
  classes give ``Outer.Inner.m``), by the ``impl`` type in Rust, by the receiver type in Go and by the
  scope of an out-of-class C++ definition (``int A::f()`` → ``method:A.f``). Constructors are methods
  tagged ``constructor``.

The text to embed is ``<kind> <qualname>``, the doc comment (the comment block right above the
definition, markers stripped), the signature (everything before the body), for types the member
names, then as much of the body as fits. Spans start at the doc comment / attributes and end with the
definition.

A tree with parse errors still yields what parsed; those records (and the module record) carry a
``syntax_error`` tag naming the first error line. When nothing parses into a definition the file becomes
text passages tagged ``syntax_error`` (or, when it parsed cleanly but defines nothing — a script —
blank-line ``block`` patterns). A grammar that is not installed,
or a file over :data:`MAX_BYTES`, falls back to :mod:`.generic_code` (tagged ``treesitter_unavailable`` /
``size_cap``).

The same walk fills the structural summary of :mod:`.structure` (classes, fields, methods and what
their bodies do) that :mod:`.design_patterns` reads; detected design patterns tag the class records
and add ``design_pattern`` records.

>>> from schemas.documents import Document
>>> src = "package a;\\n\\n/** Greets. */\\npublic class Hello {\\n    public String hi(String n) {\\n        return n;\\n    }\\n}\\n"
>>> ps = extract(Document(id="d", type="code", content=src, version="v", language="java", uri="a/Hello.java"))
>>> [(p.key, p.span.start_line, p.span.end_line) for p in ps]
[('module:Hello', 1, 8), ('class:Hello', 3, 8), ('method:Hello.hi', 5, 7)]
"""

from __future__ import annotations

import importlib
import logging
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from processors.patterns import generic_code
from processors.patterns import text as text_extractor
from processors.patterns._common import KeyDeduper, collapse_ws, compose_text, record, split_lines, tag
from processors.patterns.structure import SUMMARY_VERSION, MethodFacts, new_class, new_field, simple_name
from processors.patterns.treesitter_structure import BodyAnalyzer
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["EXTRACTOR", "LANGUAGES", "MAX_BYTES", "extract", "language_of", "parse_document", "supports"]

log = logging.getLogger(__name__)

EXTRACTOR = "treesitter_code/1.0.0"
MAX_BYTES = 1_500_000  # larger files go to the regex extractor
MAX_DEFS = 5000
MAX_NEST = 40

#: canonical language → (module, function returning the grammar)
LANGUAGES: dict[str, tuple[str, str]] = {
    "java": ("tree_sitter_java", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}
_ALIASES = {
    "java": "java", "javascript": "javascript", "js": "javascript", "jsx": "javascript", "node": "javascript",
    "nodejs": "javascript", "mjs": "javascript", "cjs": "javascript", "ecmascript": "javascript",
    "typescript": "typescript", "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "golang": "go", "rust": "rust", "rs": "rust", "c": "c", "h": "c",
    "cpp": "cpp", "c++": "cpp", "cxx": "cpp", "cc": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp", "h++": "cpp",
    "ino": "cpp", "cuda": "cpp", "cu": "cpp", "objective-c++": "cpp",
}
_CPP_HINT = re.compile(r"^\s*(?:class\s+\w+|namespace\s+\w+|template\s*<|public:|private:|#include\s*<(?:iostream|vector|string|memory|map)>)", re.M)

_parsers: dict[str, Any] = {}
_unavailable: set[str] = set()


def language_of(doc: Document) -> str | None:
    """Canonical tree-sitter language of ``doc`` (from ``language``, else the URI extension), or ``None``.

    >>> from schemas.documents import Document
    >>> language_of(Document(id="d", type="code", content="x", version="v", uri="src/App.tsx"))
    'tsx'
    """
    lang = (doc.language or "").strip().lower()
    canon = _ALIASES.get(lang)
    if canon is None and doc.uri:
        ext = PurePosixPath(doc.uri.replace("\\", "/").split("?", 1)[0]).suffix.lower().lstrip(".")
        if not lang or lang in ("text", "code", "plain", "unknown"):
            canon = _ALIASES.get(ext)
        elif lang in ("c", "cpp") or ext in ("h",):
            canon = _ALIASES.get(ext)
    if canon == "c" and _CPP_HINT.search(doc.content[:20000]):
        canon = "cpp"
    return canon


def _parser(lang: str) -> Any | None:
    if lang in _parsers:
        return _parsers[lang]
    if lang in _unavailable:
        return None
    try:
        from tree_sitter import Language, Parser

        mod_name, fn = LANGUAGES[lang]
        mod = importlib.import_module(mod_name)
        parser = Parser(Language(getattr(mod, fn)()))
    except Exception as exc:  # missing wheel, ABI mismatch …
        log.warning("tree-sitter grammar for %s unavailable (%s: %s); using the regex extractor", lang,
                    type(exc).__name__, exc)
        _unavailable.add(lang)
        return None
    _parsers[lang] = parser
    return parser


def supports(doc: Document) -> bool:
    """True when ``doc`` is in a language this extractor parses and its grammar loads."""
    lang = language_of(doc)
    return lang is not None and _parser(lang) is not None


# --------------------------------------------------------------------------- definitions

@dataclass
class _Def:
    kind: str
    name: str
    qualname: str
    node: Any
    outer: Any
    start_line: int = 0
    end_line: int = 0
    doc: str = ""
    signature: str = ""
    body: Any = None
    tags: list[PatternTag] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    class_key: str | None = None  # for class-like defs: key into the summary's classes


@dataclass
class _Pending:
    facts: MethodFacts
    params: list[str]
    body: Any
    class_key: str | None
    receiver: str | None


_COMMENT_TYPES = {"comment", "line_comment", "block_comment"}
_ATTR_TYPES = {"attribute_item", "decorator", "marker_annotation", "annotation", "inner_attribute_item"}
_DOC_MARK_RE = re.compile(r"^\s*(?:/\*\*?|\*/|\*(?!/)|///?!?|//|#)\s?")


def _clean_doc(raw: str) -> str:
    out = []
    for line in raw.splitlines():
        line = line.rstrip()
        if line.endswith("*/"):
            line = line[:-2]
        out.append(_DOC_MARK_RE.sub("", line, count=1).rstrip())
    return "\n".join(l for l in out if l.strip()).strip()


class _Walker:
    def __init__(self, src: bytes, lang: str) -> None:
        self.src = src
        self.lang = lang
        self.defs: list[_Def] = []
        self.classes: dict[str, dict[str, Any]] = {}
        self.functions: list[dict[str, Any]] = []
        self.globals: list[dict[str, Any]] = []
        self.pending: list[_Pending] = []
        self.imports: list[str] = []
        self.ctor_vis: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ helpers
    def text(self, node: Any | None) -> str:
        if node is None:
            return ""
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    @staticmethod
    def fld(node: Any, *names: str) -> Any:
        for n in names:
            c = node.child_by_field_name(n)
            if c is not None:
                return c
        return None

    def tokens(self, node: Any) -> set[str]:
        """Keyword tokens (modifiers) among ``node``'s direct children and its modifiers node."""
        out: set[str] = set()
        for c in node.children:
            if not c.is_named:
                out.add(c.type)
            elif c.type in ("modifiers", "accessibility_modifier", "visibility_modifier", "storage_class_specifier",
                            "virtual", "type_qualifier", "override_modifier", "virtual_specifier"):
                out.update(self.text(c).split())
                if c.type == "modifiers":
                    for m in c.children:
                        if m.type in ("marker_annotation", "annotation"):
                            n = m.child_by_field_name("name")
                            if n is not None:
                                out.add("@" + self.text(n))
        return out

    def add_def(self, kind: str, name: str, qualname: str, node: Any, outer: Any | None = None,
                body: Any | None = None, tags: list[PatternTag] | None = None, class_key: str | None = None) -> _Def | None:
        if len(self.defs) >= MAX_DEFS:
            return None
        d = _Def(kind, name, qualname, node, outer or node, body=body, tags=list(tags or []), class_key=class_key)
        self.defs.append(d)
        return d

    def new_cls(self, name: str, qualname: str, kind: str, node: Any) -> dict[str, Any]:
        key = qualname
        existing = self.classes.get(key)
        if existing is not None and existing.get("partial"):
            existing.update(kind=kind, line=node.start_point[0] + 1, end_line=node.end_point[0] + 1)
            existing.pop("partial", None)
            return existing
        if existing is not None:
            n = 2
            while f"{key}#{n}" in self.classes:
                n += 1
            key = f"{key}#{n}"
        c = new_class(name, qualname, kind, node.start_point[0] + 1, node.end_point[0] + 1)
        c["_key"] = key
        self.classes[key] = c
        return c

    def cls_for(self, name: str) -> dict[str, Any]:
        """The class named ``name`` (Go receiver, Rust impl type, C++ scope), created when not seen yet."""
        c = self.classes.get(name)
        if c is None:
            c = new_class(name, name, "struct" if self.lang in ("go", "rust") else "class", 0, 0)
            c["partial"] = True
            c["_key"] = name
            self.classes[name] = c
        return c

    def method(self, cls: dict[str, Any] | None, name: str, node: Any, params_node: Any | None, body: Any | None, *,
               static: bool = False, abstract: bool = False, ctor: bool = False, visibility: str = "public",
               returns: str | None = None, receiver: str | None = None) -> MethodFacts:
        facts = MethodFacts(name, node.start_point[0] + 1, node.end_point[0] + 1, static=static,
                            abstract=abstract, ctor=ctor, visibility=visibility)
        names = self.params(facts, params_node)
        if returns:
            from processors.patterns.structure import normalize_type

            facts.d["returns"] = normalize_type(returns)[0]
        if cls is not None:
            existing = next((m for m in cls["methods"] if m["name"] == name and body is not None and m.get("_decl_only")), None)
            if existing is not None:  # C++: definition of a method declared in the class
                facts.d["visibility"] = existing["visibility"]
                facts.d["static"] = existing["static"] or static
                cls["methods"].remove(existing)
            cls["methods"].append(facts.d)
            if body is None:
                facts.d["_decl_only"] = True
        else:
            self.functions.append(facts.d)
        if body is not None:
            self.pending.append(_Pending(facts, names, body, cls["_key"] if cls is not None else None, receiver))
        elif not abstract:
            facts.d["empty"] = True
        return facts

    def params(self, facts: MethodFacts, node: Any | None) -> list[str]:
        names: list[str] = []
        if node is None:
            return names
        for p in node.named_children:
            t = p.type
            if t in ("self_parameter", "comment", "line_comment", "block_comment"):
                continue
            name_node = self.fld(p, "name", "pattern", "declarator")
            type_node = self.fld(p, "type")
            if t == "identifier":
                name_node = p
            if name_node is None:
                continue
            # C/C++ declarators wrap the name: pointer_declarator / reference_declarator …
            while name_node is not None and name_node.type not in ("identifier", "field_identifier", "shorthand_property_identifier_pattern"):
                inner = self.fld(name_node, "declarator", "name", "pattern")
                if inner is None:
                    kids = [c for c in name_node.named_children if c.type in ("identifier", "field_identifier")]
                    inner = kids[-1] if kids else None
                if inner is None or inner == name_node:
                    break
                name_node = inner
            if name_node is None or name_node.type not in ("identifier", "field_identifier"):
                continue
            pname = self.text(name_node)
            ttext = self.text(type_node) if type_node is not None else None
            if self.lang == "go" and type_node is not None:
                # Go: `a, b int` → several identifiers share one type
                for c in p.named_children:
                    if c.type == "identifier" and c != name_node:
                        names.append(self.text(c))
                        facts.param(self.text(c), ttext)
            names.append(pname)
            facts.param(pname, ttext)
        return names

    def signature(self, node: Any, body: Any | None) -> str:
        end = body.start_byte if body is not None else node.end_byte
        raw = self.src[node.start_byte : end].decode("utf-8", "replace")
        return collapse_ws(raw)[:400].rstrip(" {=:")

    # ------------------------------------------------------------------ Java
    def java(self, node: Any, cls: dict[str, Any] | None, prefix: str, depth: int) -> None:
        if depth > MAX_NEST:
            return
        for c in node.named_children:
            t = c.type
            if t in ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
                     "annotation_type_declaration"):
                self.java_class(c, prefix, depth)
            elif t in ("method_declaration", "constructor_declaration", "compact_constructor_declaration") and cls is not None:
                self.java_method(c, cls, prefix)
            elif t in ("field_declaration", "constant_declaration") and cls is not None:
                self.java_field(c, cls)
            elif t == "enum_body_declarations":
                self.java(c, cls, prefix, depth + 1)
            elif t == "enum_constant" and cls is not None:
                n = c.child_by_field_name("name")
                if n is not None:
                    cls["enum_constants"].append(self.text(n))
                body = c.child_by_field_name("body")
                if body is not None:
                    self.java(body, cls, prefix, depth + 1)
            elif t in ("import_declaration",):
                self.imports.append(collapse_ws(self.text(c))[7:].rstrip(";").strip())
            elif t in ("program", "class_body", "interface_body", "enum_body", "annotation_type_body"):
                self.java(c, cls, prefix, depth + 1)

    def java_class(self, node: Any, prefix: str, depth: int) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        name = self.text(name_node)
        qual = prefix + name
        kind = {"class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
                "record_declaration": "record", "annotation_type_declaration": "interface"}[node.type]
        mods = self.tokens(node)
        body = node.child_by_field_name("body")
        cls = self.new_cls(name, qual, kind, node)
        cls["abstract"] = kind == "interface" or "abstract" in mods
        cls["decorators"] = sorted(m[1:] for m in mods if m.startswith("@"))
        for c in node.named_children:
            if c.type in ("superclass", "super_interfaces", "extends_interfaces"):
                for tnode in _type_nodes(c):
                    b = simple_name(self.text(tnode))
                    if b and b not in cls["bases"]:
                        cls["bases"].append(b)
        if kind == "record":
            params = node.child_by_field_name("parameters")
            if params is not None:
                for p in params.named_children:
                    pn, pt = p.child_by_field_name("name"), p.child_by_field_name("type")
                    if pn is not None:
                        cls["fields"].append(new_field(self.text(pn), self.text(pt) if pt is not None else None,
                                                       final=True, visibility="private", line=p.start_point[0] + 1))
        tags = [tag("abstract", "abstract")] if "abstract" in mods else []
        self.add_def(kind, name, qual, node, body=body, tags=tags, class_key=cls["_key"])
        if body is not None:
            self.java(body, cls, qual + ".", depth + 1)

    def java_field(self, node: Any, cls: dict[str, Any]) -> None:
        mods = self.tokens(node)
        type_node = node.child_by_field_name("type")
        ttext = self.text(type_node) if type_node is not None else None
        in_iface = cls["kind"] == "interface"
        for d in node.children_by_field_name("declarator"):
            n = d.child_by_field_name("name")
            if n is None:
                continue
            value = d.child_by_field_name("value")
            init = None
            if value is not None:
                init = _init_kind(self, value)
            f = new_field(self.text(n), ttext, static="static" in mods or in_iface, final="final" in mods or in_iface,
                          visibility=_vis(mods, "package" if not in_iface else "public"), line=node.start_point[0] + 1,
                          init=init)
            cls["fields"].append(f)
            if value is not None and value.type in ("object_creation_expression", "lambda_expression", "array_initializer"):
                fac = self.method(cls, "<init:" + f["name"] + ">", value, None, value, visibility="private")
                fac.d["ctor"] = False
                fac.d["static"] = f["static"]
                fac.d["synthetic"] = True
                # the initializer writes the field
                fac.write("f:" + f["name"], init or "x")

    def java_method(self, node: Any, cls: dict[str, Any], prefix: str) -> None:
        name_node = node.child_by_field_name("name")
        name = self.text(name_node) if name_node is not None else cls["name"]
        mods = self.tokens(node)
        ctor = node.type != "method_declaration"
        body = node.child_by_field_name("body")
        in_iface = cls["kind"] == "interface"
        abstract = body is None and (in_iface or "abstract" in mods)
        vis = _vis(mods, "public" if in_iface else "package")
        rtype = node.child_by_field_name("type")
        facts = self.method(cls, name, node, node.child_by_field_name("parameters"), body, static="static" in mods,
                            abstract=abstract, ctor=ctor, visibility=vis, returns=self.text(rtype) if rtype is not None else None)
        if ctor:
            self.ctor_vis.setdefault(cls["_key"], []).append(vis)
        tags = []
        if ctor:
            tags.append(tag("constructor", name))
        if abstract:
            tags.append(tag("abstract", "no body"))
        if "static" in mods:
            tags.append(tag("static", "static"))
        if "synchronized" in mods:
            tags.append(tag("synchronized", "synchronized"))
        facts.d["annotations"] = sorted(m[1:] for m in mods if m.startswith("@"))
        self.add_def("method", name, prefix + name, node, body=body, tags=tags)

    # ------------------------------------------------------------------ JavaScript / TypeScript
    def js(self, node: Any, cls: dict[str, Any] | None, prefix: str, depth: int) -> None:
        if depth > MAX_NEST:
            return
        for c in node.named_children:
            self.js_item(c, c, prefix, depth)

    def js_item(self, c: Any, outer: Any, prefix: str, depth: int) -> None:
        t = c.type
        if t == "export_statement":
            decl = c.child_by_field_name("declaration") or c.child_by_field_name("value")
            if decl is not None:
                self.js_item(decl, outer, prefix, depth)
            else:
                for k in c.named_children:
                    if k.type in ("class_declaration", "abstract_class_declaration", "class", "function_declaration"):
                        self.js_item(k, outer, prefix, depth)
        elif t in ("class_declaration", "abstract_class_declaration", "class"):
            self.js_class(c, outer, prefix, depth, None)
        elif t == "interface_declaration":
            self.js_interface(c, outer, prefix)
        elif t == "enum_declaration":
            n = c.child_by_field_name("name")
            if n is not None:
                name = self.text(n)
                cls = self.new_cls(name, prefix + name, "enum", c)
                body = c.child_by_field_name("body")
                if body is not None:
                    for m in body.named_children:
                        nn = m.child_by_field_name("name") if m.type == "enum_assignment" else m
                        if nn is not None and nn.type in ("property_identifier", "identifier"):
                            cls["enum_constants"].append(self.text(nn))
                self.add_def("enum", name, prefix + name, c, outer, body=body, class_key=cls["_key"])
        elif t == "type_alias_declaration":
            n = c.child_by_field_name("name")
            if n is not None:
                self.add_def("type", self.text(n), prefix + self.text(n), c, outer, body=c.child_by_field_name("value"))
        elif t in ("function_declaration", "generator_function_declaration"):
            n = c.child_by_field_name("name")
            if n is not None:
                body = c.child_by_field_name("body")
                rt = c.child_by_field_name("return_type")
                self.method(None, self.text(n), c, c.child_by_field_name("parameters"), body,
                            returns=self.text(rt) if rt is not None else None)
                tags = [tag("async", "async")] if "async" in self.tokens(c) else []
                self.add_def("function", self.text(n), prefix + self.text(n), c, outer, body=body, tags=tags)
        elif t in ("lexical_declaration", "variable_declaration"):
            for d in c.named_children:
                if d.type != "variable_declarator":
                    continue
                n, v = d.child_by_field_name("name"), d.child_by_field_name("value")
                if n is None or v is None or n.type != "identifier":
                    if n is not None and n.type == "identifier" and outer.type != "export_statement" and prefix == "":
                        self.globals.append(new_field(self.text(n), _ts_type(self, d), static=True, line=d.start_point[0] + 1))
                    continue
                name = self.text(n)
                if v.type in ("arrow_function", "function_expression", "function", "generator_function"):
                    body = v.child_by_field_name("body")
                    params = v.child_by_field_name("parameters") or v.child_by_field_name("parameter")
                    rt = v.child_by_field_name("return_type")
                    fac = self.method(None, name, v, params if params is not None and params.type != "identifier" else None,
                                      body, returns=self.text(rt) if rt is not None else None)
                    if params is not None and params.type == "identifier":
                        fac.param(self.text(params), None)
                        if self.pending and self.pending[-1].facts is fac:
                            self.pending[-1].params.append(self.text(params))
                    tags = [tag("async", "async")] if "async" in self.tokens(v) else []
                    self.add_def("function", name, prefix + name, d, outer, body=body, tags=tags)
                elif v.type == "class":
                    self.js_class(v, outer, prefix, depth, name)
                else:
                    if prefix == "":
                        self.globals.append(new_field(name, _ts_type(self, d), static=True, line=d.start_point[0] + 1,
                                                      init=_init_kind(self, v)))
        elif t in ("internal_module", "module"):
            n = c.child_by_field_name("name")
            body = c.child_by_field_name("body")
            if body is not None:
                self.js(body, None, prefix + (self.text(n) + "." if n is not None else ""), depth + 1)
        elif t in ("ambient_declaration", "expression_statement") and t == "ambient_declaration":
            for k in c.named_children:
                self.js_item(k, outer, prefix, depth + 1)
        elif t == "expression_statement" and c.named_child_count:
            e = c.named_children[0]
            if e.type == "assignment_expression":
                left, right = e.child_by_field_name("left"), e.child_by_field_name("right")
                lt = self.text(left)
                m = re.fullmatch(r"([A-Za-z_$][\w$]*)\.prototype\.([A-Za-z_$][\w$]*)", lt)
                if m and right is not None and right.type in ("function_expression", "function", "arrow_function"):
                    cname, mname = m.groups()
                    cls = self.cls_for(cname)
                    body = right.child_by_field_name("body")
                    self.method(cls, mname, right, right.child_by_field_name("parameters"), body)
                    self.add_def("method", mname, f"{cname}.{mname}", c, outer, body=body)
            elif e.type == "call_expression":
                fn = e.child_by_field_name("function")
                if fn is not None and self.text(fn) == "require":
                    self.imports.append(self.text(e.child_by_field_name("arguments"))[1:-1])
        elif t == "import_statement":
            src = c.child_by_field_name("source")
            if src is not None:
                self.imports.append(self.text(src).strip("'\""))

    def js_class(self, node: Any, outer: Any, prefix: str, depth: int, alias: str | None) -> None:
        n = node.child_by_field_name("name")
        name = self.text(n) if n is not None else (alias or "default")
        qual = prefix + name
        cls = self.new_cls(name, qual, "class", node)
        cls["abstract"] = node.type == "abstract_class_declaration"
        for c in node.named_children:
            if c.type == "class_heritage":
                for h in c.named_children:
                    if h.type in ("extends_clause", "implements_clause"):
                        for tnode in h.named_children:
                            if tnode.type in ("type_arguments",):
                                continue
                            b = simple_name(self.text(tnode))
                            if b and b not in cls["bases"]:
                                cls["bases"].append(b)
                    else:
                        b = simple_name(self.text(h))
                        if b and b not in cls["bases"]:
                            cls["bases"].append(b)
            elif c.type == "decorator":
                cls["decorators"].append(simple_name(self.text(c).lstrip("@")) or "")
        body = node.child_by_field_name("body")
        tags = [tag("abstract", "abstract class")] if cls["abstract"] else []
        self.add_def("class", name, qual, node, outer, body=body, tags=tags, class_key=cls["_key"])
        if body is None:
            return
        for m in body.named_children:
            t = m.type
            if t in ("method_definition", "abstract_method_signature", "method_signature"):
                mn = m.child_by_field_name("name")
                if mn is None:
                    continue
                mname = self.text(mn).lstrip("#")
                mods = self.tokens(m)
                mbody = m.child_by_field_name("body")
                if t == "method_signature" and mbody is None:
                    continue  # overload signature
                abstract = t == "abstract_method_signature"
                vis = "private" if ("private" in mods or self.text(mn).startswith("#")) else ("protected" if "protected" in mods else "public")
                ctor = mname == "constructor"
                rt = m.child_by_field_name("return_type")
                params = m.child_by_field_name("parameters")
                facts = self.method(cls, mname, m, params, mbody, static="static" in mods, abstract=abstract, ctor=ctor,
                                    visibility=vis, returns=self.text(rt) if rt is not None else None)
                if ctor:
                    self.ctor_vis.setdefault(cls["_key"], []).append(vis)
                    if params is not None:  # TS parameter properties: constructor(private repo: Repo)
                        for p in params.named_children:
                            if any(k.type in ("accessibility_modifier", "readonly") or k.type == "readonly" for k in p.children) or "readonly" in self.tokens(p):
                                pn = p.child_by_field_name("pattern")
                                pt = p.child_by_field_name("type")
                                if pn is not None:
                                    pmods = self.tokens(p)
                                    cls["fields"].append(new_field(self.text(pn), self.text(pt) if pt is not None else None,
                                                                   final="readonly" in pmods, visibility=_vis(pmods, "public"),
                                                                   line=p.start_point[0] + 1, init="p:" + self.text(pn)))
                                    facts.write("f:" + self.text(pn), "p:" + self.text(pn))
                tags = []
                if ctor:
                    tags.append(tag("constructor", "constructor"))
                for k in ("static", "async", "abstract", "get", "set"):
                    if k in mods or (k == "abstract" and abstract):
                        tags.append(tag({"get": "getter", "set": "setter"}.get(k, k), k))
                self.add_def("method", mname, f"{qual}.{mname}", m, body=mbody, tags=tags)
            elif t in ("public_field_definition", "field_definition"):
                fn = m.child_by_field_name("name") or m.child_by_field_name("property")
                if fn is None:
                    continue
                mods = self.tokens(m)
                ft = m.child_by_field_name("type")
                value = m.child_by_field_name("value")
                fname = self.text(fn).lstrip("#")
                vis = "private" if ("private" in mods or self.text(fn).startswith("#")) else ("protected" if "protected" in mods else "public")
                if value is not None and value.type in ("arrow_function", "function_expression"):
                    vbody = value.child_by_field_name("body")
                    self.method(cls, fname, value, value.child_by_field_name("parameters"), vbody, static="static" in mods, visibility=vis)
                    self.add_def("method", fname, f"{qual}.{fname}", m, body=vbody)
                    continue
                f = new_field(fname, self.text(ft) if ft is not None else None, static="static" in mods,
                              final="readonly" in mods, visibility=vis, line=m.start_point[0] + 1,
                              init=_init_kind(self, value) if value is not None else None)
                cls["fields"].append(f)
                if value is not None and value.type in ("new_expression", "array", "object", "call_expression"):
                    fac = self.method(cls, "<init:" + fname + ">", value, None, value, visibility="private", static=f["static"])
                    fac.d["synthetic"] = True
                    fac.write("f:" + fname, f["init"] or "x")
            elif t == "class_static_block":
                pass

    def js_interface(self, node: Any, outer: Any, prefix: str) -> None:
        n = node.child_by_field_name("name")
        if n is None:
            return
        name = self.text(n)
        cls = self.new_cls(name, prefix + name, "interface", node)
        cls["abstract"] = True
        for c in node.named_children:
            if c.type == "extends_type_clause":
                for tnode in c.named_children:
                    b = simple_name(self.text(tnode))
                    if b:
                        cls["bases"].append(b)
        body = node.child_by_field_name("body")
        if body is not None:
            for m in body.named_children:
                mn = m.child_by_field_name("name")
                if mn is None:
                    continue
                if m.type == "method_signature":
                    rt = m.child_by_field_name("return_type")
                    self.method(cls, self.text(mn), m, m.child_by_field_name("parameters"), None, abstract=True,
                                returns=self.text(rt) if rt is not None else None)
                elif m.type == "property_signature":
                    ft = m.child_by_field_name("type")
                    ftext = self.text(ft) if ft is not None else ""
                    if "=>" in ftext:
                        self.method(cls, self.text(mn), m, None, None, abstract=True)
                    else:
                        cls["fields"].append(new_field(self.text(mn), ftext or None, line=m.start_point[0] + 1))
        self.add_def("interface", name, prefix + name, node, outer, body=body, class_key=cls["_key"])

    # ------------------------------------------------------------------ Go
    def go(self, root: Any) -> None:
        for c in root.named_children:
            t = c.type
            if t == "type_declaration":
                for spec in c.named_children:
                    if spec.type in ("type_spec", "type_alias"):
                        self.go_type(spec, c)
            elif t == "function_declaration":
                n = c.child_by_field_name("name")
                if n is None:
                    continue
                body = c.child_by_field_name("body")
                res = c.child_by_field_name("result")
                name = self.text(n)
                self.method(None, name, c, c.child_by_field_name("parameters"), body,
                            returns=self.text(res) if res is not None else None)
                self.add_def("function", name, name, c, body=body)
            elif t == "method_declaration":
                n = c.child_by_field_name("name")
                recv = c.child_by_field_name("receiver")
                if n is None or recv is None:
                    continue
                rname = rtype = None
                for p in recv.named_children:
                    if p.type == "parameter_declaration":
                        pn, pt = p.child_by_field_name("name"), p.child_by_field_name("type")
                        rname = self.text(pn) if pn is not None else None
                        rtype = simple_name(self.text(pt).lstrip("*")) if pt is not None else None
                if not rtype:
                    continue
                cls = self.cls_for(rtype)
                body = c.child_by_field_name("body")
                res = c.child_by_field_name("result")
                name = self.text(n)
                self.method(cls, name, c, c.child_by_field_name("parameters"), body, receiver=rname,
                            visibility="public" if name[:1].isupper() else "private",
                            returns=self.text(res) if res is not None else None)
                self.add_def("method", name, f"{rtype}.{name}", c, body=body)
            elif t in ("var_declaration", "const_declaration"):
                specs = []
                for spec in c.named_children:
                    if spec.type in ("var_spec_list", "const_spec_list"):
                        specs.extend(spec.named_children)
                    else:
                        specs.append(spec)
                for spec in specs:
                    if spec.type not in ("var_spec", "const_spec"):
                        continue
                    tnode = spec.child_by_field_name("type")
                    value = spec.child_by_field_name("value")
                    for n in spec.children_by_field_name("name"):
                        self.globals.append(new_field(self.text(n), self.text(tnode) if tnode is not None else None,
                                                      static=True, final=t == "const_declaration", line=spec.start_point[0] + 1,
                                                      init=_init_kind(self, value) if value is not None else None))
            elif t == "import_declaration":
                for s in re.findall(r'"([^"]+)"', self.text(c)):
                    self.imports.append(s)

    def go_type(self, spec: Any, outer: Any) -> None:
        n = spec.child_by_field_name("name")
        tnode = spec.child_by_field_name("type")
        if n is None:
            return
        name = self.text(n)
        kind = "type"
        if tnode is not None and tnode.type == "struct_type":
            kind = "struct"
        elif tnode is not None and tnode.type == "interface_type":
            kind = "interface"
        cls = self.new_cls(name, name, kind, spec) if kind != "type" else None
        if cls is not None and cls.get("line") == 0:
            cls["line"] = spec.start_point[0] + 1
        if kind == "struct":
            fl = next((c for c in tnode.named_children if c.type == "field_declaration_list"), None)
            for fd in fl.named_children if fl is not None else []:
                if fd.type != "field_declaration":
                    continue
                ft = fd.child_by_field_name("type")
                names = fd.children_by_field_name("name")
                if not names and ft is not None:  # embedded type
                    b = simple_name(self.text(ft).lstrip("*"))
                    if b:
                        cls["bases"].append(b)
                    continue
                for nn in names:
                    fname = self.text(nn)
                    cls["fields"].append(new_field(fname, self.text(ft) if ft is not None else None,
                                                   visibility="public" if fname[:1].isupper() else "private",
                                                   line=fd.start_point[0] + 1))
        elif kind == "interface":
            cls["abstract"] = True
            for m in tnode.named_children:
                if m.type in ("method_elem", "method_spec"):
                    mn = m.child_by_field_name("name")
                    res = m.child_by_field_name("result")
                    if mn is not None:
                        self.method(cls, self.text(mn), m, m.child_by_field_name("parameters"), None, abstract=True,
                                    returns=self.text(res) if res is not None else None)
                elif m.type in ("type_elem", "constraint_elem"):
                    b = simple_name(self.text(m))
                    if b:
                        cls["bases"].append(b)
        d = self.add_def(kind, name, name, spec, outer if len([s for s in outer.named_children if s.type in ("type_spec", "type_alias")]) == 1 else spec,
                         body=tnode, class_key=cls["_key"] if cls is not None else None)
        if d is not None:
            d.body = tnode

    # ------------------------------------------------------------------ Rust
    def rust(self, node: Any, prefix: str, depth: int) -> None:
        if depth > MAX_NEST:
            return
        for c in node.named_children:
            t = c.type
            n = c.child_by_field_name("name")
            if t in ("struct_item", "enum_item", "union_item", "trait_item"):
                if n is None:
                    continue
                name = self.text(n)
                kind = {"struct_item": "struct", "enum_item": "enum", "union_item": "union", "trait_item": "trait"}[t]
                cls = self.new_cls(name, prefix + name, kind, c)
                if cls["line"] == 0:
                    cls["line"] = c.start_point[0] + 1
                body = c.child_by_field_name("body")
                if t == "struct_item" and body is not None:
                    for fd in body.named_children:
                        if fd.type == "field_declaration":
                            fn, ft = fd.child_by_field_name("name"), fd.child_by_field_name("type")
                            if fn is not None:
                                vis = "public" if any(k.type == "visibility_modifier" for k in fd.children) else "private"
                                cls["fields"].append(new_field(self.text(fn), self.text(ft) if ft is not None else None,
                                                               visibility=vis, line=fd.start_point[0] + 1))
                        elif fd.type in ("ordered_field_declaration_list",):
                            pass
                    if body.type == "ordered_field_declaration_list":
                        for i, ft in enumerate(x for x in body.named_children if x.type not in ("visibility_modifier",)):
                            cls["fields"].append(new_field(str(i), self.text(ft), line=body.start_point[0] + 1))
                elif t == "enum_item" and body is not None:
                    for v in body.named_children:
                        vn = v.child_by_field_name("name")
                        if vn is not None:
                            cls["enum_constants"].append(self.text(vn))
                elif t == "trait_item":
                    cls["abstract"] = True
                    bounds = c.child_by_field_name("bounds")
                    if bounds is not None:
                        for b in bounds.named_children:
                            s = simple_name(self.text(b))
                            if s:
                                cls["bases"].append(s)
                    if body is not None:
                        for m in body.named_children:
                            if m.type in ("function_signature_item", "function_item"):
                                self.rust_fn(m, cls, prefix + name + ".", trait=True)
                self.add_def(kind, name, prefix + name, c, body=body, class_key=cls["_key"])
            elif t == "impl_item":
                ty = c.child_by_field_name("type")
                tr = c.child_by_field_name("trait")
                if ty is None:
                    continue
                tname = simple_name(self.text(ty)) or self.text(ty)
                cls = self.cls_for(tname)
                trait = simple_name(self.text(tr)) if tr is not None else None
                if trait and trait not in cls["bases"]:
                    cls["bases"].append(trait)
                label = f"{self.text(tr)} for {tname}" if tr is not None else tname
                body = c.child_by_field_name("body")
                self.add_def("impl", label, prefix + collapse_ws(label), c, body=body,
                             tags=[tag("trait_impl", trait)] if trait else [])
                if body is not None:
                    for m in body.named_children:
                        if m.type in ("function_item", "function_signature_item"):
                            self.rust_fn(m, cls, prefix + tname + ".")
            elif t in ("function_item",):
                self.rust_fn(c, None, prefix)
            elif t == "mod_item":
                body = c.child_by_field_name("body")
                if body is not None and n is not None:
                    self.rust(body, prefix + self.text(n) + ".", depth + 1)
            elif t in ("static_item", "const_item"):
                ty = c.child_by_field_name("type")
                value = c.child_by_field_name("value")
                if n is not None:
                    self.globals.append(new_field(self.text(n), self.text(ty) if ty is not None else None, static=True,
                                                  final=t == "const_item", line=c.start_point[0] + 1,
                                                  init=_init_kind(self, value) if value is not None else None))
            elif t == "type_item" and n is not None:
                self.add_def("type", self.text(n), prefix + self.text(n), c, body=c.child_by_field_name("type"))
            elif t == "use_declaration":
                arg = c.child_by_field_name("argument")
                if arg is not None:
                    self.imports.append(collapse_ws(self.text(arg)))
            elif t == "macro_invocation" and n is None:
                pass

    def rust_fn(self, node: Any, cls: dict[str, Any] | None, prefix: str, trait: bool = False) -> None:
        n = node.child_by_field_name("name")
        if n is None:
            return
        name = self.text(n)
        params = node.child_by_field_name("parameters")
        has_self = params is not None and any(p.type == "self_parameter" for p in params.named_children)
        body = node.child_by_field_name("body")
        vis = "public" if any(k.type == "visibility_modifier" for k in node.children) or trait else "private"
        rt = node.child_by_field_name("return_type")
        rtext = self.text(rt) if rt is not None else None
        if rtext and cls is not None and rtext.strip() == "Self":
            rtext = cls["name"]
        is_ctor = cls is not None and not has_self and name in ("new", "default", "create") and rtext is not None
        self.method(cls, name, node, params, body, static=cls is not None and not has_self,
                    abstract=body is None, ctor=False, visibility=vis, returns=rtext)
        kind = "method" if cls is not None else "function"
        tags = []
        if is_ctor:
            tags.append(tag("constructor", name))
        if body is None:
            tags.append(tag("abstract", "required trait method"))
        if "async" in self.tokens(node) or any(k.type == "function_modifiers" and "async" in self.text(k) for k in node.children):
            tags.append(tag("async", "async fn"))
        self.add_def(kind, name, prefix + name, node, body=body, tags=tags)

    # ------------------------------------------------------------------ C / C++
    def cfam(self, node: Any, cls: dict[str, Any] | None, prefix: str, depth: int, vis: str = "public") -> None:
        if depth > MAX_NEST:
            return
        for c in node.named_children:
            t = c.type
            if t == "access_specifier":
                vis = self.text(c).strip().rstrip(":").strip() or vis
                continue
            if t in ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif", "preproc_elifdef",
                     "linkage_specification", "declaration_list"):
                self.cfam(c.child_by_field_name("body") or c, cls, prefix, depth + 1, vis)
                if t in ("preproc_ifdef", "preproc_if", "preproc_elif"):
                    alt = c.child_by_field_name("alternative")
                    if alt is not None:
                        self.cfam(alt, cls, prefix, depth + 1, vis)
            elif t == "namespace_definition":
                body = c.child_by_field_name("body")
                if body is not None:
                    self.cfam(body, None, prefix, depth + 1)
            elif t == "template_declaration":
                self.cfam(c, cls, prefix, depth + 1, vis)
            elif t in ("class_specifier", "struct_specifier", "union_specifier", "enum_specifier"):
                self.c_type(c, c, prefix, depth, None)
            elif t == "type_definition":
                ty = c.child_by_field_name("type")
                decl = c.child_by_field_name("declarator")
                if ty is not None and ty.type in ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier") \
                        and ty.child_by_field_name("body") is not None:
                    self.c_type(ty, c, prefix, depth, simple_name(self.text(decl)) if decl is not None else None)
            elif t == "function_definition":
                self.c_function(c, cls, prefix, vis)
            elif t in ("field_declaration", "declaration") and cls is not None:
                self.c_member_decl(c, cls, vis, prefix, depth)
            elif t == "declaration" and cls is None:
                ty = c.child_by_field_name("type")
                if ty is not None and ty.type in ("class_specifier", "struct_specifier", "union_specifier", "enum_specifier") \
                        and ty.child_by_field_name("body") is not None:
                    self.c_type(ty, c, prefix, depth, None)
                    continue
                for d in c.children_by_field_name("declarator"):
                    inner = d
                    while inner is not None and inner.type in ("init_declarator", "pointer_declarator", "reference_declarator", "array_declarator"):
                        inner = inner.child_by_field_name("declarator")
                    if inner is not None and inner.type == "identifier" and prefix == "":
                        self.globals.append(new_field(self.text(inner), self.text(ty) if ty is not None else None,
                                                      static=True, line=c.start_point[0] + 1))
            elif t == "preproc_include":
                p = c.child_by_field_name("path")
                if p is not None:
                    self.imports.append(self.text(p).strip("<>\""))

    def c_type(self, node: Any, outer: Any, prefix: str, depth: int, alias: str | None) -> None:
        n = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if body is None:
            return
        name = self.text(n) if n is not None else alias
        if not name:
            return
        name = simple_name(name) or name
        kind = {"class_specifier": "class", "struct_specifier": "struct", "union_specifier": "union",
                "enum_specifier": "enum"}[node.type]
        qual = prefix + name
        cls = self.new_cls(name, qual, kind, node)
        if cls["line"] == 0:
            cls["line"] = node.start_point[0] + 1
        for c in node.named_children:
            if c.type == "base_class_clause":
                for b in c.named_children:
                    if b.type in ("type_identifier", "qualified_identifier", "template_type"):
                        s = simple_name(self.text(b))
                        if s:
                            cls["bases"].append(s)
        d = self.add_def(kind, name, qual, node, outer, body=body, class_key=cls["_key"])
        if kind == "enum":
            for e in body.named_children:
                en = e.child_by_field_name("name")
                if en is not None:
                    cls["enum_constants"].append(self.text(en))
            return
        self.cfam(body, cls, qual + ".", depth + 1, "private" if kind == "class" else "public")
        if any(m["abstract"] for m in cls["methods"]):
            cls["abstract"] = True
            if d is not None:
                d.tags.append(tag("abstract", "pure virtual methods"))

    def _c_declarator(self, node: Any) -> tuple[Any | None, Any | None]:
        """``(function_declarator, name node)`` under a (pointer/reference) declarator chain."""
        d = node
        for _ in range(10):
            if d is None:
                return None, None
            if d.type == "function_declarator":
                name = d.child_by_field_name("declarator")
                while name is not None and name.type in ("parenthesized_declarator", "pointer_declarator", "reference_declarator"):
                    kids = [k for k in name.named_children if k.type not in ("type_qualifier",)]
                    name = name.child_by_field_name("declarator") or (kids[-1] if kids else None)
                return d, name
            d = d.child_by_field_name("declarator") or next(
                (k for k in d.named_children if k.type.endswith("declarator")), None)
        return None, None

    def c_function(self, node: Any, cls: dict[str, Any] | None, prefix: str, vis: str) -> None:
        decl = node.child_by_field_name("declarator")
        fdecl, name_node = self._c_declarator(decl) if decl is not None else (None, None)
        if fdecl is None or name_node is None:
            return
        body = node.child_by_field_name("body")
        mods = self.tokens(node)
        rtype = node.child_by_field_name("type")
        params = fdecl.child_by_field_name("parameters")
        owner = cls
        qual_prefix = prefix
        name = self.text(name_node)
        if name_node.type == "qualified_identifier":
            scope = name_node.child_by_field_name("scope")
            inner = name_node.child_by_field_name("name")
            sname = simple_name(self.text(scope)) if scope is not None else None
            name = self.text(inner) if inner is not None else name
            if sname:
                owner = self.classes.get(sname) or next((c for c in self.classes.values() if c["name"] == sname), None) or self.cls_for(sname)
                qual_prefix = owner["qualname"] + "."
        name = name.split("::")[-1]
        ctor = owner is not None and (name == owner["name"])
        if owner is not None and name.startswith("~"):
            ctor = False
        is_static = "static" in mods
        facts = self.method(owner, name, node, params, body, static=is_static and owner is not None, ctor=ctor,
                            visibility=vis if owner is cls and cls is not None else "public",
                            returns=self.text(rtype) if rtype is not None else None)
        if owner is not None and ctor:
            self.ctor_vis.setdefault(owner["_key"], []).append(facts.d["visibility"])
        kind = "method" if owner is not None else "function"
        tags = [tag("constructor", name)] if ctor else []
        if "virtual" in mods:
            tags.append(tag("virtual", "virtual"))
        self.add_def(kind, name, qual_prefix + name if owner is not None else prefix + name, node, body=body, tags=tags)

    def c_member_decl(self, node: Any, cls: dict[str, Any], vis: str, prefix: str, depth: int) -> None:
        ty = node.child_by_field_name("type")
        if ty is not None and ty.type in ("class_specifier", "struct_specifier", "union_specifier", "enum_specifier") \
                and ty.child_by_field_name("body") is not None:
            self.c_type(ty, node, prefix, depth + 1, None)
        mods = self.tokens(node)
        text = self.text(node)
        for d in node.children_by_field_name("declarator"):
            fdecl, name_node = self._c_declarator(d)
            if fdecl is not None and name_node is not None:
                name = self.text(name_node).split("::")[-1]
                pure = bool(re.search(r"=\s*0\s*;?\s*$", text))
                fptr = name_node.type == "field_identifier" and d.type != "function_declarator"  # C: int (*run)(void*)
                ctor = name == cls["name"]
                deleted = bool(re.search(r"=\s*delete", text))
                if ctor and deleted:
                    cls.setdefault("deleted", []).append(collapse_ws(text)[:80])
                    continue
                facts = self.method(cls, name, node, fdecl.child_by_field_name("parameters"), None,
                                    static="static" in mods, abstract=pure or fptr, ctor=ctor, visibility=vis,
                                    returns=self.text(ty) if ty is not None else None)
                if ctor:
                    self.ctor_vis.setdefault(cls["_key"], []).append(vis)
                if "virtual" in mods:
                    facts.d["virtual"] = True
                continue
            inner = d
            while inner is not None and inner.type in ("init_declarator", "pointer_declarator", "reference_declarator",
                                                       "array_declarator", "bitfield_clause"):
                inner = inner.child_by_field_name("declarator") or next((k for k in inner.named_children if k.type.endswith(("declarator", "identifier"))), None)
            if inner is not None and inner.type in ("field_identifier", "identifier"):
                ttext = self.text(ty) if ty is not None else None
                if ttext and d.type == "array_declarator":
                    ttext += "[]"
                cls["fields"].append(new_field(self.text(inner), ttext, static="static" in mods,
                                               final="const" in mods, visibility=vis, line=node.start_point[0] + 1))


def _vis(mods: set[str], default: str) -> str:
    for v in ("private", "protected", "public"):
        if v in mods:
            return v
    return default


def _type_nodes(node: Any) -> list[Any]:
    out = []
    for c in node.named_children:
        if c.type in ("type_identifier", "generic_type", "scoped_type_identifier"):
            out.append(c)
        elif c.type == "type_list":
            out.extend(_type_nodes(c))
    return out


def _ts_type(w: _Walker, declarator: Any) -> str | None:
    t = declarator.child_by_field_name("type")
    return w.text(t) if t is not None else None


def _init_kind(w: _Walker, value: Any) -> str:
    t = value.type
    if t in ("object_creation_expression", "new_expression", "composite_literal", "struct_expression"):
        tn = w.fld(value, "type", "constructor", "name")
        name = simple_name(w.text(tn)) if tn is not None else None
        if t == "composite_literal" and tn is not None and tn.type in ("map_type",):
            return "{}"
        if t == "composite_literal" and tn is not None and tn.type in ("slice_type", "array_type"):
            return "[]"
        return "n:" + name if name else "x"
    if t in ("unary_expression",) and value.named_child_count:
        return _init_kind(w, value.named_children[-1])
    if t in ("array", "array_initializer", "array_creation_expression"):
        return "[]"
    if t == "object":
        return "{}"
    if t.endswith("literal") or t in ("number", "string", "true", "false", "null", "nil", "none"):
        return "0"
    return "x"


# --------------------------------------------------------------------------- records

def _error_line(root: Any) -> int | None:
    stack = [root]
    seen = 0
    while stack and seen < 200_000:
        n = stack.pop()
        seen += 1
        if n.is_error or n.is_missing:
            return n.start_point[0] + 1
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


def _attach_comments(w: _Walker, d: _Def, lines: list[str]) -> None:
    node = d.outer
    while node.parent is not None and node.parent.type in ("template_declaration", "decorated_definition"):
        node = node.parent  # `template <typename T>` belongs to what it declares
    d.outer = node
    start_row = node.start_point[0]
    doc_parts: list[str] = []
    prev = node.prev_sibling
    cur_row = start_row
    guard = 0
    while prev is not None and guard < 50:
        guard += 1
        if prev.type in _COMMENT_TYPES or prev.type in _ATTR_TYPES:
            if prev.end_point[0] < cur_row - 1:
                break
            if prev.type in _COMMENT_TYPES:
                doc_parts.append(w.text(prev))
            cur_row = prev.start_point[0]
            prev = prev.prev_sibling
            continue
        break
    d.start_line = cur_row + 1
    d.end_line = max(d.start_line, node.end_point[0] + 1 if node.end_point[1] > 0 else node.end_point[0])
    d.end_line = max(d.end_line, d.node.end_point[0] + 1 if d.node.end_point[1] > 0 else d.node.end_point[0])
    d.end_line = min(d.end_line, len(lines))
    d.doc = _clean_doc("\n".join(reversed(doc_parts)))[:800]


def _body_lines(lines: list[str], d: _Def, max_chars: int) -> list[str]:
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


@dataclass
class ParsedDocument:
    """What one tree-sitter parse of a document gives: definitions, the structural summary, errors."""

    lang: str
    lines: list[str]
    defs: list[_Def]
    summary: dict[str, Any]
    error_line: int | None
    imports: list[str]


def parse_document(doc: Document) -> ParsedDocument | None:
    """Parse ``doc`` and walk it (``None`` when the language/grammar is unavailable or the file too big)."""
    lang = language_of(doc)
    if lang is None:
        return None
    parser = _parser(lang)
    if parser is None:
        return None
    content = doc.content
    src_text = re.sub(r"\r(?!\n)", "\n", content) if "\r" in content else content
    src = src_text.encode("utf-8", "surrogatepass") if _has_surrogates(src_text) else src_text.encode("utf-8")
    if len(src) > MAX_BYTES:
        return None
    tree = parser.parse(src)
    if tree is None:
        return None
    root = tree.root_node
    w = _Walker(src, lang)
    if lang == "java":
        w.java(root, None, "", 0)
    elif lang in ("javascript", "typescript", "tsx"):
        w.js(root, None, "", 0)
    elif lang == "go":
        w.go(root)
    elif lang == "rust":
        w.rust(root, "", 0)
    else:
        w.cfam(root, None, "", 0)
    # bodies, now that every class's fields are known
    known = {c["name"] for c in w.classes.values()}
    global_names = {g["name"] for g in w.globals}
    by_name = {c["name"]: c for c in w.classes.values()}

    def lineage(c: dict[str, Any]) -> list[dict[str, Any]]:
        out, stack, seen = [c], list(c["bases"]), {c["name"]}
        while stack and len(out) < 30:
            b = stack.pop()
            if b in seen or b not in by_name:
                continue
            seen.add(b)
            out.append(by_name[b])
            stack.extend(by_name[b]["bases"])
        return out

    for p in w.pending:
        cls = w.classes.get(p.class_key) if p.class_key else None
        chain = lineage(cls) if cls is not None else []
        fields = {f["name"] for k in chain for f in k["fields"]}
        methods = {m["name"] for k in chain for m in k["methods"]}
        analyzer = BodyAnalyzer(src, lang, own=cls["name"] if cls is not None else None, fields=fields,
                                own_methods=methods, bases=cls["bases"] if cls is not None else [],
                                receiver=p.receiver, globals_=global_names, known=known)
        analyzer.analyze(p.facts, p.params, p.body)
        if cls is not None and analyzer.static_locals:
            for name, tname in analyzer.static_locals:
                if not any(f["name"] == name for f in cls["fields"]):
                    cls["fields"].append(new_field(name, tname, static=True, visibility="private", line=p.facts.d["line"],
                                                   init="n:" + tname))
                p.facts.write("f:" + name, "n:" + tname)
                p.facts.d["rets"] = ["f:" + name if r == "n:" + tname or r == "l:" + name else r for r in p.facts.d["rets"]]
    classes = []
    for key, c in w.classes.items():
        vis = w.ctor_vis.get(key)
        c["private_ctor"] = bool(vis) and all(v == "private" for v in vis)
        c.pop("_key", None)
        for m in c["methods"]:
            m.pop("_decl_only", None)
        if not c["abstract"] and c["kind"] in ("class", "struct") and any(m["abstract"] for m in c["methods"]):
            c["abstract"] = True
        classes.append(c)
    for fn in w.functions:
        fn.pop("_decl_only", None)
    summary = {"version": SUMMARY_VERSION, "uri": doc.uri, "doc_id": doc.id, "language": lang,
               "classes": classes, "functions": w.functions, "globals": w.globals[:500]}
    lines = split_lines(content)
    for d in w.defs:
        _attach_comments(w, d, lines)
        d.signature = w.signature(d.node, d.body)
        if lang == "go" and d.kind in ("struct", "interface"):
            d.signature = f"type {d.name} {d.kind}"
    w.defs.sort(key=lambda d: (d.start_line, d.node.start_byte))
    members: dict[str, list[str]] = {}
    for d in w.defs:
        if "." in d.qualname:
            members.setdefault(d.qualname.rsplit(".", 1)[0], []).append(d.name)
    for d in w.defs:
        d.members = members.get(d.qualname, [])
    return ParsedDocument(lang, lines, w.defs, summary, _error_line(root) if root.has_error else None, w.imports)


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def extract(doc: Document, *, max_chars: int = 1200, structure_out: list[dict] | None = None) -> list[PatternRecord]:
    """Definition patterns of a source file (see the module doc); ``structure_out`` receives its summary."""
    if not doc.content.strip():
        return []
    lang = language_of(doc)
    if lang is None:
        return generic_code.extract(doc, max_chars=max_chars)
    parsed = parse_document(doc) if _parser(lang) is not None else None
    if parsed is None:
        reason = "treesitter_unavailable" if _parser(lang) is None else "size_cap"
        recs = generic_code.extract(doc, max_chars=max_chars)
        if recs:
            recs[0] = recs[0].model_copy(update={"tags": [*recs[0].tags, tag(reason, lang)]})
        return recs
    if structure_out is not None:
        structure_out.append(parsed.summary)
    return build_records(doc, parsed, max_chars)


def build_records(doc: Document, parsed: ParsedDocument, max_chars: int) -> list[PatternRecord]:
    from processors.patterns import design_patterns  # local: design_patterns imports this module

    lines = parsed.lines
    err_tags = [tag("syntax_error", f"line {parsed.error_line}: parse error")] if parsed.error_line else []
    if not parsed.defs:
        if err_tags:  # nothing parsed into a definition: plain passages, flagged
            return text_extractor.passages(doc.content, max_chars=max_chars, language=parsed.lang, tags=err_tags)
        return [b.model_copy(update={"extractor": EXTRACTOR}) for b in generic_code._blocks(doc, lines, max_chars)]
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
            file_doc = _clean_doc(m.group(1))[:600]
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
    return design_patterns.annotate(out, [parsed.summary], doc=doc, lines=lines, max_chars=max_chars,
                                    extractor=EXTRACTOR, language=lang)

