"""Function bodies parsed by tree-sitter → :class:`~.structure.MethodFacts` (all tree-sitter languages).

One analyser serves Java, JavaScript/TypeScript, Go, Rust, C and C++: node types with the same role
have different names per grammar but rarely clash, so the tables below are unions. What a body
does is recorded with the value encoding of :mod:`.structure` (``f:x`` own field, ``p:x``
parameter, ``n:T`` new object, …).

Bare identifiers that name a field of the class resolve to the field where the language allows an
implicit ``this`` (Java, C#-like, C++); elsewhere fields need ``this.``/``self.``/the receiver.
Recursion is bounded (:data:`MAX_DEPTH`) and so is the number of nodes visited per body
(:data:`MAX_NODES`).
"""

from __future__ import annotations

from typing import Any

from processors.patterns.structure import MethodFacts, simple_name

__all__ = ["BodyAnalyzer", "MAX_DEPTH", "MAX_NODES"]

MAX_DEPTH = 150
MAX_NODES = 20_000

_MEMBER = {"field_access", "member_expression", "selector_expression", "field_expression"}
_CALL = {"method_invocation", "call_expression"}
_NEW = {"object_creation_expression", "new_expression", "composite_literal", "struct_expression"}
_ASSIGN = {"assignment_expression", "assignment_statement"}
_DECL = {"local_variable_declaration", "lexical_declaration", "variable_declaration", "short_var_declaration",
         "var_declaration", "let_declaration", "declaration"}
_RETURN = {"return_statement", "return_expression"}
_COND = {"if_statement", "if_expression", "ternary_expression", "conditional_expression", "switch_statement",
         "switch_expression", "match_expression", "expression_switch_statement", "type_switch_statement",
         "select_statement", "catch_clause", "switch_block", "match_block", "else_clause", "let_condition"}
_LOOP = {"for_statement", "enhanced_for_statement", "while_statement", "do_statement", "for_in_statement",
         "for_expression", "while_expression", "loop_expression", "for_range_loop"}
_LAMBDA = {"lambda_expression", "arrow_function", "function_expression", "func_literal", "closure_expression",
           "function", "generator_function"}
_THROW = {"throw_statement", "throw_expression"}
_YIELD = {"yield_expression", "yield_statement", "yield"}
_PASS = {"parenthesized_expression", "cast_expression", "as_expression", "non_null_expression", "await_expression",
         "reference_expression", "try_expression", "type_assertion", "satisfies_expression", "pointer_expression",
         "unary_expression", "type_assertion_expression", "expression_list", "parenthesized_declarator"}
_LITERALS = {"number", "string", "true", "false", "null", "nil", "undefined", "template_string", "null_literal",
             "true_literal", "false_literal", "boolean_literal", "unit_expression", "none", "nullptr",
             "interpreted_string_literal", "raw_string_literal", "string_literal", "char_literal", "integer_literal",
             "float_literal", "decimal_integer_literal", "decimal_floating_point_literal", "number_literal",
             "hex_integer_literal", "character_literal", "text_block", "int_literal", "rune_literal",
             "concatenated_string", "regex"}
_ARRAYS = {"array", "array_creation_expression", "array_initializer", "array_expression", "initializer_list",
           "vec_literal"}
_SUBSCRIPT = {"subscript_expression", "index_expression", "array_access", "element_access"}
_SELF = {"this", "self"}
_ADD = {"add", "push", "push_back", "emplace_back", "append", "addLast", "addFirst", "offer", "push_front",
        "unshift", "addElement", "add_child", "insert", "Add", "PushBack", "Push", "enqueue", "addAll",
        "extend", "concat"}
_KEYED = {"put", "set", "computeIfAbsent", "putIfAbsent", "emplace", "try_emplace", "entry", "insert_or_assign",
          "Store", "LoadOrStore", "setdefault"}
_ITERISH = {"iter", "iter_mut", "into_iter", "values", "stream", "keySet", "entrySet", "begin", "toArray",
            "slice", "values_mut", "entries", "keys", "forEach", "for_each"}
