"""Python ``ast`` → structural summary (see :mod:`.structure` for the shape and the value encoding).

Fields are what a class assigns (``self.x = …``, ``cls.x = …``, class-level assignments) with their
type from annotations, from the annotated constructor parameter they come from, or from the class
they are created from (``self.x = X()``). Methods record what they create, call, write and return.

>>> import ast
>>> src = "class A:\\n    def __init__(self, b: 'B'):\\n        self.b = b\\n    def run(self):\\n        return self.b.go()\\n"
>>> s = summarize(ast.parse(src), uri="a.py")
>>> s["classes"][0]["fields"][0]["name"], s["classes"][0]["fields"][0]["type"]
('b', 'B')
>>> s["classes"][0]["methods"][1]["calls"]
[['f:b', 'go', '', []]]
"""

from __future__ import annotations

import ast
from typing import Any

from processors.patterns._common import decorator_name
from processors.patterns.structure import SUMMARY_VERSION, MethodFacts, new_class, new_field, normalize_type

__all__ = ["summarize"]

_ABSTRACT_BASES = frozenset({"ABC", "ABCMeta", "Protocol", "Interface"})
_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})
_ADD_METHODS = frozenset({"append", "add", "appendleft", "insert", "extend", "push", "put_nowait", "update"})
_KEYED_METHODS = frozenset({"setdefault", "__setitem__", "put"})
_REMOVE_METHODS = frozenset({"remove", "discard", "pop", "popitem", "clear"})
_ITER_WRAPPERS = frozenset({"list", "tuple", "iter", "reversed", "sorted", "enumerate", "set", "frozenset"})
_ITER_METHODS = frozenset({"values", "items", "keys", "copy", "__iter__"})
_COPY_FUNCS = frozenset({"copy", "deepcopy"})
_MAX_DEPTH = 120


def _unparse(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value  # "ForwardRef"
    try:
        return ast.unparse(node)
    except Exception:
        return None



def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _is_trivial_body(body: list[ast.stmt]) -> tuple[bool, bool]:
    """``(empty, raises_not_implemented)``: only docstring / pass / ... / raise NotImplementedError."""
    stmts = list(body)
    if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant):
        stmts = stmts[1:]
    if not stmts:
        return True, False
    if len(stmts) > 1:
        return False, False
    s = stmts[0]
    if isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
        return True, False
    if isinstance(s, ast.Raise) and s.exc is not None:
        exc = s.exc.func if isinstance(s.exc, ast.Call) else s.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return True, True
    if isinstance(s, ast.Return) and (s.value is None or (isinstance(s.value, ast.Constant) and s.value.value is None)):
        return True, False
    return False, False


