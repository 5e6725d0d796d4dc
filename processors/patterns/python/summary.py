"""Python ``ast`` → structural summary (:mod:`schemas.structure`: the shape and the value encoding).

Fields are what a class assigns (``self.x = …``, ``cls.x = …``, class-level assignments) with their
type from annotations, from the annotated constructor parameter they come from, or from the class
they are created from (``self.x = X()``). Methods record what they create, call, write and return.

>>> import ast
>>> src = "class A:\\n    def __init__(self, b: 'B'):\\n        self.b = b\\n    def run(self):\\n        return self.b.go()\\n"
>>> s = summarize(ast.parse(src), uri="a.py")
>>> s.classes[0].fields[0].name, s.classes[0].fields[0].type
('b', 'B')
>>> s.classes[0].methods[1].calls
(Call(recv='f:b', method='go', flags='', args=()),)
"""

from __future__ import annotations

import ast
from typing import Any

from processors.patterns.python.body import BodyWalker
from processors.patterns.python.syntax import annotation_text, base_name, last_name, trivial_body
from processors.patterns.structure_builder import (MethodFacts, alias_value, finish_summary, new_class, new_field,
                                                   normalize_type)
from schemas.structure import StructureSummary

__all__ = ["summarize"]

_ABSTRACT_BASES = frozenset({"ABC", "ABCMeta", "Protocol", "Interface"})
_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})


def _method(node: ast.FunctionDef | ast.AsyncFunctionDef, own: str | None, known: set[str],
            metaclass: bool = False, in_class: bool = True, module_globals: set[str] | None = None) -> dict[str, Any]:
    decos = {last_name(d) for d in node.decorator_list}
    is_static = "staticmethod" in decos
    is_cls = "classmethod" in decos or node.name in ("__new__", "__init_subclass__", "__class_getitem__")
    args = [*node.args.posonlyargs, *node.args.args]
    self_name = cls_name = None
    if in_class and args and not is_static:
        if is_cls or metaclass:
            cls_name = args[0].arg
            if metaclass and not is_cls:
                self_name = None
        else:
            self_name = args[0].arg
        args = args[1:]
    empty, raises_ni = trivial_body(node.body)
    name = node.name
    visibility = "private" if name.startswith("_") and not (name.startswith("__") and name.endswith("__")) else "public"
    facts = MethodFacts(name, node.lineno, node.end_lineno or node.lineno,
                        static=is_static or (is_cls and in_class), abstract=("abstractmethod" in decos) or raises_ni,
                        ctor=name == "__init__", visibility=visibility)
    facts.d["empty"] = empty
    all_args = [*args, *node.args.kwonlyargs]
    if node.args.vararg:
        all_args.append(node.args.vararg)
    if node.args.kwarg:
        all_args.append(node.args.kwarg)
    for a in all_args:
        facts.param(a.arg, annotation_text(a.annotation))
    facts.d["returns"] = normalize_type(annotation_text(node.returns))[0] if node.returns is not None else None
    facts.d["decorators"] = sorted(decos - {""})
    if isinstance(node, ast.AsyncFunctionDef):
        facts.d["is_async"] = True
    body = BodyWalker(facts, own, self_name, cls_name, {a.arg for a in all_args}, known, metaclass, module_globals)
    try:
        body.block(node.body, 0, 0)
    except RecursionError:  # pragma: no cover - bounded by the walker's MAX_DEPTH
        pass
    facts.d.pop("alt_returns", None)
    return facts.d


