"""Rust syntax trees → definitions and summary (structs, enums, traits, ``impl`` blocks)."""

from __future__ import annotations

from typing import Any

from processors.patterns.records import collapse_ws, tag
from processors.patterns.structure_builder import new_field, simple_name
from processors.patterns.treesitter.walker import MAX_NEST, Walker, init_kind

__all__ = ["RustWalker"]


class RustWalker(Walker):
    def walk(self, root: Any) -> None:
        self.rust(root, "", 0)

    # ------------------------------------------------------------------ Rust
    def rust(self, node: Any, prefix: str, depth: int) -> None:
        if depth > MAX_NEST:
            return
        for c in node.named_children:
            t = c.type
            n = c.child_by_field_name("name")
            if t in ("struct_item", "enum_item", "union_item", "trait_item"):
                if n is None:
                    continue
                name = self.text(n)
                kind = {"struct_item": "struct", "enum_item": "enum", "union_item": "union", "trait_item": "trait"}[t]
                cls = self.new_cls(name, prefix + name, kind, c)
                if cls["line"] == 0:
                    cls["line"] = c.start_point[0] + 1
                body = c.child_by_field_name("body")
                if t == "struct_item" and body is not None:
                    for fd in body.named_children:
                        if fd.type == "field_declaration":
                            fn, ft = fd.child_by_field_name("name"), fd.child_by_field_name("type")
                            if fn is not None:
                                vis = "public" if any(k.type == "visibility_modifier" for k in fd.children) else "private"
                                cls["fields"].append(new_field(self.text(fn), self.text(ft) if ft is not None else None,
                                                               visibility=vis, line=fd.start_point[0] + 1))
                        elif fd.type in ("ordered_field_declaration_list",):
                            pass
                    if body.type == "ordered_field_declaration_list":
                        for i, ft in enumerate(x for x in body.named_children if x.type not in ("visibility_modifier",)):
                            cls["fields"].append(new_field(str(i), self.text(ft), line=body.start_point[0] + 1))
                elif t == "enum_item" and body is not None:
                    for v in body.named_children:
                        vn = v.child_by_field_name("name")
                        if vn is not None:
                            cls["enum_constants"].append(self.text(vn))
                elif t == "trait_item":
                    cls["abstract"] = True
                    bounds = c.child_by_field_name("bounds")
                    if bounds is not None:
                        for b in bounds.named_children:
                            s = simple_name(self.text(b))
                            if s:
                                cls["bases"].append(s)
                    if body is not None:
                        for m in body.named_children:
                            if m.type in ("function_signature_item", "function_item"):
                                self.rust_fn(m, cls, prefix + name + ".", trait=True)
                self.add_def(kind, name, prefix + name, c, body=body, class_key=cls["_key"])
            elif t == "impl_item":
                ty = c.child_by_field_name("type")
                tr = c.child_by_field_name("trait")
                if ty is None:
                    continue
                tname = simple_name(self.text(ty)) or self.text(ty)
                cls = self.cls_for(tname)
                trait = simple_name(self.text(tr)) if tr is not None else None
                if trait and trait not in cls["bases"]:
                    cls["bases"].append(trait)
                label = f"{self.text(tr)} for {tname}" if tr is not None else tname
                body = c.child_by_field_name("body")
                self.add_def("impl", label, prefix + collapse_ws(label), c, body=body,
                             tags=[tag("trait_impl", trait)] if trait else [])
                if body is not None:
                    for m in body.named_children:
                        if m.type in ("function_item", "function_signature_item"):
                            self.rust_fn(m, cls, prefix + tname + ".")
            elif t in ("function_item",):
                self.rust_fn(c, None, prefix)
            elif t == "mod_item":
                body = c.child_by_field_name("body")
                if body is not None and n is not None:
                    self.rust(body, prefix + self.text(n) + ".", depth + 1)
            elif t in ("static_item", "const_item"):
                ty = c.child_by_field_name("type")
                value = c.child_by_field_name("value")
                if n is not None:
                    self.globals.append(new_field(self.text(n), self.text(ty) if ty is not None else None, static=True,
                                                  final=t == "const_item", line=c.start_point[0] + 1,
                                                  init=init_kind(self, value) if value is not None else None))
            elif t == "type_item" and n is not None:
                self.add_def("type", self.text(n), prefix + self.text(n), c, body=c.child_by_field_name("type"))
            elif t == "use_declaration":
                arg = c.child_by_field_name("argument")
                if arg is not None:
                    self.imports.append(collapse_ws(self.text(arg)))
            elif t == "macro_invocation" and n is None:
                pass

    def rust_fn(self, node: Any, cls: dict[str, Any] | None, prefix: str, trait: bool = False) -> None:
        n = node.child_by_field_name("name")
        if n is None:
            return
        name = self.text(n)
        params = node.child_by_field_name("parameters")
        has_self = params is not None and any(p.type == "self_parameter" for p in params.named_children)
        body = node.child_by_field_name("body")
        vis = "public" if any(k.type == "visibility_modifier" for k in node.children) or trait else "private"
        rt = node.child_by_field_name("return_type")
        rtext = self.text(rt) if rt is not None else None
        if rtext and cls is not None and rtext.strip() == "Self":
            rtext = cls["name"]
        is_ctor = cls is not None and not has_self and name in ("new", "default", "create") and rtext is not None
        self.method(cls, name, node, params, body, static=cls is not None and not has_self,
                    abstract=body is None, ctor=False, visibility=vis, returns=rtext)
        kind = "method" if cls is not None else "function"
        tags = []
        if is_ctor:
            tags.append(tag("constructor", name))
        if body is None:
            tags.append(tag("abstract", "required trait method"))
        if "async" in self.tokens(node) or any(k.type == "function_modifiers" and "async" in self.text(k) for k in node.children):
            tags.append(tag("async", "async fn"))
        self.add_def(kind, name, prefix + name, node, body=body, tags=tags)
