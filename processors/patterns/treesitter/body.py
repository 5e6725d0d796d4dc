"""Function bodies parsed by tree-sitter → :class:`~processors.patterns.structure_builder.MethodFacts`.

One analyser serves Java, JavaScript/TypeScript, Go, Rust, C and C++. :class:`BodyAnalyzer` walks
the statements; what expressions do is :class:`~.body_values.ValueAnalysis`'s. Recursion is bounded
(:data:`~.body_values.MAX_DEPTH`) and so is the number of nodes visited per body
(:data:`~.body_values.MAX_NODES`).
"""

from __future__ import annotations

from typing import Any

from processors.patterns.structure_builder import MethodFacts
from processors.patterns.treesitter import node_types as nt
from processors.patterns.treesitter.body_values import MAX_DEPTH, MAX_NODES, ValueAnalysis

__all__ = ["BodyAnalyzer"]


class BodyAnalyzer(ValueAnalysis):
    """Analyse the body (and parameters) of one function/method into :class:`MethodFacts`."""

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
            if s.type in nt.THROW or s.type == "expression_statement" and s.named_child_count and s.named_children[0].type in nt.THROW:
                return True
            if s.type in ("macro_invocation", "expression_statement") and self._macro_name(s) in nt.EMPTY_MACROS:
                return True
            if s.type in nt.RETURN and (s.named_child_count == 0 or s.named_children[0].type in ("null", "nil", "null_literal", "nullptr", "none", "undefined", "unit_expression")):
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
        return any(e in t for e in nt.NI_EXCEPTIONS) and ("throw" in t or "panic" in t)

    def _macro_name(self, node: Any) -> str | None:
        if node.type == "expression_statement" and node.named_child_count:
            node = node.named_children[0]
        if node.type == "macro_invocation":
            m = node.child_by_field_name("macro")
            return self.text(m) if m is not None else None
        return None

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
        if t in nt.MEMBER:
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
        if t in nt.SUBSCRIPT:
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
        if t in nt.DECL:
            self._decl(node, cond, loop, d)
            return
        if t in nt.ASSIGN:
            self._assign(node, cond, loop, d)
            return
        if t in nt.RETURN:
            kids = [c for c in node.named_children if not c.type.endswith("comment")]
            if kids:
                self.f.ret(self.val(kids[0], cond, loop, d))
            return
        if t in nt.THROW:
            for c in node.named_children:
                self.val(c, cond, loop, d, throw=True)
            return
        if t in nt.LOOP:
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
        if t in nt.COND:
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
