"""Go syntax trees → definitions and summary (types, functions, methods by receiver, globals)."""

from __future__ import annotations

import re
from typing import Any

from processors.patterns.structure_builder import new_field, simple_name
from processors.patterns.treesitter.walker import Walker, init_kind

__all__ = ["GoWalker"]


class GoWalker(Walker):
    def walk(self, root: Any) -> None:
        self.go(root)

    # ------------------------------------------------------------------ Go
    def go(self, root: Any) -> None:
        for c in root.named_children:
            t = c.type
            if t == "type_declaration":
                for spec in c.named_children:
                    if spec.type in ("type_spec", "type_alias"):
                        self.go_type(spec, c)
            elif t == "function_declaration":
                n = c.child_by_field_name("name")
                if n is None:
                    continue
                body = c.child_by_field_name("body")
                res = c.child_by_field_name("result")
                name = self.text(n)
                self.method(None, name, c, c.child_by_field_name("parameters"), body,
                            returns=self.text(res) if res is not None else None)
                self.add_def("function", name, name, c, body=body)
            elif t == "method_declaration":
                n = c.child_by_field_name("name")
                recv = c.child_by_field_name("receiver")
                if n is None or recv is None:
                    continue
                rname = rtype = None
                for p in recv.named_children:
                    if p.type == "parameter_declaration":
                        pn, pt = p.child_by_field_name("name"), p.child_by_field_name("type")
                        rname = self.text(pn) if pn is not None else None
                        rtype = simple_name(self.text(pt).lstrip("*")) if pt is not None else None
                if not rtype:
                    continue
                cls = self.cls_for(rtype)
                body = c.child_by_field_name("body")
                res = c.child_by_field_name("result")
                name = self.text(n)
                self.method(cls, name, c, c.child_by_field_name("parameters"), body, receiver=rname,
                            visibility="public" if name[:1].isupper() else "private",
                            returns=self.text(res) if res is not None else None)
                self.add_def("method", name, f"{rtype}.{name}", c, body=body)
            elif t in ("var_declaration", "const_declaration"):
                specs = []
                for spec in c.named_children:
                    if spec.type in ("var_spec_list", "const_spec_list"):
                        specs.extend(spec.named_children)
                    else:
                        specs.append(spec)
                for spec in specs:
                    if spec.type not in ("var_spec", "const_spec"):
                        continue
                    tnode = spec.child_by_field_name("type")
                    value = spec.child_by_field_name("value")
                    for n in spec.children_by_field_name("name"):
                        self.globals.append(new_field(self.text(n), self.text(tnode) if tnode is not None else None,
                                                      static=True, final=t == "const_declaration", line=spec.start_point[0] + 1,
                                                      init=init_kind(self, value) if value is not None else None))
            elif t == "import_declaration":
                for s in re.findall(r'"([^"]+)"', self.text(c)):
                    self.imports.append(s)

    def go_type(self, spec: Any, outer: Any) -> None:
        n = spec.child_by_field_name("name")
        tnode = spec.child_by_field_name("type")
        if n is None:
            return
        name = self.text(n)
        kind = "type"
        if tnode is not None and tnode.type == "struct_type":
            kind = "struct"
        elif tnode is not None and tnode.type == "interface_type":
            kind = "interface"
        cls = self.new_cls(name, name, kind, spec) if kind != "type" else None
        if cls is not None and cls.get("line") == 0:
            cls["line"] = spec.start_point[0] + 1
        if kind == "struct":
            fl = next((c for c in tnode.named_children if c.type == "field_declaration_list"), None)
            for fd in fl.named_children if fl is not None else []:
                if fd.type != "field_declaration":
                    continue
                ft = fd.child_by_field_name("type")
                names = fd.children_by_field_name("name")
                if not names and ft is not None:  # embedded type
                    b = simple_name(self.text(ft).lstrip("*"))
                    if b:
                        cls["bases"].append(b)
                    continue
                for nn in names:
                    fname = self.text(nn)
                    cls["fields"].append(new_field(fname, self.text(ft) if ft is not None else None,
                                                   visibility="public" if fname[:1].isupper() else "private",
                                                   line=fd.start_point[0] + 1))
        elif kind == "interface":
            cls["abstract"] = True
            for m in tnode.named_children:
                if m.type in ("method_elem", "method_spec"):
                    mn = m.child_by_field_name("name")
                    res = m.child_by_field_name("result")
                    if mn is not None:
                        self.method(cls, self.text(mn), m, m.child_by_field_name("parameters"), None, abstract=True,
                                    returns=self.text(res) if res is not None else None)
                elif m.type in ("type_elem", "constraint_elem"):
                    b = simple_name(self.text(m))
                    if b:
                        cls["bases"].append(b)
        d = self.add_def(kind, name, name, spec, outer if len([s for s in outer.named_children if s.type in ("type_spec", "type_alias")]) == 1 else spec,
                         body=tnode, class_key=cls["_key"] if cls is not None else None)
        if d is not None:
            d.body = tnode