_EACH = {"forEach", "for_each", "each", "map", "filter", "some", "every", "forEachOrdered", "ForEach", "Range"}
_CREATION_FNS = {"new", "default", "create", "from", "of", "with_capacity", "new_with"}
_PASS_FNS = {"Box", "Rc", "Arc", "RefCell", "Cell", "Mutex", "RwLock", "Some", "Ok", "Err", "Pin", "Cow",
             "Optional", "of", "ofNullable", "requireNonNull", "move", "forward", "ref", "cref", "Objects",
             "std", "make_pair", "Weak", "downgrade"}
_EMPTY_MACROS = {"unimplemented", "todo", "panic", "unreachable"}
_NI_EXCEPTIONS = {"UnsupportedOperationException", "NotImplementedException", "Error", "RuntimeException",
                  "logic_error", "runtime_error", "NotImplementedError"}


class BodyAnalyzer:
    """Analyse the body (and parameters) of one function/method into :class:`MethodFacts`."""

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

    @staticmethod
    def fld(node: Any, *names: str) -> Any:
        for n in names:
            c = node.child_by_field_name(n)
            if c is not None:
                return c
        return None

    def type_name(self, node: Any | None) -> str | None:
        if node is None:
            return None
        return simple_name(self.text(node)) if node.end_byte - node.start_byte < 300 else None

    def analyze(self, facts: MethodFacts, params: list[str], body: Any | None) -> dict[str, Any]:
        self.f = facts
        self.params = set(params)
        self.env = {}
        self.nodes = 0
        if body is not None:
            try:
                if self.lang == "rust" and body.type == "block":
                    self._rust_block(body)
                else:
                    self.stmt(body, 0, 0, 0)
            except RecursionError:  # pragma: no cover - MAX_DEPTH keeps well below the limit
                pass
            facts.d["empty"] = self._is_empty(body)
            if facts.d["empty"] and self._raises_only(body):
                facts.d["abstract"] = True
        return facts.d

    def _is_empty(self, body: Any) -> bool:
        stmts = [c for c in body.named_children if not c.type.endswith("comment")]
        if not stmts:
            return True
        if len(stmts) == 1:
            s = stmts[0]
            if s.type in _THROW or s.type == "expression_statement" and s.named_child_count and s.named_children[0].type in _THROW:
                return True
            if s.type in ("macro_invocation", "expression_statement") and self._macro_name(s) in _EMPTY_MACROS:
                return True
            if s.type in _RETURN and (s.named_child_count == 0 or s.named_children[0].type in ("null", "nil", "null_literal", "nullptr", "none", "undefined", "unit_expression")):
                return True
        return False

    def _raises_only(self, body: Any) -> bool:
        stmts = [c for c in body.named_children if not c.type.endswith("comment")]
        if len(stmts) != 1:
            return False
        s = stmts[0]
        if self._macro_name(s) in ("unimplemented", "todo"):
            return True
        t = self.text(s)
        return any(e in t for e in _NI_EXCEPTIONS) and ("throw" in t or "panic" in t)

    def _macro_name(self, node: Any) -> str | None:
        if node.type == "expression_statement" and node.named_child_count:
            node = node.named_children[0]
        if node.type == "macro_invocation":
            m = node.child_by_field_name("macro")
            return self.text(m) if m is not None else None
        return None

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
        if t in _SELF:
            return "self"
        if t == "super":
            return "super"
        if t in ("identifier", "field_identifier", "property_identifier", "shorthand_property_identifier"):
            return self.ident(self.text(node))
        if t in ("type_identifier", "scoped_type_identifier", "namespace_identifier"):
            name = simple_name(self.text(node)) or "?"
            return "t:" + name
        if t in _LITERALS or t.endswith("_literal") and t not in ("composite_literal", "func_literal"):
            if t == "composite_literal":
                pass
            else:
                return "0"
        if t in _MEMBER:
            return self._member(node, cond, loop, d)
        if t in _CALL:
            return self._call(node, cond, loop, d, stmt, throw)
        if t in _NEW:
            return self._new(node, cond, loop, d, throw)
        if t in _ARRAYS:
            for c in node.named_children:
                self.val(c, cond, loop, d)
            return "[]"
        if t == "object":
            for c in node.named_children:
                self.val(c, cond, loop, d)
            return "{}"
        if t in _SUBSCRIPT:
            base_node = self.fld(node, "object", "operand", "array", "argument") or (node.named_children[0] if node.named_child_count else None)
            base = self.val(base_node, cond, loop, d)
            for c in node.named_children[1:]:
                self.val(c, cond, loop, d)
            if base.startswith("f:"):
                return ("e:" if loop else "k:") + base[2:]
            return "x"
        if t in _PASS:
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
        if t in _COND:
            for c in node.named_children:
                self.stmt(c, cond + 1, loop, d)
            return "x"
        if t in _LAMBDA:
            self._lambda(node, cond, loop, d, None)
            return "fn"
        if t in _YIELD:
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
        if ft in _MEMBER:
            obj = self.fld(fn, "object", "operand", "value", "argument")
            prop = self.fld(fn, "property", "field", "name")
            method = self.text(prop).lstrip("#") if prop is not None else "?"
            if method in _EACH and args_node is not None:
                lam = next((c for c in args_node.named_children if c.type in _LAMBDA), None)
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
            if recv.startswith("f:") and method in _ITERISH:
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
            if owner in _PASS_FNS:
                args = self._args(args_node, cond, loop, d)
                if method in ("new", "from", "of", "ofNullable", "move", "forward", "clone") and args:
                    return args[0]
                return "x"
            if owner == "Self":
                owner = self.own
            if owner and (method in _CREATION_FNS or method.startswith(("new_", "with_"))) and self.lang == "rust":
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
            if name in _PASS_FNS:
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
            if method in _KEYED and len(args) >= 2:
                f.write(recv, args[-1], self.flags(cond, loop) + "m")
            elif method in _ADD and args:
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

    # ------------------------------------------------------------------ statements
    def _bind(self, name_node: Any | None, value: str) -> None:
        if name_node is None:
            return
        t = name_node.type
        if t in ("identifier", "field_identifier"):
            self.env[self.text(name_node)] = value
        elif t in ("pointer_declarator", "reference_declarator", "init_declarator", "array_declarator"):
            inner = name_node.child_by_field_name("declarator") or (name_node.named_children[-1] if name_node.named_child_count else None)
            self._bind(inner, value)
        elif t in ("tuple_struct_pattern", "ref_pattern", "mut_pattern", "reference_pattern", "captured_pattern"):
            for c in name_node.named_children:
                if c.type in ("identifier",) and c != name_node.child_by_field_name("type"):
                    self.env[self.text(c)] = value
                elif c.type.endswith("pattern"):
                    self._bind(c, value)
        elif t in ("expression_list", "tuple_pattern", "array_pattern", "object_pattern"):
            for c in name_node.named_children:
                self._bind(c, "x")

    def _target(self, node: Any, value: str, cond: int, loop: int, d: int) -> None:
        fl = self.flags(cond, loop)
        t = node.type
        if t in ("identifier", "field_identifier"):
            name = self.text(node)
            if name in self.env or name in self.params:
                self.env[name] = value
                return
            if self.implicit_this and name in self.fields:
                self._write("f:" + name, value, fl)
            elif name in self.globals:
                self.f.write("g:" + name, value, fl)
            else:
                self.env[name] = value
            return
        if t in _MEMBER:
            obj = self.fld(node, "object", "operand", "value", "argument")
            prop = self.fld(node, "property", "field", "name")
            name = self.text(prop).lstrip("#") if prop is not None else "?"
            base = self.val(obj, cond, loop, d)
            if base == "self" or (self.own and base == "t:" + self.own):
                self._write("f:" + name, value, fl)
            elif base.startswith("p:"):
                self.f.write("pa:" + base[2:], value, fl)
                self.f.call(base, "=" + name, fl, [value])
            elif base.startswith("f:"):
                self.f.write("fa:" + base[2:], value, fl)
                self.f.call(base, "=" + name, fl, [value])
            elif base.startswith("e:"):
                self.f.call(base, "=" + name, fl, [value])
            return
        if t in _SUBSCRIPT:
            base_node = self.fld(node, "object", "operand", "array", "argument") or (node.named_children[0] if node.named_child_count else None)
            base = self.val(base_node, cond, loop, d)
            if base.startswith("f:"):
                self.f.write(base, value, fl + "m")
            elif base.startswith("g:"):
                self.f.write(base, value, fl + "m")
            return
        if t in ("pointer_expression", "parenthesized_expression"):
            inner = self.fld(node, "argument") or (node.named_children[-1] if node.named_child_count else None)
            if inner is not None:
                self._target(inner, value, cond, loop, d)
            return
        if t == "expression_list":
            for c in node.named_children:
                self._target(c, "x", cond, loop, d)

    def _write(self, target: str, value: str, fl: str) -> None:
        if value.startswith("append:"):
            _, field, item = value.split(":", 2)
            self.f.write("f:" + field, item, fl + "a")
            return
        self.f.write(target, value, fl)

    def _assign(self, node: Any, cond: int, loop: int, d: int) -> str:
        left = self.fld(node, "left")
        right = self.fld(node, "right")
        if node.type == "assignment_statement" and left is not None and right is not None and left.type == "expression_list":
            lefts = left.named_children
            rights = right.named_children if right.type == "expression_list" else [right]
            values = [self.val(r, cond, loop, d) for r in rights]
            for i, l in enumerate(lefts):
                self._target(l, values[i] if i < len(values) and len(values) == len(lefts) else "x", cond, loop, d)
            return "x"
        v = self.val(right, cond, loop, d)
        if left is not None:
            op = node.child_by_field_name("operator")
            if op is not None and self.text(op) not in ("=", ":="):
                v = "x"  # a += b
            self._target(left, v, cond, loop, d)
        return v

    def _decl(self, node: Any, cond: int, loop: int, d: int) -> None:
        t = node.type
        if t in ("short_var_declaration",):
            left, right = self.fld(node, "left"), self.fld(node, "right")
            lefts = left.named_children if left is not None else []
            rights = right.named_children if right is not None else []
            values = [self.val(r, cond, loop, d) for r in rights]
            for i, l in enumerate(lefts):
                self._bind(l, values[i] if i < len(values) and len(values) == len(lefts) else "x")
            return
        if t == "let_declaration":
            v = self.val(self.fld(node, "value"), cond, loop, d)
            self._bind(self.fld(node, "pattern"), v)
            return
        is_static = self.lang == "cpp" and any(c.type == "storage_class_specifier" and self.text(c) == "static" for c in node.children)
        type_node = self.fld(node, "type")
        for c in node.named_children:
            ct = c.type
            if ct in ("variable_declarator", "init_declarator", "var_spec"):
                name = self.fld(c, "name", "declarator")
                value = self.fld(c, "value")
                v = self.val(value, cond, loop, d) if value is not None else "0"
                if ct == "init_declarator" and value is not None and value.type in ("argument_list", "initializer_list") and type_node is not None:
                    tn = self.type_name(type_node)
                    if tn and tn in self.known:
                        self.f.create(tn)
                        v = "n:" + tn
                self._bind(name, v)
                if is_static and name is not None and v.startswith("n:"):
                    self.static_locals.append((self.text(name), v[2:]))
            elif ct == "identifier" and t == "declaration" and type_node is not None:
                tn = self.type_name(type_node)
                if tn and tn in self.known:  # C++ `A inst;` constructs an A
                    self.f.create(tn)
                    self.env[self.text(c)] = "n:" + tn
                    if is_static:
                        self.static_locals.append((self.text(c), tn))

    def _loop(self, node: Any, cond: int, loop: int, d: int) -> None:
        t = node.type
        target = value = None
        if t == "enhanced_for_statement":
            target, value = self.fld(node, "name"), self.fld(node, "value")
        elif t == "for_in_statement":
            target, value = self.fld(node, "left"), self.fld(node, "right")
        elif t == "for_expression":
            target, value = self.fld(node, "pattern"), self.fld(node, "value")
        elif t == "for_range_loop":
            target, value = self.fld(node, "declarator"), self.fld(node, "right")
        elif t == "for_statement" and self.lang == "go":
            rc = next((c for c in node.named_children if c.type == "range_clause"), None)
            if rc is not None:
                target, value = self.fld(rc, "left"), self.fld(rc, "right")
        if value is not None:
            src = self.val(value, cond, loop, d)
            field = src[2:] if src.startswith("f:") else (src[4:] if src.startswith("r:f:") else None)
            if field:
                self.f.loop(field)
            if target is not None:
                if target.type == "expression_list":  # Go: for _, o := range s.obs
                    kids = target.named_children
                    for k in kids[:-1]:
                        self._bind(k, "x")
                    if kids:
                        self._bind(kids[-1], ("e:" + field) if field else "x")
                elif target.type in ("lexical_declaration", "variable_declaration"):
                    for c in target.named_children:
                        self._bind(self.fld(c, "name") or c, ("e:" + field) if field else "x")
                else:
                    self._bind(target, ("e:" + field) if field else "x")
        for c in node.named_children:
            if c is value or c is target:
                continue
            if c.type == "range_clause":
                continue
            self.stmt(c, cond, loop + 1, d)

    def stmt(self, node: Any, cond: int, loop: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        self.nodes += 1
        if self.nodes > MAX_NODES:
            return
        t = node.type
        d = depth + 1
        if t.endswith("comment"):
            return
        if t == "expression_statement":
            for c in node.named_children:
                self.val(c, cond, loop, d, stmt=True)
            return
        if t in _DECL:
            self._decl(node, cond, loop, d)
            return
        if t in _ASSIGN:
            self._assign(node, cond, loop, d)
            return
        if t in _RETURN:
            kids = [c for c in node.named_children if not c.type.endswith("comment")]
            if kids:
                self.f.ret(self.val(kids[0], cond, loop, d))
            return
        if t in _THROW:
            for c in node.named_children:
                self.val(c, cond, loop, d, throw=True)
            return
        if t in _LOOP:
            self._loop(node, cond, loop, d)
            return
        if t in ("if_statement", "if_expression", "ternary_expression", "conditional_expression"):
            for c in node.named_children:
                if c.type == "let_condition":  # if let Some(n) = &self.next
                    v = self.val(self.fld(c, "value"), cond + 1, loop, d)
                    self._bind(self.fld(c, "pattern"), v)
                elif c.type in ("short_var_declaration",):
                    self._decl(c, cond + 1, loop, d)
                else:
                    self.stmt(c, cond + 1, loop, d)
            return
        if t in _COND:
            for c in node.named_children:
                self.stmt(c, cond + 1, loop, d)
            return
        if t in ("block", "statement_block", "compound_statement", "constructor_body", "statement_list",
                 "program", "declaration_list", "labeled_statement", "synchronized_statement", "try_statement",
                 "try_with_resources_statement", "finally_clause", "defer_statement", "go_statement",
                 "unsafe_block", "async_block", "using_statement", "with_statement", "field_declaration_list",
                 "parenthesized_expression", "else_clause", "expression_case", "default_case", "type_case",
                 "communication_case", "switch_block_statement_group", "switch_rule", "case_statement",
                 "match_arm", "match_block", "switch_case", "switch_default"):
            if t == "block" and self.lang == "rust":
                self._rust_block(node, cond, loop, d, returns=False)
                return
            for c in node.named_children:
                self.stmt(c, cond + (1 if t in ("match_arm", "expression_case", "switch_rule", "switch_case",
                                                "case_statement", "switch_block_statement_group", "type_case",
                                                "communication_case") else 0), loop, d)
            return
        if t == "explicit_constructor_invocation":
            ctor = self.fld(node, "constructor")
            args = self._args(self.fld(node, "arguments"), cond, loop, d)
            self.f.call("super" if ctor is not None and ctor.type == "super" else "self", "__init__",
                        self.flags(cond, loop), args)
            return
        if t in ("function_declaration", "function_definition", "function_item", "class_declaration",
                 "struct_item", "impl_item", "class_specifier", "struct_specifier"):
            return  # nested definitions are their own patterns
        self.val(node, cond, loop, d, stmt=False)

    def _rust_block(self, node: Any, cond: int = 0, loop: int = 0, d: int = 0, returns: bool = True) -> None:
        kids = [c for c in node.named_children if not c.type.endswith("comment")]
        for i, c in enumerate(kids):
            if returns and i == len(kids) - 1 and c.type not in ("expression_statement", "let_declaration") and not c.type.endswith("_item"):
                self.f.ret(self.val(c, cond, loop, d))
            elif returns and i == len(kids) - 1 and c.type == "expression_statement" and c.named_child_count and c.named_children[0].type in ("if_expression", "match_expression"):
                self.stmt(c, cond, loop, d)
            else:
                self.stmt(c, cond, loop, d)