def _class(node: ast.ClassDef, qualname: str, known: set[str], module_globals: set[str] | None = None) -> dict[str, Any]:
    bases = [b for b in (base_name(x) for x in node.bases) if b]
    meta = next((base_name(k.value) for k in node.keywords if k.arg == "metaclass"), None)
    kind = "class"
    if any(b in _ENUM_BASES for b in bases):
        kind = "enum"
    elif "Protocol" in bases:
        kind = "protocol"
    c = new_class(node.name, qualname, kind, min([node.lineno] + [d.lineno for d in node.decorator_list]),
                  node.end_lineno or node.lineno)
    c["bases"] = [b for b in bases if b not in ("object", "Generic", "ABC", "Protocol")]
    if meta and meta not in ("ABCMeta", "type"):
        c["metaclass"] = meta
    c["decorators"] = [n for n in (last_name(d) for d in node.decorator_list) if n]
    is_meta = "type" in bases
    if is_meta:
        c["is_metaclass"] = True
    fields: dict[str, dict[str, Any]] = {}
    methods: list[dict[str, Any]] = []
    dataclass = any(d in ("dataclass", "define", "attrs", "frozen") for d in c["decorators"])

    def add_field(name: str, ann: str | None, static: bool, line: int, init: str | None = None) -> None:
        if name not in fields:
            fields[name] = new_field(name, ann, static=static, line=line, init=init,
                                     visibility="private" if name.startswith("_") else "public")
            if ann:
                fields[name]["type_src"] = "decl"
        elif ann and not fields[name]["type"]:
            t, e, coll = normalize_type(ann)
            fields[name].update(type=t, elem=e, coll=coll, type_src="decl")

    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods.append(_method(item, node.name, known, metaclass=is_meta, module_globals=module_globals))
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            ann = annotation_text(item.annotation)
            static = bool(ann and "ClassVar" in ann) or (item.value is not None and not dataclass and kind != "protocol")
            add_field(item.target.id, ann, static, item.lineno, _literal_kind(item.value))
        elif isinstance(item, ast.Assign):
            for t in item.targets:
                if isinstance(t, ast.Name):
                    if kind == "enum":
                        c["enum_constants"].append(t.id)
                    else:
                        add_field(t.id, None, True, item.lineno, _literal_kind(item.value))
                        _infer_from_value(fields[t.id], item.value, known)
    # properties returning one field are that field (self.builder → self._builder)
    aliases: dict[str, str] = {}
    for m in methods:
        if "property" in m.get("decorators", []) and len(m["rets"]) == 1 and m["rets"][0].startswith("f:"):
            target = m["rets"][0][2:]
            if target != m["name"]:
                aliases[m["name"]] = target
    if aliases:
        for m in methods:
            if "property" in m.get("decorators", []) and m["name"] in aliases:
                continue
            m["calls"] = [[alias_value(c[0], aliases), c[1], c[2], [alias_value(a, aliases) for a in c[3]]] for c in m["calls"]]
            m["writes"] = [[alias_value(w[0], aliases), alias_value(w[1], aliases), w[2]] for w in m["writes"]]
            m["rets"] = [alias_value(r, aliases) for r in m["rets"]]
            m["loops"] = [aliases.get(x, x) for x in m["loops"]]
        c["property_fields"] = aliases
    for m in methods:  # self.x: T = … inside methods
        for attr, ann in (m.pop("field_annotations", None) or {}).items():
            add_field(attr, ann, False, m["line"])
    # instance fields from writes
    for m in methods:
        params = {p[0]: p for p in m["params"]}
        for target, value, flags in m["writes"]:
            if not target.startswith("f:"):
                continue
            name = target[2:]
            if name not in fields:
                add_field(name, None, m["static"] and not m["ctor"], m["line"])
            f = fields[name]
            if f["static"] and not m["static"] and "m" not in flags and "a" not in flags:
                f["static"] = False  # a class-level default that instances overwrite
            if m["ctor"] and f["init"] is None and "a" not in flags and "m" not in flags:
                f["init"] = value
            if "a" in flags:
                f["coll"] = f["coll"] or "list"
                if value.startswith("p:") and value[2:] in params and not f["elem"]:
                    f["elem"] = params[value[2:]][1]
                elif value.startswith("n:") and not f["elem"]:
                    f["elem"] = value[2:]
                continue
            if "m" in flags:
                f["coll"] = f["coll"] or "map"
                if value.startswith("n:") and not f["elem"]:
                    f["elem"] = value[2:]
                continue
            if f["type"] is None and f["coll"] is None:
                if value.startswith("p:") and value[2:] in params:
                    p = params[value[2:]]
                    if p[1]:
                        t, e, coll = p[1], p[2], None
                        if p[2]:
                            t, e, coll = normalize_type(p[1])
                            e = e or p[2]
                        f.update(type=t, elem=e, coll=coll)
                elif value.startswith("n:") and value != "n:*":
                    f["type"] = value[2:]
                    f["type_src"] = "infer"
                elif value == "[]":
                    f["coll"] = "list"
                elif value == "{}":
                    f["coll"] = "map"
    # self.f(...) where f is a field, not a method: calling the object stored in the field
    method_names = {m["name"] for m in methods}
    callable_fields = {n for n in fields if n not in method_names}
    if callable_fields:
        for m in methods:
            if any(cl[0] == "self" and cl[1] in callable_fields for cl in m["calls"]):
                m["calls"] = [["f:" + cl[1], "__call__", cl[2], cl[3]] if cl[0] == "self" and cl[1] in callable_fields else cl
                              for cl in m["calls"]]
    c["fields"] = list(fields.values())
    c["methods"] = methods
    abstract_methods = any(m["abstract"] for m in methods)
    c["abstract"] = kind == "protocol" or abstract_methods or any(b in _ABSTRACT_BASES for b in bases) or meta == "ABCMeta"
    if kind == "protocol":
        for m in methods:
            m["abstract"] = True
    return c


