"""The structure model detection reads: classes of one or more summaries, merged by simple name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from processors.patterns.design.inference import infer_field_types
from processors.patterns.structure_builder import alias_value
from schemas.structure import Call, ClassInfo, FieldInfo, MethodInfo, StructureSummary, Write

__all__ = ["GENERIC_METHODS", "LIFECYCLE", "MAX_CLASSES", "StructureIndex", "all_methods", "is_public", "is_test_class",
           "real_methods", "returned_new"]


MAX_CLASSES = 1200  # per detection call; more than this is cut (keeps detection bounded and deterministic)

GENERIC_METHODS = frozenset({
    "__init__", "__str__", "__repr__", "__eq__", "__hash__", "toString", "equals", "hashCode", "get", "set",
    "append", "add", "remove", "pop", "push", "len", "size", "length", "__len__", "__iter__", "__getitem__",
    "__setitem__", "__contains__", "keys", "values", "items", "update", "copy", "clear", "close", "open",
    "read", "write", "format", "join", "split", "strip", "lower", "upper", "startswith", "endswith",
    "encode", "decode", "find", "replace", "isEmpty", "contains", "put", "insert", "extend", "sort",
    "__call__", "__enter__", "__exit__", "__del__", "to_string", "fmt", "clone", "String", "Error", "name",
    "getName", "getClass", "run", "start", "stop", "send", "info", "debug", "warning", "error", "log",
    "print", "println", "printf", "then", "catch", "map", "filter", "forEach", "iter", "next", "unwrap",
    "expect", "as_ref", "borrow", "borrow_mut", "lock", "is_some", "is_none", "len", "push_back",
})
#: lifecycle / I/O plumbing: forwarding these is resource management, not a design pattern
LIFECYCLE = frozenset({
    "close", "join", "terminate", "start", "stop", "cancel", "wait", "flush", "read", "write", "seek", "tell",
    "fileno", "send", "recv", "connect", "shutdown", "reset", "clear", "kill", "is_alive", "poll", "acquire",
    "release", "open", "readline", "readlines", "seekable", "readable", "writable", "isatty", "__enter__",
    "__exit__", "__del__", "dispose", "destroy", "cleanup", "setup", "teardown", "setUp", "tearDown", "Close",
    "Read", "Write", "Flush", "readinto", "truncate", "detach", "closed", "sendall", "settimeout", "gettimeout",
    "setblocking", "getvalue", "drain", "abort", "pause", "resume", "dispose", "free",
})


class StructureIndex:
    """Classes of one or more summaries, by simple name, with hierarchy and inferred field types."""

    def __init__(self, summaries: Iterable[StructureSummary]) -> None:
        merged: dict[str, _Merging] = {}
        self.lang: dict[str, str] = {}
        self.functions: list[MethodInfo] = []
        self.globals: dict[str, FieldInfo] = {}
        for s in summaries:
            for c in s.classes:
                if len(merged) >= MAX_CLASSES:
                    break
                if not c.name:
                    continue
                prev = merged.get(c.name)
                if prev is None:
                    merged[c.name] = _Merging(c)
                    self.lang[c.name] = s.language
                else:  # same name in another file (partial class / Go methods / C++ header + source)
                    prev.merge(c)
            self.functions.extend(s.functions)
            for g in s.globals:
                self.globals.setdefault(g.name, g)
        bases = {name: [b for b in m.bases if b != name] for name, m in merged.items()}
        self.children: dict[str, set[str]] = defaultdict(set)
        for name, bs in bases.items():
            for b in bs:
                self.children[b].add(name)
        self.classes: dict[str, ClassInfo] = {name: m.freeze(tuple(bases[name])) for name, m in merged.items()}
        self._go_implicit_interfaces()
        self._subs: dict[str, set[str]] = {}
        self._supers: dict[str, set[str]] = {}
        self._family: dict[str, frozenset[str]] = {}
        self._concrete: dict[str, list[str]] = {}
        self._inherit_property_aliases()
        self.methods: dict[str, dict[str, MethodInfo]] = {
            n: {m.name: m for m in c.methods} for n, c in self.classes.items()}
        self.fields: dict[str, dict[str, FieldInfo]] = {
            n: {f.name: f for f in c.fields} for n, c in self.classes.items()}
        self.method_owners: dict[str, set[str]] = defaultdict(set)
        for n, ms in self.methods.items():
            for mn in ms:
                self.method_owners[mn].add(n)
        self.creators: dict[str, set[str]] = defaultdict(set)  # class → classes creating it
        for n, c in self.classes.items():
            for m in c.methods:
                for t in m.creates:
                    self.creators[t].add(n)
        for fn in self.functions:
            for t in fn.creates:
                self.creators[t].add("<function>")
        self.inits: dict[tuple[str, str], set[str]] = defaultdict(set)  # struct-literal field values
        for _owner, m in all_methods(self):
            for target, value, _flags in m.writes:
                if target.startswith("i:") and "." in target:
                    t, f = target[2:].split(".", 1)
                    self.inits[(t, f)].add(value)
        types = infer_field_types(self)
        self.ftype, self.ptype, self.inferred = types.fields, types.params, types.guessed

    # ------------------------------------------------------------------ hierarchy
    def _inherit_property_aliases(self) -> None:
        """Python properties of a base class (``self.mediator`` → ``self._mediator``) used in subclasses."""
        if not any(c.property_fields for c in self.classes.values()):
            return
        for name, c in self.classes.items():
            aliases: dict[str, str] = {}
            for s in self.supers(name):
                inherited = self.classes[s].property_fields if s in self.classes else {}
                aliases.update({k: v for k, v in inherited.items() if k not in aliases})
            aliases = {k: v for k, v in aliases.items() if k not in c.property_fields}
            if not aliases:
                continue
            self.classes[name] = c.model_copy(update={"methods": tuple(_aliased(m, aliases) for m in c.methods)})
        self._supers.clear()

    def _go_implicit_interfaces(self) -> None:
        """Go types implement an interface by having its methods: make it a base."""
        ifaces = {n: {m.name for m in c.methods} for n, c in self.classes.items()
                  if c.kind == "interface" and self.lang.get(n) == "go" and c.methods}
        if not ifaces:
            return
        for n, c in self.classes.items():
            if self.lang.get(n) != "go" or c.kind == "interface":
                continue
            have = {m.name for m in c.methods}
            added = [i for i, need in ifaces.items() if need <= have and i not in c.bases]
            if added:
                self.classes[n] = c.model_copy(update={"bases": (*c.bases, *added)})
                for i in added:
                    self.children[i].add(n)

    def subs(self, name: str) -> set[str]:
        if name not in self._subs:
            out: set[str] = set()
            stack = list(self.children.get(name, ()))
            while stack and len(out) < 500:
                s = stack.pop()
                if s not in out and s != name:
                    out.add(s)
                    stack.extend(self.children.get(s, ()))
            self._subs[name] = out
        return self._subs[name]

    def supers(self, name: str) -> set[str]:
        if name not in self._supers:
            out: set[str] = set()
            stack = list(self.classes[name].bases if name in self.classes else ())
            while stack and len(out) < 100:
                s = stack.pop()
                if s not in out and s != name:
                    out.add(s)
                    stack.extend(self.classes[s].bases if s in self.classes else ())
            self._supers[name] = out
        return self._supers[name]

    def related(self, a: str, b: str) -> bool:
        return a == b or b in self.supers(a) or a in self.supers(b)

    def is_abstract(self, name: str | None) -> bool:
        c = self.classes.get(name or "")
        return c is not None and (c.abstract or c.kind in ("interface", "trait", "protocol"))

    def concrete_subs(self, name: str) -> list[str]:
        out = self._concrete.get(name)
        if out is None:
            out = self._concrete[name] = sorted(s for s in self.subs(name) if not self.is_abstract(s))
        return out

    def polymorphic(self, name: str | None) -> bool:
        """A type with implementations: abstract with ≥1 subtype, or a base with ≥2 subtypes."""
        if not name or name not in self.classes:
            return False
        n = len(self.subs(name))
        return n >= 2 or (n >= 1 and self.is_abstract(name))

    def method(self, cls: str, name: str) -> MethodInfo | None:
        m = self.methods.get(cls, {}).get(name)
        if m is not None:
            return m
        for s in self.supers(cls):
            m = self.methods.get(s, {}).get(name)
            if m is not None:
                return m
        return None

    def all_method_names(self, cls: str) -> set[str]:
        out = set(self.methods.get(cls, {}))
        for s in self.supers(cls):
            out |= set(self.methods.get(s, {}))
        return out

    def overridden_in(self, cls: str, mname: str) -> list[str]:
        return sorted(s for s in self.subs(cls) if mname in self.methods.get(s, {})
                      and not self.methods[s][mname].abstract)

    def field(self, cls: str, fname: str) -> FieldInfo | None:
        f = self.fields.get(cls, {}).get(fname)
        if f is not None:
            return f
        for s in self.supers(cls):
            f = self.fields.get(s, {}).get(fname)
            if f is not None:
                return f
        return None

    def field_owner(self, cls: str, fname: str) -> str | None:
        if fname in self.fields.get(cls, {}):
            return cls
        for s in self.supers(cls):
            if fname in self.fields.get(s, {}):
                return s
        return None

    def fclass(self, cls: str, fname: str) -> str | None:
        """Known class a field holds (its type; the element for collections), declared or inferred."""
        owner = self.field_owner(cls, fname) or cls
        t, elem, coll = self.ftype.get((owner, fname), (None, None, None))
        name = elem if coll else t
        return name if name in self.classes else None

    def fcoll(self, cls: str, fname: str) -> str | None:
        owner = self.field_owner(cls, fname) or cls
        return self.ftype.get((owner, fname), (None, None, None))[2]

    def pclass(self, cls: str, m: MethodInfo, pname: str) -> str | None:
        for p in m.params:
            if p.name == pname:
                t = p.elem or p.type
                if t in self.classes:
                    return t
        t = self.ptype.get((cls, m.name, pname))
        return t if t in self.classes else None

    def family(self, name: str) -> set[str]:
        fam = self._family.get(name)
        if fam is None:
            fam = self._family[name] = frozenset({name} | self.subs(name))
        return fam  # type: ignore[return-value]

    # ------------------------------------------------------------------ type inference
    def owner_of_methods(self, names: set[str]) -> str | None:
        """The most general known class defining every method in ``names`` (one family only)."""
        names = {n for n in names if n and n not in GENERIC_METHODS and n not in LIFECYCLE and not n.startswith("=")}
        if not names:
            return None
        cands: set[str] | None = None
        for n in names:
            owners = set(self.method_owners.get(n, ()))
            expanded = set(owners)
            for o in owners:
                expanded |= self.supers(o) & set(self.classes)
            cands = expanded if cands is None else cands & expanded
            if not cands:
                return None
        cands = {c for c in cands or () if names <= self.all_method_names(c)}
        if not cands:
            return None
        roots = [c for c in cands if not (self.supers(c) & cands)]
        return roots[0] if len(roots) == 1 else None

    def common_base(self, names: set[str]) -> str | None:
        """The most specific known class every one of ``names`` is (or derives from)."""
        names = set(names)
        if len(names) == 1:
            return next(iter(names))
        common: set[str] | None = None
        for n in names:
            s = self.supers(n) | {n}
            common = s if common is None else common & s
        common = {c for c in (common or ()) if c in self.classes}
        if not common:
            return None
        best = [c for c in common if not (self.subs(c) & common)]
        return sorted(best)[0] if best else None

    def methods_of(self, cls: str) -> tuple[MethodInfo, ...]:
        """The methods of a known class; none for an unknown name."""
        c = self.classes.get(cls)
        return c.methods if c is not None else ()


def is_public(m: MethodInfo) -> bool:
    return m.visibility != "private" and not m.synthetic


def real_methods(c: ClassInfo) -> list[MethodInfo]:
    return [m for m in c.methods if not m.synthetic]


def returned_new(m: MethodInfo) -> set[str]:
    """Types a method creates and returns (directly, or via a local it returns)."""
    return {r[2:] for r in m.rets if r.startswith("n:") and r != "n:*"}


def all_methods(ix: StructureIndex) -> Iterable[tuple[str | None, MethodInfo]]:
    for name, c in ix.classes.items():
        for m in c.methods:
            yield name, m
    for fn in ix.functions:
        yield None, fn


def is_test_class(name: str, c: ClassInfo) -> bool:
    return name.startswith("Test") or name.endswith(("Test", "Tests", "TestCase")) or \
        any("TestCase" in b for b in c.bases) or \
        sum(m.name.startswith("test") for m in c.methods) > max(1, len(c.methods)) / 2


class _Merging:
    """One class while the summaries are read: later files add bases, fields and methods."""

    def __init__(self, c: ClassInfo) -> None:
        self.first = c
        self.bases = list(c.bases)
        self.fields = list(c.fields)
        self.methods = list(c.methods)
        self.abstract = c.abstract
        self.private_ctor = c.private_ctor
        self.placed = c  # where the class is defined (a partial class takes the full definition's place)

    def merge(self, c: ClassInfo) -> None:
        self.bases.extend(b for b in c.bases if b not in self.bases)
        have_f = {f.name for f in self.fields}
        self.fields.extend(f for f in c.fields if f.name not in have_f)
        have_m = {m.name for m in self.methods if not m.empty}
        self.methods.extend(m for m in c.methods if m.name not in have_m)
        self.abstract = self.abstract or c.abstract
        self.private_ctor = self.private_ctor or c.private_ctor
        if self.placed.partial and not c.partial:
            self.placed = c

    def freeze(self, bases: tuple[str, ...]) -> ClassInfo:
        p = self.placed
        return self.first.model_copy(update={
            "bases": bases, "fields": tuple(self.fields), "methods": tuple(self.methods), "abstract": self.abstract,
            "private_ctor": self.private_ctor, "kind": p.kind, "line": p.line, "end_line": p.end_line,
            "partial": p.partial})


def _aliased(m: MethodInfo, aliases: dict[str, str]) -> MethodInfo:
    """``m`` with the properties in ``aliases`` read as the fields behind them."""
    return m.model_copy(update={
        "calls": tuple(Call(alias_value(c.recv, aliases), c.method, c.flags, tuple(alias_value(a, aliases) for a in c.args))
                       for c in m.calls),
        "writes": tuple(Write(alias_value(w.target, aliases), alias_value(w.value, aliases), w.flags) for w in m.writes),
        "rets": tuple(alias_value(r, aliases) for r in m.rets)})
