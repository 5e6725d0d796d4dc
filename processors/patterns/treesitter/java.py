"""Java syntax trees → definitions and summary (classes, interfaces, enums, records)."""

from __future__ import annotations

from typing import Any

from processors.patterns.records import collapse_ws, tag
from processors.patterns.structure_builder import new_field, simple_name
from processors.patterns.treesitter.walker import MAX_NEST, Walker, init_kind, type_nodes, visibility

__all__ = ["JavaWalker"]


class JavaWalker(Walker):
    def walk(self, root: Any) -> None:
        self.java(root, None, "", 0)

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
                for tnode in type_nodes(c):
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
                init = init_kind(self, value)
            f = new_field(self.text(n), ttext, static="static" in mods or in_iface, final="final" in mods or in_iface,
                          visibility=visibility(mods, "package" if not in_iface else "public"), line=node.start_point[0] + 1,
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
        vis = visibility(mods, "public" if in_iface else "package")
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
