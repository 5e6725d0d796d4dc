"""Expressions in a tree-sitter function body → value codes, calls and creations (:class:`ValueAnalysis`).

Values use the encoding of :mod:`schemas.structure` (``f:x`` own field, ``p:x``
parameter, ``n:T`` new object, …). Bare identifiers that name a field of the class resolve to the
field where the language allows an implicit ``this`` (Java, C++); elsewhere fields need
``this.``/``self.``/the receiver. :class:`~.body.BodyAnalyzer` adds the statements.
"""

from __future__ import annotations

from typing import Any

from processors.patterns.structure_builder import MethodFacts, simple_name
from processors.patterns.treesitter import node_types as nt

__all__ = ["MAX_DEPTH", "MAX_NODES", "ValueAnalysis"]

MAX_DEPTH = 150
MAX_NODES = 20_000


class ValueAnalysis:
    """What the expressions of one body do; statements are :class:`~.body.BodyAnalyzer`'s."""

    def __init__(self, src: bytes, lang: str, *, own: str | None, fields: set[str], own_methods: set[str],
                 bases: list[str], receiver: str | None = None, globals_: set[str] | None = None,
                 known: set[str] | None = None) -> None:
        self.src = src
        self.lang = lang
        self.own = own
        self.fields = fields
        self.own_methods = own_methods
        self.bases = set(bases)
        self.receiver = receiver
        self.globals = globals_ or set()
        self.known = known or set()
        self.implicit_this = lang in ("java", "cpp", "csharp")
        self.f: MethodFacts | None = None
        self.params: set[str] = set()
        self.env: dict[str, str] = {}
        self.nodes = 0
        self.static_locals: list[tuple[str, str]] = []  # C++ `static T inst;` in a method

    # ------------------------------------------------------------------ helpers
    def text(self, node: Any) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    fld = staticmethod(nt.field_child)

    def type_name(self, node: Any | None) -> str | None:
        if node is None:
            return None
        return simple_name(self.text(node)) if node.end_byte - node.start_byte < 300 else None

    def flags(self, cond: int, loop: int, stmt: bool = False) -> str:
        return ("c" if cond else "") + ("l" if loop else "") + ("v" if stmt else "")

    # ------------------------------------------------------------------ values
    def ident(self, name: str) -> str:
        if name in self.env:
            return self.env[name]
        if name == self.receiver or name in ("this", "self"):
            return "self"
        if name in self.params:
            return "p:" + name
        if self.implicit_this and name in self.fields:
            return "f:" + name
        if name == self.own or name == "Self":
            return "t:" + (self.own or name)
        if name in self.globals:
            return "g:" + name
        if name[:1].isupper():
            return "t:" + name
        return "l:" + name

    def val(self, node: Any | None, cond: int, loop: int, depth: int, stmt: bool = False, throw: bool = False) -> str:
        if node is None or depth > MAX_DEPTH:
            return "x"
        self.nodes += 1
        if self.nodes > MAX_NODES:
            return "x"
        t = node.type
        d = depth + 1
        if t in nt.SELF:
            return "self"
        if t == "super":
            return "super"
        if t in ("identifier", "field_identifier", "property_identifier", "shorthand_property_identifier"):
            return self.ident(self.text(node))
        if t in ("type_identifier", "scoped_type_identifier", "namespace_identifier"):
            name = simple_name(self.text(node)) or "?"
            return "t:" + name
        if t in nt.LITERALS or t.endswith("_literal") and t not in ("composite_literal", "func_literal"):
            if t == "composite_literal":
                pass
            else:
                return "0"
        if t in nt.MEMBER:
            return self._member(node, cond, loop, d)
        if t in nt.CALL:
            return self._call(node, cond, loop, d, stmt, throw)
        if t in nt.NEW:
            return self._new(node, cond, loop, d, throw)
        if t in nt.ARRAYS:
            for c in node.named_children:
                self.val(c, cond, loop, d)
            return "[]"
        if t == "object":
            for c in node.named_children:
                self.val(c, cond, loop, d)
            return "{}"
        if t in nt.SUBSCRIPT:
            base_node = self.fld(node, "object", "operand", "array", "argument") or (node.named_children[0] if node.named_child_count else None)
            base = self.val(base_node, cond, loop, d)
            for c in node.named_children[1:]:
                self.val(c, cond, loop, d)
            if base.startswith("f:"):
                return ("e:" if loop else "k:") + base[2:]
            return "x"
        if t in nt.PASS:
            if t == "unary_expression" and self.lang not in ("go",):
                op = node.child_by_field_name("operator")
                inner = node.child_by_field_name("argument") or node.child_by_field_name("operand")
                self.val(inner, cond, loop, d)
                return "x" if op is not None and self.text(op) in ("!", "-", "~", "+", "not") else "x"
            inner = self.fld(node, "value", "argument", "operand", "expression")
            if inner is None:
                named = [c for c in node.named_children if not c.type.endswith("type") and c.type != "type_arguments"]
                inner = named[-1] if named else None
            return self.val(inner, cond, loop, d, stmt, throw)
        if t in nt.COND:
            for c in node.named_children:
                self.stmt(c, cond + 1, loop, d)
            return "x"
        if t in nt.LAMBDA:
            self._lambda(node, cond, loop, d, None)
            return "fn"
        if t in nt.YIELD:
            self.f.d["yields"] = True
            for c in node.named_children:
                self.val(c, cond, loop, d)
            return "x"
        if t == "assignment_expression" or t == "assignment_statement":
            return self._assign(node, cond, loop, d)  # a = b = new X(): the value flows through
        if t == "macro_invocation":
            return "x"
        if t == "template_function" or t == "generic_function":
            return "x"
        for c in node.named_children:
            self.stmt(c, cond, loop, d)
        return "x"

    def _member(self, node: Any, cond: int, loop: int, d: int) -> str:
        obj = self.fld(node, "object", "operand", "value", "argument")
        prop = self.fld(node, "property", "field", "name")
        base = self.val(obj, cond, loop, d)
        name = self.text(prop).lstrip("#") if prop is not None else "?"
        if base == "self" or (self.own and base == "t:" + self.own):
            return "f:" + name
        if base.startswith("p:"):
            return "pa:" + base[2:]
        if base.startswith("f:"):
            return "fa:" + base[2:]
        if base.startswith("t:") and name[:1].isalpha():
            return f"s:{base[2:]}.{name}"  # a static field of another class (Holder.INSTANCE)
        return "x"

    def _args(self, node: Any | None, cond: int, loop: int, d: int) -> list[str]:
        if node is None:
            return []
        out = []
        for c in node.named_children:
            if c.type.endswith("comment"):
                continue
            out.append(self.val(c, cond, loop, d))
        return out

    def _new(self, node: Any, cond: int, loop: int, d: int, throw: bool) -> str:
        t = node.type
        tnode = self.fld(node, "type", "constructor", "name")
        name = self.type_name(tnode)
        if t == "struct_expression" and name == "Self":
            name = self.own
        args_node = self.fld(node, "arguments", "body")
        if t in ("struct_expression", "composite_literal") and args_node is not None:
            args = self._field_inits(name, args_node, cond, loop, d)
        else:
            args = self._args(args_node, cond, loop, d) if args_node is not None else []
        if not name:
            return "x"
        if t == "composite_literal" and tnode is not None and tnode.type in ("slice_type", "array_type", "map_type"):
            return "{}" if tnode.type == "map_type" else "[]"
        if not throw:
            self.f.create(name, args)
        return "n:" + name

    def _field_inits(self, type_name: str | None, body: Any, cond: int, loop: int, d: int) -> list[str]:
        """Values of a struct literal (``T { a: x, b }`` / ``&T{a: x}``); named ones are recorded as
        ``i:T.field`` writes (constructor injection without a constructor)."""
        out: list[str] = []
        fl = self.flags(cond, loop)
        for c in body.named_children:
            ct = c.type
            if ct == "shorthand_field_initializer":
                name = self.text(c)
                v = self.ident(name)
            elif ct in ("field_initializer", "keyed_element"):
                k = self.fld(c, "field", "name", "key")
                val = self.fld(c, "value")
                if k is None or val is None:
                    kids = c.named_children
                    if len(kids) != 2:
                        continue
                    k, val = kids
                name = self.text(k).strip()
                if val.type == "literal_element" and val.named_child_count:
                    val = val.named_children[0]
                v = self.val(val, cond, loop, d)
            else:
                node = c.named_children[0] if c.type == "literal_element" and c.named_child_count else c
                out.append(self.val(node, cond, loop, d))
                continue
            out.append(v)
            if type_name and name.isidentifier():
                self.f.write(f"i:{type_name}.{name}", v, fl)
        return out

    def _lambda(self, node: Any, cond: int, loop: int, d: int, element: str | None) -> None:
        params = self.fld(node, "parameters", "parameter")
        names: list[str] = []
        if params is not None:
            if params.type in ("identifier",):
                names = [self.text(params)]
            else:
                for p in params.named_children:
                    n = self.fld(p, "pattern", "name") or (p if p.type == "identifier" else None)
                    if n is None and p.named_child_count:
                        n = p.named_children[-1]
                    if n is not None and n.type == "identifier":
                        names.append(self.text(n))
        saved = dict(self.env)
        for i, n in enumerate(names):
            self.env[n] = element if (element and i == 0) else "l:" + n
        body = self.fld(node, "body")
        if body is not None:
            self.stmt(body, cond, loop + (1 if element else 0), d)
        self.env = saved

    def _call(self, node: Any, cond: int, loop: int, d: int, stmt: bool, throw: bool) -> str:
        f = self.f
        args_node = self.fld(node, "arguments")
        fn = self.fld(node, "function")
        if node.type == "method_invocation":
            obj = self.fld(node, "object")
            name_node = self.fld(node, "name")
            method = self.text(name_node) if name_node is not None else "?"
            recv = self.val(obj, cond, loop, d) if obj is not None else ("self" if method in self.own_methods or not method[:1].isupper() else "g:" + method)
            if obj is not None and obj.type == "super":
                recv = "super"
            return self._finish_call(recv, method, args_node, cond, loop, d, stmt, throw)
        if fn is None:
            return "x"
        ft = fn.type
        if ft in nt.MEMBER:
            obj = self.fld(fn, "object", "operand", "value", "argument")
            prop = self.fld(fn, "property", "field", "name")
            method = self.text(prop).lstrip("#") if prop is not None else "?"
            if method in nt.EACH and args_node is not None:
                lam = next((c for c in args_node.named_children if c.type in nt.LAMBDA), None)
                if lam is not None:
                    base = self.val(obj, cond, loop, d)
                    field = base[2:] if base.startswith("f:") else None
                    if field:
                        f.loop(field)
                    self._lambda(lam, cond, loop, d, ("e:" + field) if field else None)
                    return "x"
            recv = self.val(obj, cond, loop, d) if obj is not None else "x"
            if obj is not None and obj.type == "super":
                recv = "super"
            if recv.startswith("f:") and method in nt.ITERISH:
                self._finish_call(recv, method, args_node, cond, loop, d, stmt, throw)
                return recv
            return self._finish_call(recv, method, args_node, cond, loop, d, stmt, throw)
        if ft in ("scoped_identifier", "qualified_identifier"):
            path = self.fld(fn, "path", "scope")
            name_node = self.fld(fn, "name")
            owner = simple_name(self.text(path)) if path is not None else None
            method = self.text(name_node) if name_node is not None else "?"
            if name_node is not None and name_node.type in ("template_function",):
                inner = name_node.child_by_field_name("name")
                method = self.text(inner) if inner is not None else method
                if method in ("make_unique", "make_shared"):
                    targs = name_node.child_by_field_name("arguments")
                    created = self.type_name(targs.named_children[0]) if targs is not None and targs.named_child_count else None
                    args = self._args(args_node, cond, loop, d)
                    if created and not throw:
                        f.create(created, args)
                    return "n:" + created if created else "x"
            if owner in nt.PASS_FNS:
                args = self._args(args_node, cond, loop, d)
                if method in ("new", "from", "of", "ofNullable", "move", "forward", "clone") and args:
                    return args[0]
                return "x"
            if owner == "Self":
                owner = self.own
            if owner and (method in nt.CREATION_FNS or method.startswith(("new_", "with_"))) and self.lang == "rust":
                args = self._args(args_node, cond, loop, d)
                if not throw:
                    f.create(owner, args)
                return "n:" + owner
            recv = "t:" + owner if owner else "x"
            if owner and owner in self.bases:
                recv = "super"
            return self._finish_call(recv, method, args_node, cond, loop, d, stmt, throw)
        if ft in ("identifier", "template_function"):
            name = self.text(fn) if ft == "identifier" else self.text(fn.child_by_field_name("name") or fn)
            if ft == "template_function" and name in ("make_unique", "make_shared", "std::make_unique", "std::make_shared"):
                targs = fn.child_by_field_name("arguments")
                created = self.type_name(targs.named_children[0]) if targs is not None and targs.named_child_count else None
                args = self._args(args_node, cond, loop, d)
                if created and not throw:
                    f.create(created, args)
                return "n:" + created if created else "x"
            if name in nt.PASS_FNS:
                args = self._args(args_node, cond, loop, d)
                return args[0] if args else "x"
            if self.lang == "go" and name == "append" and args_node is not None:
                args = self._args(args_node, cond, loop, d)
                if args and args[0].startswith("f:") and len(args) > 1:
                    return "append:" + args[0][2:] + ":" + args[1]
                return args[0] if args else "x"
            if self.lang == "go" and name == "new" and args_node is not None and args_node.named_child_count:
                created = self.type_name(args_node.named_children[0])
                if created and not throw:
                    f.create(created)
                return "n:" + created if created else "x"
            if self.lang == "go" and name == "make" and args_node is not None and args_node.named_child_count:
                first = args_node.named_children[0]
                return "{}" if first.type == "map_type" else "[]"
            if name in ("structuredClone",) and args_node is not None:
                args = self._args(args_node, cond, loop, d)
                return "c" if args and args[0] == "self" else "x"
            recv_kind = self.ident(name)
            if recv_kind.startswith(("p:", "l:")) and (name in self.params or name in self.env):
                return self._finish_call(recv_kind, "__call__", args_node, cond, loop, d, stmt, throw)
            if self.implicit_this and name in self.own_methods:
                return self._finish_call("self", name, args_node, cond, loop, d, stmt, throw)
            if self.lang == "cpp" and name[:1].isupper() and name in self.known:
                args = self._args(args_node, cond, loop, d)
                if not throw:
                    f.create(name, args)
                return "n:" + name
            return self._finish_call("g:" + name, "__call__", args_node, cond, loop, d, stmt, throw)
        if ft == "super":
            self._finish_call("super", "__init__", args_node, cond, loop, d, stmt, throw)
            return "x"
        self.val(fn, cond, loop, d)
        self._args(args_node, cond, loop, d)
        return "x"

    def _finish_call(self, recv: str, method: str, args_node: Any | None, cond: int, loop: int, d: int,
                     stmt: bool, throw: bool) -> str:
        f = self.f
        args = self._args(args_node, cond, loop, d)
        fl = self.flags(cond, loop, stmt) + ("s" if "self" in args else "")
        if recv == "super" and method == "clone":
            f.call(recv, method, fl, args)
            return "c"
        if recv in ("t:Object", "t:object") and method == "create" and args and args[0] == "self":
            return "c"
        if recv.startswith("f:"):
            if method in nt.KEYED and len(args) >= 2:
                f.write(recv, args[-1], self.flags(cond, loop) + "m")
            elif method in nt.ADD and args:
                f.write(recv, args[-1], self.flags(cond, loop) + ("m" if method == "insert" and len(args) >= 2 and self.lang == "rust" else "a"))
        elif recv == "self" and method == "clone" and self.lang == "rust":
            return "c"
        f.call(recv, method, fl, args)
        if recv.startswith("f:"):
            if method in ("get", "Get", "at", "Load") and args:
                return "k:" + recv[2:]
            return "r:" + recv
        if recv == "self":
            return "r:self:" + method
        if recv.startswith("g:"):
            return "r:" + recv
        return "x"


    # ------------------------------------------------------------------ statements (BodyAnalyzer)
    def stmt(self, node: Any, cond: int, loop: int, depth: int) -> None:
        raise NotImplementedError

    def _assign(self, node: Any, cond: int, loop: int, d: int) -> str:
        raise NotImplementedError
