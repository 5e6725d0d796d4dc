"""C and C++ syntax trees → definitions and summary (types, functions, out-of-class methods)."""

from __future__ import annotations

import re
from typing import Any

from processors.patterns.records import collapse_ws, tag
from processors.patterns.structure_builder import new_field, simple_name
from processors.patterns.treesitter.walker import MAX_NEST, Walker

__all__ = ["CFamilyWalker"]


class CFamilyWalker(Walker):
    def walk(self, root: Any) -> None:
        self.cfam(root, None, "", 0)

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
