"""JavaScript and TypeScript/TSX syntax trees → definitions and summary."""

from __future__ import annotations

import re
from typing import Any

from processors.patterns.records import tag
from processors.patterns.structure_builder import new_field, simple_name
from processors.patterns.treesitter.walker import MAX_NEST, Walker, declared_type, init_kind, visibility

__all__ = ["JsWalker"]


class JsWalker(Walker):
    def walk(self, root: Any) -> None:
        self.js(root, None, "", 0)

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
                        self.globals.append(new_field(self.text(n), declared_type(self, d), static=True, line=d.start_point[0] + 1))
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
                        self.globals.append(new_field(name, declared_type(self, d), static=True, line=d.start_point[0] + 1,
                                                      init=init_kind(self, v)))
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
                                                                   final="readonly" in pmods, visibility=visibility(pmods, "public"),
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
                              init=init_kind(self, value) if value is not None else None)
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