class _Body:
    """Walks one function body and fills a :class:`MethodFacts`."""

    def __init__(self, facts: MethodFacts, own: str | None, self_name: str | None, cls_name: str | None,
                 params: set[str], known: set[str], metaclass: bool, module_globals: set[str] | None = None) -> None:
        self.f = facts
        self.module_globals = module_globals or set()
        self.own = own
        self.self_name = self_name
        self.cls_name = cls_name  # first parameter of a classmethod / __new__
        self.params = params
        self.known = known
        self.metaclass = metaclass
        self.env: dict[str, str] = {}
        self.globals: set[str] = set()

    # ------------------------------------------------------------------ expressions
    def _name(self, name: str) -> str:
        if name == self.self_name:
            return "self"
        if name == self.cls_name:
            return "t:" + (self.own or "?")
        if name in self.globals:
            return "g:" + name
        if name in self.env:
            return self.env[name]
        if name in self.params:
            return "p:" + name
        if name == self.own:
            return "t:" + name
        if name in self.known or (name[:1].isupper() and not name.isupper()):
            return "t:" + name
        if name in ("None", "True", "False"):
            return "0"
        if name in self.module_globals:
            return "g:" + name
        return "l:" + name

    def _is_creation(self, name: str) -> bool:
        return name in self.known or (name[:1].isupper() and not name.isupper() and name not in self.env
                                      and name not in self.params)

    def value(self, node: ast.AST | None, cond: int, loop: int, depth: int = 0, stmt: bool = False,
              in_raise: bool = False) -> str:
        if node is None or depth > _MAX_DEPTH:
            return "x"
        d = depth + 1
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Constant):
            return "0"
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for e in node.elts:
                self.value(e, cond, loop, d)
            return "[]"
        if isinstance(node, ast.Dict):
            vals = [self.value(e, cond, loop, d) for e in node.values]
            refs = [v[2:] for v in vals if v.startswith("t:") and v[2:] in self.known]
            if len(refs) >= 2 and len(refs) == len(vals):
                return "cls:" + "|".join(refs)  # a registry of classes: {"a": A, "b": B}
            return "{}"
        if isinstance(node, ast.Attribute):
            base = self.value(node.value, cond, loop, d)
            if base == "self" or base == "t:" + (self.own or "\0"):
                return "f:" + node.attr
            if base.startswith("p:"):
                return "pa:" + base[2:]
            if base.startswith("f:"):
                return "fa:" + base[2:]
            if base.startswith("t:") and base[2:] in self.known:
                return f"s:{base[2:]}.{node.attr}"  # a static field of another class (Holder.INSTANCE)
            return "x"
        if isinstance(node, ast.Subscript):
            base = self.value(node.value, cond, loop, d)
            self.value(node.slice, cond, loop, d)
            if base.startswith("f:"):
                return "k:" + base[2:]
            if base.startswith("cls:"):
                return base
            return "x"
        if isinstance(node, ast.Call):
            return self._call(node, cond, loop, d, stmt, in_raise)
        if isinstance(node, ast.Await):
            return self.value(node.value, cond, loop, d, stmt)
        if isinstance(node, ast.IfExp):
            self.value(node.test, cond + 1, loop, d)
            a = self.value(node.body, cond + 1, loop, d)
            b = self.value(node.orelse, cond + 1, loop, d)
            return a if a not in ("x", "0") else b
        if isinstance(node, ast.BoolOp):
            vals = [self.value(v, cond + (i > 0), loop, d) for i, v in enumerate(node.values)]
            return next((v for v in reversed(vals) if v not in ("x", "0")), "x")
        if isinstance(node, ast.NamedExpr):
            v = self.value(node.value, cond, loop, d)
            self.env[node.target.id] = v
            return v
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            self.f.d["yields"] = True
            self.value(node.value, cond, loop, d)
            return "x"
        if isinstance(node, ast.Lambda):
            self.value(node.body, cond, loop, d)
            return "fn"
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            saved = dict(self.env)
            for gen in node.generators:
                self._bind_loop(gen.target, gen.iter, cond, loop, d)
                for test in gen.ifs:
                    self.value(test, cond + 1, loop + 1, d)
            if isinstance(node, ast.DictComp):
                self.value(node.key, cond, loop + 1, d)
                self.value(node.value, cond, loop + 1, d)
            else:
                self.value(node.elt, cond, loop + 1, d)
            self.env = saved
            return "[]" if not isinstance(node, ast.DictComp) else "{}"
        if isinstance(node, ast.Starred):
            return self.value(node.value, cond, loop, d)
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                if isinstance(v, ast.FormattedValue):
                    self.value(v.value, cond, loop, d)
            return "0"
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.value(child, cond, loop, d)
        return "x"

    def _flags(self, cond: int, loop: int, stmt: bool = False) -> str:
        return ("c" if cond else "") + ("l" if loop else "") + ("v" if stmt else "")

    def _call(self, node: ast.Call, cond: int, loop: int, d: int, stmt: bool, in_raise: bool) -> str:
        func = node.func
        args = [self.value(a, cond, loop, d) for a in node.args]
        args += [self.value(k.value, cond, loop, d) for k in node.keywords]
        flags = self._flags(cond, loop, stmt) + ("s" if "self" in args else "")
        if isinstance(func, ast.Name):
            name = func.id
            if name == self.cls_name and self.own:
                if not in_raise:
                    self.f.create(self.own, args)
                return "n:" + self.own
            if name in self.params or name in self.env:
                recv = self._name(name)
                self.f.call(recv, "__call__", flags, args)
                return "x"
            if name in _COPY_FUNCS and args and args[0] == "self":
                return "c"
            if name == "getattr" and args and args[0] == "self":
                self.f.call("self", "getattr", flags, args)
                return "x"
            if name in _ITER_WRAPPERS and args and args[0].startswith("f:"):
                return args[0]
            if self._is_creation(name):
                if not in_raise:
                    self.f.create(name, args)
                return "n:" + name
            self.f.call("g:" + name, "__call__", flags, args)
            return "x"
        if isinstance(func, ast.Subscript) or (isinstance(func, ast.Name) and self.env.get(func.id, "").startswith("cls:")):
            reg = self.value(func, cond, loop, d)
            if reg.startswith("cls:"):  # registry[key](...): creates one of the registered classes
                kinds = reg[4:].split("|")
                for k in kinds:
                    if not in_raise:
                        self.f.create(k, args)
                self.f.d.setdefault("alt_returns", []).extend("n:" + k for k in kinds)
                return "n:" + kinds[0]
            return "x"
        if isinstance(func, ast.Call):  # type(self)(...)
            inner = func.func
            if isinstance(inner, ast.Name) and inner.id == "type" and func.args:
                if self.value(func.args[0], cond, loop, d) == "self" and self.own:
                    self.f.create(self.own, args)
                    return "c"
            self.value(func, cond, loop, d)
            return "x"
        if isinstance(func, ast.Attribute):
            method = func.attr
            if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
                recv = "super"
                if method == "__new__" and self.own:
                    self.f.create(self.own, args)
                    self.f.call("super", method, flags, args)
                    return "n:" + self.own
                if method == "__call__" and self.metaclass:
                    self.f.call("super", method, flags, args)
                    return "n:*"
            else:
                if method == "__class__" and self.own and self.value(func.value, cond, loop, d) == "self":
                    self.f.create(self.own, args)  # self.__class__(...): a new instance of the runtime class
                    return "c"
                recv = self.value(func.value, cond, loop, d)
                if recv in ("t:object", "l:object") and method == "__new__" and self.own:
                    self.f.create(self.own, args)
                    return "n:" + self.own
                if recv == "t:copy" or recv == "l:copy":
                    if method in _COPY_FUNCS and args and args[0] == "self":
                        return "c"
            if recv.startswith("f:"):
                if method in _ADD_METHODS and args:
                    self.f.write(recv, args[0], self._flags(cond, loop) + "a")
                elif method in _KEYED_METHODS and len(args) >= 2:
                    self.f.write(recv, args[1], self._flags(cond, loop) + "m")
            elif recv.startswith("k:") and method in _ADD_METHODS and args:  # self._subs[topic].append(cb)
                self.f.write("f:" + recv[2:], args[0], self._flags(cond, loop) + "a")
            if recv.startswith("fa:") or recv.startswith("x"):
                pass
            self.f.call(recv, method, flags, args)
            if recv.startswith("f:"):
                return ("k:" + recv[2:]) if method in ("get", "setdefault", "pop") and args else "r:" + recv
            if recv == "self":
                return "r:self:" + method
            if recv.startswith("g:"):
                return "r:" + recv
            return "x"
        self.value(func, cond, loop, d)
        return "x"

    # ------------------------------------------------------------------ statements
    def _target(self, t: ast.expr, v: str, cond: int, loop: int, d: int) -> None:
        flags = self._flags(cond, loop)
        if isinstance(t, ast.Name):
            if t.id in self.globals:
                self.f.write("g:" + t.id, v, flags)
                return
            self.env[t.id] = v
        elif isinstance(t, ast.Attribute):
            base = self.value(t.value, cond, loop, d)
            if base == "self" or base == "t:" + (self.own or "\0"):
                self.f.write("f:" + t.attr, v, flags)
            elif base.startswith("p:"):
                self.f.write("pa:" + base[2:], v, flags)
                self.f.call(base, "=" + t.attr, flags, [v])
            elif base.startswith("f:"):
                self.f.write("fa:" + base[2:], v, flags)
                self.f.call(base, "=" + t.attr, flags, [v])
            elif base.startswith("e:"):
                self.f.call(base, "=" + t.attr, flags, [v])
        elif isinstance(t, ast.Subscript):
            base = self.value(t.value, cond, loop, d)
            self.value(t.slice, cond, loop, d)
            if base.startswith("f:"):
                self.f.write(base, v, flags + "m")
            elif base.startswith("g:"):
                self.f.write(base, v, flags + "m")
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self._target(e, "x", cond, loop, d)
        elif isinstance(t, ast.Starred):
            self._target(t.value, "x", cond, loop, d)

    def _bind_loop(self, target: ast.expr, it: ast.expr, cond: int, loop: int, d: int) -> None:
        src = self.value(it, cond, loop, d)
        field = None
        if src.startswith("f:"):
            field = src[2:]
        elif src.startswith("r:f:"):
            field = src[4:]
        elif src.startswith("k:"):
            field = src[2:]
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in _ITER_METHODS:
            inner = self.value(it.func.value, cond, loop, d)
            if inner.startswith("f:"):
                field = inner[2:]
        if field:
            self.f.loop(field)
        names: list[str] = []
        if isinstance(target, ast.Name):
            names = [target.id]
        elif isinstance(target, (ast.Tuple, ast.List)):
            names = [e.id for e in target.elts if isinstance(e, ast.Name)]
        for i, n in enumerate(names):
            # for k, v in self.x.items(): the last name is the element
            self.env[n] = ("e:" + field) if field and i == len(names) - 1 else "l:" + n

    def block(self, body: list[ast.stmt], cond: int, loop: int, depth: int = 0) -> None:
        for s in body:
            self.stmt(s, cond, loop, depth)

    def stmt(self, s: ast.stmt, cond: int, loop: int, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        d = depth + 1
        if isinstance(s, ast.Expr):
            self.value(s.value, cond, loop, d, stmt=True)
        elif isinstance(s, ast.Assign):
            v = self.value(s.value, cond, loop, d)
            for t in s.targets:
                self._target(t, v, cond, loop, d)
        elif isinstance(s, ast.AnnAssign):
            v = self.value(s.value, cond, loop, d) if s.value is not None else None
            if v is not None:
                self._target(s.target, v, cond, loop, d)
            t = s.target
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == self.self_name:
                ann = _unparse(s.annotation)
                if ann:
                    self.f.d.setdefault("field_annotations", {})[t.attr] = ann
        elif isinstance(s, ast.AugAssign):
            v = self.value(s.value, cond, loop, d)
            if isinstance(s.target, ast.Attribute):
                self._target(s.target, "x" if v != "[]" else v, cond, loop, d)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                before = len(self.f.d.get("alt_returns", []))
                self.f.ret(self.value(s.value, cond, loop, d))
                for alt in self.f.d.get("alt_returns", [])[before:]:
                    self.f.ret(alt)
        elif isinstance(s, ast.If):
            self.value(s.test, cond + 1, loop, d)
            self.block(s.body, cond + 1, loop, d)
            self.block(s.orelse, cond + 1, loop, d)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self._bind_loop(s.target, s.iter, cond, loop, d)
            self.block(s.body, cond, loop + 1, d)
            self.block(s.orelse, cond, loop, d)
        elif isinstance(s, ast.While):
            self.value(s.test, cond + 1, loop + 1, d)
            self.block(s.body, cond, loop + 1, d)
            self.block(s.orelse, cond, loop, d)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                v = self.value(item.context_expr, cond, loop, d)
                if item.optional_vars is not None:
                    self._target(item.optional_vars, v, cond, loop, d)
            self.block(s.body, cond, loop, d)
        elif isinstance(s, ast.Try) or (hasattr(ast, "TryStar") and isinstance(s, ast.TryStar)):
            self.block(s.body, cond, loop, d)
            for h in s.handlers:
                self.block(h.body, cond + 1, loop, d)
            self.block(s.orelse, cond, loop, d)
            self.block(s.finalbody, cond, loop, d)
        elif isinstance(s, ast.Raise):
            if s.exc is not None:
                self.value(s.exc, cond, loop, d, in_raise=True)
        elif isinstance(s, ast.Global):
            self.globals.update(s.names)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            saved = set(self.params)
            self.params |= {a.arg for a in (*s.args.posonlyargs, *s.args.args, *s.args.kwonlyargs)}
            self.block(s.body, cond, loop, d)
            self.params = saved
        elif isinstance(s, ast.Match):
            self.value(s.subject, cond, loop, d)
            for case in s.cases:
                self.block(case.body, cond + 1, loop, d)
        elif isinstance(s, ast.Delete):
            for t in s.targets:
                if isinstance(t, ast.Subscript):
                    base = self.value(t.value, cond, loop, d)
                    if base.startswith("f:"):
                        self.f.call(base, "__delitem__", self._flags(cond, loop))


def _method(node: ast.FunctionDef | ast.AsyncFunctionDef, own: str | None, known: set[str],
            metaclass: bool = False, in_class: bool = True, module_globals: set[str] | None = None) -> dict[str, Any]:
    decos = {decorator_name(d) for d in node.decorator_list}
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
    empty, raises_ni = _is_trivial_body(node.body)
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
        facts.param(a.arg, _unparse(a.annotation))
    facts.d["returns"] = normalize_type(_unparse(node.returns))[0] if node.returns is not None else None
    facts.d["decorators"] = sorted(decos - {""})
    if isinstance(node, ast.AsyncFunctionDef):
        facts.d["async"] = True
    body = _Body(facts, own, self_name, cls_name, {a.arg for a in all_args}, known, metaclass, module_globals)
    try:
        body.block(node.body, 0, 0)
    except RecursionError:  # pragma: no cover - bounded by _MAX_DEPTH
        pass
    facts.d.pop("alt_returns", None)
    return facts.d


def _class(node: ast.ClassDef, qualname: str, known: set[str], module_globals: set[str] | None = None) -> dict[str, Any]:
    bases = [b for b in (_base_name(x) for x in node.bases) if b]
    meta = next((_base_name(k.value) for k in node.keywords if k.arg == "metaclass"), None)
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
    c["decorators"] = [n for n in (decorator_name(d) for d in node.decorator_list) if n]
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
            ann = _unparse(item.annotation)
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
            m["calls"] = [[_alias(c[0], aliases), c[1], c[2], [_alias(a, aliases) for a in c[3]]] for c in m["calls"]]
            m["writes"] = [[_alias(w[0], aliases), _alias(w[1], aliases), w[2]] for w in m["writes"]]
            m["rets"] = [_alias(r, aliases) for r in m["rets"]]
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


def _alias(value: str, aliases: dict[str, str]) -> str:
    """Rewrite a value naming a property (``f:builder``) to the field behind it (``f:_builder``)."""
    for prefix in ("f:", "e:", "k:", "r:f:", "fa:"):
        if value.startswith(prefix):
            name = value[len(prefix):]
            if name in aliases:
                return prefix + aliases[name]
            return value
    return value


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
              max_classes: int = 2000) -> dict[str, Any]:
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
            ann = _unparse(node.annotation) if isinstance(node, ast.AnnAssign) else None
            for t in targets:
                if isinstance(t, ast.Name):
                    g = new_field(t.id, ann, static=True, line=node.lineno, init=_literal_kind(node.value))
                    if node.value is not None:
                        _infer_from_value(g, node.value, known)
                    globals_.append(g)
    return {"version": SUMMARY_VERSION, "uri": uri, "doc_id": doc_id, "language": "python",
            "classes": out_classes, "functions": functions, "globals": globals_[:500]}
