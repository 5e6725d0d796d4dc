"""One Python function body → :class:`~processors.patterns.structure_builder.MethodFacts` (``ast``).

:class:`BodyWalker` records what a body creates, calls, writes, returns and iterates, in the value
encoding of :mod:`schemas.structure` (``f:x`` own field, ``p:x`` parameter, ``n:T`` new object, …).
:mod:`.summary` runs one walker per function and method.
"""

from __future__ import annotations

import ast

from processors.patterns.python.syntax import annotation_text
from processors.patterns.structure_builder import MethodFacts

__all__ = ["MAX_DEPTH", "BodyWalker"]

_ADD_METHODS = frozenset({"append", "add", "appendleft", "insert", "extend", "push", "put_nowait", "update"})
_KEYED_METHODS = frozenset({"setdefault", "__setitem__", "put"})
_ITER_WRAPPERS = frozenset({"list", "tuple", "iter", "reversed", "sorted", "enumerate", "set", "frozenset"})
_ITER_METHODS = frozenset({"values", "items", "keys", "copy", "__iter__"})
_COPY_FUNCS = frozenset({"copy", "deepcopy"})
MAX_DEPTH = 120


class BodyWalker:
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
        if node is None or depth > MAX_DEPTH:
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
        if depth > MAX_DEPTH:
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
                ann = annotation_text(s.annotation)
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