def _literal_kind(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        return "0"
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return "[]"
    if isinstance(node, ast.Dict):
        return "{}"
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        return "n:" + name
    return "x"


def _infer_from_value(field: dict[str, Any], value: ast.AST, known: set[str]) -> None:
    kind = _literal_kind(value)
    if kind == "[]":
        field["coll"] = "list"
    elif kind == "{}":
        field["coll"] = "map"
    elif kind and kind.startswith("n:"):
        name = kind[2:]
        t, e, coll = normalize_type(name)
        if coll:
            field["coll"] = coll
        elif name in ("dict", "defaultdict", "OrderedDict", "WeakValueDictionary", "WeakKeyDictionary"):
            field["coll"] = "map"
        elif name in ("list", "set", "deque", "WeakSet"):
            field["coll"] = "list"
        elif name in known or name[:1].isupper():
            field["type"] = name


def summarize(tree: ast.Module, *, uri: str | None = None, doc_id: str | None = None,
              max_classes: int = 2000) -> StructureSummary:
    """Structural summary of a parsed module (classes at any nesting level, top-level functions, globals)."""
    classes: list[tuple[ast.ClassDef, str]] = []

    def collect(body: list[ast.stmt], prefix: str, depth: int) -> None:
        if depth > 20:
            return
        for node in body:
            if len(classes) >= max_classes:
                return
            if isinstance(node, ast.ClassDef):
                classes.append((node, prefix + node.name))
                collect(node.body, prefix + node.name + ".", depth + 1)
            elif isinstance(node, (ast.If, ast.Try, ast.With)) or (hasattr(ast, "TryStar") and isinstance(node, ast.TryStar)):
                for fld in ("body", "orelse", "finalbody"):
                    collect(getattr(node, fld, []) or [], prefix, depth + 1)
                for h in getattr(node, "handlers", []) or []:
                    collect(h.body, prefix, depth + 1)

    collect(tree.body, "", 0)
    known = {c.name for c, _ in classes}
    module_globals: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            module_globals.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            module_globals.add(node.target.id)
    module_globals -= known
    out_classes = [_class(c, q, known, module_globals) for c, q in classes]
    functions = []
    globals_: list[dict[str, Any]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(_method(node, None, known, in_class=False, module_globals=module_globals))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            ann = annotation_text(node.annotation) if isinstance(node, ast.AnnAssign) else None
            for t in targets:
                if isinstance(t, ast.Name):
                    g = new_field(t.id, ann, static=True, line=node.lineno, init=_literal_kind(node.value))
                    if node.value is not None:
                        _infer_from_value(g, node.value, known)
                    globals_.append(g)
    return finish_summary(uri=uri, doc_id=doc_id, language="python", classes=out_classes, functions=functions,
                          globals_=globals_[:500])
