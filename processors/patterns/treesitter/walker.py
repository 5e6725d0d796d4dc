"""The tree-sitter walk's shared part: definitions found, the summary being built, helpers.

A :class:`Walker` subclass per language family (:mod:`.java`, :mod:`.javascript`, :mod:`.go`,
:mod:`.rust`, :mod:`.cfamily`) visits the syntax tree once. It collects a :class:`Definition` per
pattern-worthy node (types, functions, methods) and fills the structural summary being built
(classes, fields, methods, globals; see :mod:`schemas.structure`). Bodies are queued as
:class:`PendingBody` and analysed after the walk (:mod:`.parse`), when every class's fields are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processors.patterns.records import collapse_ws
from processors.patterns.structure_builder import MethodFacts, new_class, normalize_type, simple_name
from processors.patterns.treesitter.node_types import field_child
from schemas.patterns import PatternTag

__all__ = ["MAX_DEFS", "MAX_NEST", "Definition", "PendingBody", "Walker", "declared_type", "init_kind",
           "type_nodes", "visibility"]

MAX_DEFS = 5000
MAX_NEST = 40


@dataclass
class Definition:
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
class PendingBody:
    facts: MethodFacts
    params: list[str]
    body: Any
    class_key: str | None
    receiver: str | None


class Walker:
    def __init__(self, src: bytes, lang: str) -> None:
        self.src = src
        self.lang = lang
        self.defs: list[Definition] = []
        self.classes: dict[str, dict[str, Any]] = {}
        self.functions: list[dict[str, Any]] = []
        self.globals: list[dict[str, Any]] = []
        self.pending: list[PendingBody] = []
        self.imports: list[str] = []
        self.ctor_vis: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ helpers
    def text(self, node: Any | None) -> str:
        if node is None:
            return ""
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    fld = staticmethod(field_child)

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
                body: Any | None = None, tags: list[PatternTag] | None = None, class_key: str | None = None) -> Definition | None:
        if len(self.defs) >= MAX_DEFS:
            return None
        d = Definition(kind, name, qualname, node, outer or node, body=body, tags=list(tags or []), class_key=class_key)
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
            self.pending.append(PendingBody(facts, names, body, cls["_key"] if cls is not None else None, receiver))
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


    def walk(self, root: Any) -> None:
        """Visit the whole tree (the language walker's entry point)."""
        raise NotImplementedError


def visibility(mods: set[str], default: str) -> str:
    for v in ("private", "protected", "public"):
        if v in mods:
            return v
    return default


def type_nodes(node: Any) -> list[Any]:
    out = []
    for c in node.named_children:
        if c.type in ("type_identifier", "generic_type", "scoped_type_identifier"):
            out.append(c)
        elif c.type == "type_list":
            out.extend(type_nodes(c))
    return out


def declared_type(w: Walker, declarator: Any) -> str | None:
    t = declarator.child_by_field_name("type")
    return w.text(t) if t is not None else None


def init_kind(w: Walker, value: Any) -> str:
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
        return init_kind(w, value.named_children[-1])
    if t in ("array", "array_initializer", "array_creation_expression"):
        return "[]"
    if t == "object":
        return "{}"
    if t.endswith("literal") or t in ("number", "string", "true", "false", "null", "nil", "none"):
        return "0"
    return "x"


