"""GoF design patterns detected from code structure (any language with a structural summary).

:func:`summarize_structure` turns one code document into a language-neutral ``dict`` (see
:mod:`.structure`: classes, bases, fields and their types, methods with what they create, call,
write and return, constructor visibility, static fields). :func:`detect_design_patterns` reads a
*list* of such summaries: a stateful stage can keep the summaries of every file of a ``set_id`` and
call it on all of them, so patterns whose classes live in different files are found too (the
extractor itself calls it on the one document it sees). Summaries are plain JSON-serialisable dicts.

The detectors key on structure — inheritance, composition (field types, collections of a supertype),
who creates whom, delegation to fields, private constructors and static instances, what a method
returns — and only add a little confidence for conventional names. Each detection names its roles;
:func:`annotate` turns detections into ``gof:<pattern>`` tags on the participating class records plus
one ``design_pattern`` record per detection (key ``design_pattern:<pattern>:<sorted participants>``).

==========================  =====================================================================
pattern                     structure it keys on
==========================  =====================================================================
singleton                   static field of the own type (or a module/package variable) handed out by
                            a static accessor / ``__new__``; private constructor; lazy creation;
                            metaclass ``__call__`` caching instances; shared-state (Borg)
factory_method              abstract/overridable creator method whose overrides create and return
                            different products of one product family; parameterised factories
abstract_factory            abstract factory with ≥2 creation methods for different product families,
                            implemented by concrete factories creating concrete products
builder                     fluent setters returning ``this`` plus a method building another type from
                            the builder's state; or an abstract builder whose concrete builder assembles
                            a product field step by step (optionally driven by a director)
prototype                   a method returning a copy of ``self`` (copy constructor, ``super.clone()``,
                            ``copy.copy(self)``, ``type(self)(…)``) declared polymorphically / Cloneable
adapter                     implements a target type and delegates its methods to a field of an
                            unrelated type under different names (object adapter) or to an inherited
                            concrete class (class adapter)
bridge                      abstraction hierarchy holding an injected implementor interface with several
                            implementations and delegating to it
composite                   collection field of a supertype (or filled from ``add(child)``) whose
                            elements get the same operation the composite is asked to do; leaf siblings
decorator                   subtype of a component that wraps an injected component of that same type and
                            forwards the same operation, usually with subclasses adding behaviour
facade                      one class creating/holding several unrelated subsystem classes and
                            orchestrating calls into them
flyweight                   keyed pool (map field) that creates instances only when missing and returns
                            the shared ones
proxy                       same interface as a real subject it creates itself (lazily) or guards
                            (conditional forwarding); dynamic ``__getattr__`` forwarding
chain_of_responsibility     handler holding a successor of its own type, set via constructor/setter,
                            forwarding the same request conditionally; several concrete handlers
command                     small command interface implemented by classes that hold a receiver and
                            invoke it; invokers storing commands and calling the command method
interpreter                 expression hierarchy: non-terminals holding child expressions and
                            evaluating them recursively with the same method; terminals without
iterator                    iteration protocol (``hasNext``/``next``, ``__next__``, ``Iterator`` impls,
                            ``operator++``) plus an aggregate creating its iterator
mediator                    colleagues holding a reference to a mediator they call (passing themselves)
                            while the mediator holds and calls the colleagues
memento                     originator creating a state object from its own fields and restoring its
                            fields from one; a caretaker keeping them
observer                    subject registering listeners into a collection (add/remove) and notifying
                            them in a loop with a statement call (or calling callbacks)
state                       context delegating to a state field of an abstract type whose concrete
                            states switch the context to other states
strategy                    context delegating to an injected/settable field of an abstract type with
                            several interchangeable implementations (no transitions)
template_method             concrete method in an abstract class calling ≥2 primitive operations that
                            are abstract or overridden by subclasses
visitor                     elements whose ``accept(v)`` calls back ``v.<op>(this)`` (double dispatch)
                            on a visitor family with one operation per element type
==========================  =====================================================================

>>> from schemas.documents import Document
>>> src = '''
... class Config:
...     _instance = None
...     def __new__(cls):
...         if cls._instance is None:
...             cls._instance = super().__new__(cls)
...         return cls._instance
... '''
>>> [(d.pattern, d.roles["singleton"]) for d in detect_design_patterns([summarize_structure(
...     Document(id="d", type="code", content=src, version="v", language="python"))])]
[('singleton', ['Config'])]
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from processors.patterns._common import KeyDeduper, record
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["GOF_PATTERNS", "REPORT_MIN", "Detection", "annotate", "detect_design_patterns", "summarize_structure"]

REPORT_MIN = 0.5
MAX_CLASSES = 1200  # per detection call; more than this is cut (keeps detection bounded and deterministic)
MAX_SUBS = 60  # subclasses followed when looking for delegation/injection in a hierarchy

GOF_PATTERNS: dict[str, tuple[str, str]] = {
    "singleton": ("creational", "ensures a class has one instance and a global access point to it"),
    "factory_method": ("creational", "lets subclasses decide which product class to instantiate"),
    "abstract_factory": ("creational", "creates families of related products without naming concrete classes"),
    "builder": ("creational", "separates building a complex object step by step from its representation"),
    "prototype": ("creational", "creates new objects by copying an existing instance"),
    "adapter": ("structural", "converts the interface of a class into the interface clients expect"),
    "bridge": ("structural", "decouples an abstraction from its implementation so both vary independently"),
    "composite": ("structural", "composes objects into trees and treats leaves and groups uniformly"),
    "decorator": ("structural", "attaches responsibilities to an object dynamically by wrapping it"),
    "facade": ("structural", "provides one simple interface to a set of subsystem classes"),
    "flyweight": ("structural", "shares fine-grained instances through a keyed pool"),
    "proxy": ("structural", "provides a surrogate that controls access to a real subject"),
    "chain_of_responsibility": ("behavioral", "passes a request along a chain of handlers until one handles it"),
    "command": ("behavioral", "encapsulates a request as an object with a receiver"),
    "interpreter": ("behavioral", "evaluates sentences of a grammar with one class per rule"),
    "iterator": ("behavioral", "accesses elements of an aggregate sequentially without exposing it"),
    "mediator": ("behavioral", "centralises communication between colleague objects"),
    "memento": ("behavioral", "captures and restores an object's internal state"),
    "observer": ("behavioral", "notifies registered dependents when a subject changes"),
    "state": ("behavioral", "lets an object change behaviour when its internal state object changes"),
    "strategy": ("behavioral", "makes a family of algorithms interchangeable behind one interface"),
    "template_method": ("behavioral", "defines an algorithm skeleton whose steps subclasses override"),
    "visitor": ("behavioral", "adds operations to an element hierarchy via double dispatch"),
}

_GENERIC_METHODS = frozenset({
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
_LIFECYCLE = frozenset({
    "close", "join", "terminate", "start", "stop", "cancel", "wait", "flush", "read", "write", "seek", "tell",
    "fileno", "send", "recv", "connect", "shutdown", "reset", "clear", "kill", "is_alive", "poll", "acquire",
    "release", "open", "readline", "readlines", "seekable", "readable", "writable", "isatty", "__enter__",
    "__exit__", "__del__", "dispose", "destroy", "cleanup", "setup", "teardown", "setUp", "tearDown", "Close",
    "Read", "Write", "Flush", "readinto", "truncate", "detach", "closed", "sendall", "settimeout", "gettimeout",
    "setblocking", "getvalue", "drain", "abort", "pause", "resume", "dispose", "free",
})
_NOT_SUBSYSTEM = frozenset({"String", "Object", "List", "Map", "Set", "Optional", "Exception", "Error"})
_ITER_PROTOCOL_BASES = frozenset({"Iterator", "ListIterator", "Enumeration", "IEnumerator", "Iterable",
                                  "IterableIterator", "AsyncIterator", "Spliterator"})


# --------------------------------------------------------------------------- detection result

@dataclass
class Detection:
    """One detected pattern instance: roles map role names to class (or ``Class.member``) names."""

    pattern: str
    confidence: float
    roles: dict[str, list[str]]
    evidence: list[str] = field(default_factory=list)

    @property
    def participants(self) -> list[str]:
        """Class names taking part (member references ``Class.member`` count as their class)."""
        out: list[str] = []
        for names in self.roles.values():
            for n in names:
                c = n.split(".", 1)[0] if "." in n else n
                if c not in out:
                    out.append(c)
        return out

    @property
    def key(self) -> str:
        return f"design_pattern:{self.pattern}:{','.join(sorted(self.participants))}"

    def tag(self) -> PatternTag:
        ev = [f"{role}: {', '.join(names)}" for role, names in self.roles.items() if names]
        return PatternTag(name=f"gof:{self.pattern}", confidence=round(min(1.0, max(0.0, self.confidence)), 2),
                          evidence=(ev + self.evidence)[:12])

    def describe(self) -> str:
        category, intent = GOF_PATTERNS.get(self.pattern, ("", ""))
        title = self.pattern.replace("_", " ").title()
        lines = [f"Design pattern: {title} ({category}) — {intent}."]
        for role, names in self.roles.items():
            if names:
                lines.append(f"{role.replace('_', ' ')}: {', '.join(names)}")
        lines.extend(self.evidence)
        lines.append(f"confidence {self.confidence:.2f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "confidence": round(self.confidence, 3), "roles": self.roles,
                "participants": self.participants, "evidence": self.evidence, "key": self.key}


# --------------------------------------------------------------------------- summaries

def summarize_structure(doc: Document) -> dict[str, Any] | None:
    """Structural summary (``dict``) of a code document; ``None`` when its language is not supported or
    it does not parse at all. Python uses ``ast``; other languages tree-sitter."""
    from processors.patterns import python_structure, treesitter_code

    lang = (doc.language or "").lower()
    uri = (doc.uri or "").lower()
    if lang in ("python", "py", "python3") or uri.endswith((".py", ".pyi", ".pyw")):
        try:
            tree = ast.parse(doc.content)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return python_structure.summarize(tree, uri=doc.uri, doc_id=doc.id)
    try:
        parsed = treesitter_code.parse_document(doc)
    except Exception:  # pragma: no cover - parse_document is defensive; never fail a summary request
        return None
    return parsed.summary if parsed is not None else None


class _Index:
    """Classes of one or more summaries, by simple name, with hierarchy and inferred field types."""

    def __init__(self, summaries: Iterable[dict[str, Any]]) -> None:
        self.classes: dict[str, dict[str, Any]] = {}
        self.lang: dict[str, str] = {}
        self.functions: list[dict[str, Any]] = []
        self.globals: dict[str, dict[str, Any]] = {}
        for s in summaries:
            if not isinstance(s, dict):
                continue
            lang = s.get("language") or ""
            for c in s.get("classes") or []:
                if len(self.classes) >= MAX_CLASSES:
                    break
                name = c.get("name")
                if not name:
                    continue
                prev = self.classes.get(name)
                if prev is None:
                    self.classes[name] = dict(c, methods=list(c.get("methods") or []), fields=list(c.get("fields") or []),
                                              bases=list(c.get("bases") or []))
                    self.lang[name] = lang
                else:  # same name in another file (partial class / Go methods / C++ header + source): merge
                    for b in c.get("bases") or []:
                        if b not in prev["bases"]:
                            prev["bases"].append(b)
                    have_f = {f["name"] for f in prev["fields"]}
                    prev["fields"].extend(f for f in c.get("fields") or [] if f["name"] not in have_f)
                    have_m = {m["name"] for m in prev["methods"] if not m.get("empty")}
                    prev["methods"].extend(m for m in c.get("methods") or [] if m["name"] not in have_m)
                    prev["abstract"] = prev.get("abstract") or c.get("abstract")
                    prev["private_ctor"] = prev.get("private_ctor") or c.get("private_ctor")
                    if prev.get("partial") and not c.get("partial"):
                        prev.update(kind=c.get("kind"), line=c.get("line"), end_line=c.get("end_line"))
                        prev.pop("partial", None)
            for fn in s.get("functions") or []:
                self.functions.append(fn)
            for g in s.get("globals") or []:
                self.globals.setdefault(g["name"], g)
        self.children: dict[str, set[str]] = defaultdict(set)
        for name, c in self.classes.items():
            c["bases"] = [b for b in c["bases"] if b != name]
            for b in c["bases"]:
                self.children[b].add(name)
        self._go_implicit_interfaces()
        self._subs: dict[str, set[str]] = {}
        self._supers: dict[str, set[str]] = {}
        self._family: dict[str, frozenset[str]] = {}
        self._concrete: dict[str, list[str]] = {}
        self._inherit_property_aliases()
        self.methods: dict[str, dict[str, dict[str, Any]]] = {
            n: {m["name"]: m for m in c["methods"]} for n, c in self.classes.items()}
        self.fields: dict[str, dict[str, dict[str, Any]]] = {
            n: {f["name"]: f for f in c["fields"]} for n, c in self.classes.items()}
        self.ftype: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
        self.ptype: dict[tuple[str, str, str], str] = {}
        self.method_owners: dict[str, set[str]] = defaultdict(set)
        for n, ms in self.methods.items():
            for mn in ms:
                self.method_owners[mn].add(n)
        self.creators: dict[str, set[str]] = defaultdict(set)  # class → classes creating it
        for n, c in self.classes.items():
            for m in c["methods"]:
                for t in m.get("creates") or []:
                    self.creators[t].add(n)
        for fn in self.functions:
            for t in fn.get("creates") or []:
                self.creators[t].add("<function>")
        self.inits: dict[tuple[str, str], set[str]] = defaultdict(set)  # struct-literal field values
        for _owner, m in _all_methods(self):
            for target, value, _flags in m.get("writes") or []:
                if target.startswith("i:") and "." in target:
                    t, f = target[2:].split(".", 1)
                    self.inits[(t, f)].add(value)
        self._infer_types()

    # ------------------------------------------------------------------ hierarchy
    def _inherit_property_aliases(self) -> None:
        """Python properties of a base class (``self.mediator`` → ``self._mediator``) used in subclasses."""
        if not any(c.get("property_fields") for c in self.classes.values()):
            return
        from processors.patterns.python_structure import _alias

        for name, c in self.classes.items():
            aliases: dict[str, str] = {}
            for s in self.supers(name):
                aliases.update({k: v for k, v in (self.classes.get(s, {}).get("property_fields") or {}).items() if k not in aliases})
            own = c.get("property_fields") or {}
            aliases = {k: v for k, v in aliases.items() if k not in own}
            if not aliases:
                continue
            new_methods = []
            for m in c["methods"]:
                m = dict(m)
                m["calls"] = [[_alias(x[0], aliases), x[1], x[2], [_alias(a, aliases) for a in x[3]]] for x in m.get("calls") or []]
                m["writes"] = [[_alias(w[0], aliases), _alias(w[1], aliases), w[2]] for w in m.get("writes") or []]
                m["rets"] = [_alias(r, aliases) for r in m.get("rets") or []]
                new_methods.append(m)
            c["methods"] = new_methods
        self._supers.clear()

    def _go_implicit_interfaces(self) -> None:
        ifaces = {n: {m["name"] for m in c["methods"]} for n, c in self.classes.items()
                  if c.get("kind") == "interface" and self.lang.get(n) == "go" and c["methods"]}
        if not ifaces:
            return
        for n, c in self.classes.items():
            if self.lang.get(n) != "go" or c.get("kind") == "interface":
                continue
            have = {m["name"] for m in c["methods"]}
            for i, need in ifaces.items():
                if need <= have and i not in c["bases"]:
                    c["bases"].append(i)
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
            stack = list(self.classes.get(name, {}).get("bases", []))
            while stack and len(out) < 100:
                s = stack.pop()
                if s not in out and s != name:
                    out.add(s)
                    stack.extend(self.classes.get(s, {}).get("bases", []))
            self._supers[name] = out
        return self._supers[name]

    def related(self, a: str, b: str) -> bool:
        return a == b or b in self.supers(a) or a in self.supers(b)

    def is_abstract(self, name: str | None) -> bool:
        c = self.classes.get(name or "")
        return bool(c) and (bool(c.get("abstract")) or c.get("kind") in ("interface", "trait", "protocol"))

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

    def method(self, cls: str, name: str) -> dict[str, Any] | None:
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
                      and not self.methods[s][mname].get("abstract"))

    def field(self, cls: str, fname: str) -> dict[str, Any] | None:
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

    def pclass(self, cls: str, m: dict[str, Any], pname: str) -> str | None:
        for p in m.get("params") or []:
            if p[0] == pname:
                t = p[2] or p[1]
                if t in self.classes:
                    return t
        t = self.ptype.get((cls, m["name"], pname))
        return t if t in self.classes else None

    def family(self, name: str) -> set[str]:
        fam = self._family.get(name)
        if fam is None:
            fam = self._family[name] = frozenset({name} | self.subs(name))
        return fam  # type: ignore[return-value]

    # ------------------------------------------------------------------ type inference
    def _owner_of_methods(self, names: set[str]) -> str | None:
        """The most general known class defining every method in ``names`` (one family only)."""
        names = {n for n in names if n and n not in _GENERIC_METHODS and n not in _LIFECYCLE and not n.startswith("=")}
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

    def _infer_types(self) -> None:
        self.inferred: set[tuple[str, str]] = set()  # fields typed from how they are used (a guess)
        for n, c in self.classes.items():
            usage: dict[str, set[str]] = defaultdict(set)
            elem_usage: dict[str, set[str]] = defaultdict(set)
            created: dict[str, set[str]] = defaultdict(set)
            pusage: dict[tuple[str, str], set[str]] = defaultdict(set)
            for m in c["methods"]:
                ptypes = {p[0]: (p[2] or p[1]) for p in m.get("params") or []}
                for recv, meth, _flags, _args in m.get("calls") or []:
                    if recv.startswith("f:"):
                        usage[recv[2:]].add(meth)
                    elif recv.startswith(("e:", "k:")):
                        elem_usage[recv[2:]].add(meth)
                    elif recv.startswith("p:"):
                        pusage[(m["name"], recv[2:])].add(meth)
                for target, value, flags in m.get("writes") or []:
                    if target.startswith("f:") and value.startswith("n:") and value != "n:*":
                        created[target[2:]].add(value[2:])
                    elif target.startswith("f:") and value.startswith("p:") and ptypes.get(value[2:]) in self.classes \
                            and "a" not in flags and "m" not in flags:
                        created[target[2:]].add(ptypes[value[2:]])
            for fname, f in self.fields.get(n, {}).items():
                t, elem, coll = f.get("type"), f.get("elem"), f.get("coll")
                if f.get("type_src") == "infer" and not coll:
                    t = None  # a guess from one assignment: recompute from every assignment below
                if coll and not elem:
                    if created.get(fname) and len(created[fname] & set(self.classes)) >= 1:
                        elem = _common_base(self, created[fname] & set(self.classes))
                    if not elem:
                        elem = self._owner_of_methods(elem_usage.get(fname, set()))
                elif not coll and not t:  # untyped (dynamic languages): infer from use
                    kinds = created.get(fname, set()) & set(self.classes)
                    if kinds:
                        t = _common_base(self, kinds) if len(kinds) > 1 else next(iter(kinds))
                        if len(kinds) > 1 and not t:
                            t = next(iter(sorted(kinds)))
                    if (not t or t not in self.classes) and usage.get(fname):
                        guess = self._owner_of_methods(usage[fname])
                        if guess:
                            self.inferred.add((n, fname))
                        t = guess or t
                    if (not t or t not in self.classes):
                        guess = _name_match(self, fname)
                        if guess:
                            self.inferred.add((n, fname))
                            t = guess
                self.ftype[(n, fname)] = (t, elem, coll)
            for (mname, pname), meths in pusage.items():
                guess = self._owner_of_methods(meths)
                if guess is None:
                    guess = _name_match(self, pname)
                if guess:
                    self.ptype[(n, mname, pname)] = guess


def _name_match(ix: _Index, name: str) -> str | None:
    """A known class whose name is the field/parameter name (``_mediator`` → ``Mediator``)."""
    key = name.strip("_").replace("_", "").lower()
    if len(key) < 4:
        return None
    hits = [c for c in ix.classes if c.lower() == key]
    return hits[0] if len(hits) == 1 else None


def _common_base(ix: _Index, names: set[str]) -> str | None:
    names = set(names)
    if len(names) == 1:
        return next(iter(names))
    common: set[str] | None = None
    for n in names:
        s = ix.supers(n) | {n}
        common = s if common is None else common & s
    common = {c for c in (common or ()) if c in ix.classes}
    if not common:
        return None
    # the most specific common base
    best = [c for c in common if not (ix.subs(c) & common)]
    return sorted(best)[0] if best else None


def _calls(m: dict[str, Any]) -> list[list]:
    return m.get("calls") or []


def _public(m: dict[str, Any]) -> bool:
    return m.get("visibility") not in ("private",) and not m.get("synthetic")


def _real_methods(c: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in c["methods"] if not m.get("synthetic")]


def _hint(names: Iterable[str], words: tuple[str, ...]) -> bool:
    blob = " ".join(names).lower()
    return any(w in blob for w in words)


# --------------------------------------------------------------------------- detectors

def _singleton(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        methods = c["methods"]
        if c.get("kind") == "enum":
            if len(c.get("enum_constants") or []) == 1 and (len(_real_methods(c)) >= 1 or c["fields"]):
                const = c["enum_constants"][0]
                out.append(Detection("singleton", 0.7 + (0.1 if const.upper() == "INSTANCE" else 0.0),
                                     {"singleton": [name]}, [f"enum with a single constant {const}"]))
            continue
        if c.get("is_metaclass"):
            call = ix.methods.get(name, {}).get("__call__")
            if call is not None and any("m" in w[2] and w[1] == "n:*" for w in call.get("writes") or []):
                users = sorted(n for n, k in ix.classes.items() if k.get("metaclass") == name)
                out.append(Detection("singleton", 0.85, {"singleton_metaclass": [name], "singleton": users},
                                     [f"{name}.__call__ caches one instance per class"]))
            continue
        static_self = [f for f in c["fields"] if f.get("static") and (f.get("type") == name or (f.get("elem") == name and not f.get("coll")))]
        written_self = {w[0][2:] for m in methods for w in m.get("writes") or []
                        if w[0].startswith("f:") and w[1] == "n:" + name and "m" not in w[2] and "a" not in w[2]}
        cand = [f["name"] for f in static_self]
        cand += [f["name"] for f in c["fields"] if f.get("static") and f["name"] in written_self and f["name"] not in cand]
        shared = [m for m in methods if any(w[0] == "f:__dict__" and w[1].startswith("f:") for w in m.get("writes") or [])]
        if shared:
            src = next(w[1][2:] for m in shared for w in m["writes"] if w[0] == "f:__dict__")
            sf = ix.fields.get(name, {}).get(src)
            if sf is not None and sf.get("static"):
                out.append(Detection("singleton", 0.6, {"singleton": [name]},
                                     [f"instances share class-level state {src} (Borg / monostate)"]))
                continue
        if not cand:
            # holder idiom: a static accessor returning a static field of a nested/helper class typed as us
            for m in methods:
                if not m.get("static") or m.get("ctor"):
                    continue
                for r in m.get("rets") or []:
                    if not r.startswith("s:"):
                        continue
                    holder, _, hf = r[2:].partition(".")
                    hfield = ix.fields.get(holder, {}).get(hf)
                    if hfield and hfield.get("static") and hfield.get("type") == name:
                        score = 0.6 + (0.3 if c.get("private_ctor") else 0) + (0.05 if (hfield.get("init") or "") == "n:" + name else 0)
                        out.append(Detection("singleton", min(score, 0.95), {
                            "singleton": [name], "instance": [f"{holder}.{hf}"], "accessor": [f"{name}.{m['name']}"]},
                            [f"{m['name']}() returns {holder}.{hf}, a static {name} held by {holder} (holder idiom)"]
                            + (["private constructor"] if c.get("private_ctor") else [])))
                        break
                else:
                    continue
                break
            continue
        if len(static_self) > 1 and not c.get("private_ctor"):
            continue  # several constants of the own type (Color.RED, Color.GREEN): not a singleton
        fname = cand[0]
        ref = "f:" + fname
        accessors = [m for m in methods if (m.get("static") or m["name"] == "__new__") and not m.get("ctor") and (
            ref in (m.get("rets") or []) or ("r:" + ref) in (m.get("rets") or []) or (
                ("n:" + name) in (m.get("rets") or []) and any(w[0] == ref and w[1] == "n:" + name for w in m.get("writes") or [])))]
        lazy = any(w[0] == ref and w[1] == "n:" + name and "c" in w[2] for m in methods for w in m.get("writes") or [])
        fdict = ix.fields[name][fname]
        eager = (fdict.get("init") or "") == "n:" + name or any(
            w[0] == ref and w[1] == "n:" + name for m in methods if m.get("synthetic") for w in m.get("writes") or [])
        new_control = any(m["name"] == "__new__" for m in accessors)
        outside = {k for k in ix.creators.get(name, set()) if k != name and k != "<function>"}
        score = 0.0
        ev = [f"static field {fname} holds the only {name}"]
        if accessors:
            score += 0.45
            ev.append(f"accessor {accessors[0]['name']}() returns it")
        elif eager and fdict.get("visibility") == "public":
            score += 0.3
            ev.append(f"eagerly initialised public static {fname}")
        if c.get("private_ctor"):
            score += 0.3
            ev.append("private constructor")
        elif new_control:
            score += 0.3
            ev.append("__new__ returns the cached instance")
        if lazy:
            score += 0.1
            ev.append("created lazily on first access")
        if _hint([name, fname], ("singleton", "instance")):
            score += 0.05
        if outside:
            score -= 0.3
            ev.append("but also created by " + ", ".join(sorted(outside)))
        if score >= REPORT_MIN:
            roles = {"singleton": [name], "instance": [f"{name}.{fname}"]}
            if accessors:
                roles["accessor"] = [f"{name}.{accessors[0]['name']}"]
            out.append(Detection("singleton", min(score, 0.97), roles, ev))
    # module / package level: a global instance handed out by a function (Go sync.Once, Rust OnceLock, Python)
    for g_name, g in ix.globals.items():
        t = g.get("type") if not g.get("coll") else None
        creating = [fn for fn in ix.functions if any(w[0] == "g:" + g_name and w[1].startswith("n:") for w in fn.get("writes") or [])]
        if t not in ix.classes:
            kinds = {w[1][2:] for fn in creating for w in fn.get("writes") or [] if w[0] == "g:" + g_name and w[1].startswith("n:")}
            t = next(iter(kinds)) if len(kinds) == 1 else None
            if (g.get("init") or "").startswith("n:") and g["init"][2:] in ix.classes:
                t = g["init"][2:]
        if t not in ix.classes:
            continue
        getters = [fn for fn in ix.functions if ("g:" + g_name) in (fn.get("rets") or []) or ("r:g:" + g_name) in (fn.get("rets") or [])]
        if not getters:
            continue
        lazy = any("c" in w[2] or "l" in w[2] for fn in creating for w in fn.get("writes") or [] if w[0] == "g:" + g_name) or any(
            c[0] == "g:" + g_name or c[1] == "Do" for fn in getters for c in _calls(fn))
        outside = {k for k in ix.creators.get(t, set()) if k != "<function>"}
        score = 0.55 + (0.15 if lazy or creating else 0.0) + (0.05 if _hint([g_name], ("instance", "singleton")) else 0)
        if outside:
            score -= 0.3
        if score >= REPORT_MIN:
            out.append(Detection("singleton", score, {"singleton": [t], "accessor": [getters[0]["name"]]},
                                 [f"module-level {g_name} holds the single {t}, returned by {getters[0]['name']}()"]))
    return out


def _returned_new(m: dict[str, Any]) -> set[str]:
    """Types a method creates and returns (directly, or via a local it returns)."""
    rets = m.get("rets") or []
    return {r[2:] for r in rets if r.startswith("n:") and r != "n:*"}


def _factories(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        subs = ix.subs(name)
        if not subs and not ix.is_abstract(name):
            continue
        fm_methods: list[tuple[str, dict[str, list[str]], str | None]] = []
        for m in c["methods"]:
            if m.get("ctor") or m.get("synthetic") or m["name"].startswith("__") and m["name"] != "__call__":
                continue
            if not (m.get("abstract") or m.get("empty") or subs):
                continue
            product = m.get("returns") if m.get("returns") in ix.classes else None
            impls: dict[str, list[str]] = {}
            for s in sorted(subs):
                sm = ix.methods.get(s, {}).get(m["name"])
                if sm is None or sm.get("abstract"):
                    continue
                made = {t for t in _returned_new(sm) if t in ix.classes and t != s and t not in ix.family(name)}
                if product:
                    made = {t for t in made if t == product or product in ix.supers(t)}
                if made:
                    impls[s] = sorted(made)
            if not impls:
                continue
            if not product:
                allp = {t for ts in impls.values() for t in ts}
                base = _common_base(ix, allp) if len(allp) > 1 else None
                if len(allp) > 1 and not base:
                    continue
                product = base or next(iter(allp))
            fm_methods.append((m["name"], impls, product))
        if not fm_methods:
            continue
        families = {p for _, _, p in fm_methods}
        if len(fm_methods) >= 2 and len(families) >= 2:
            creators = sorted({s for _, impls, _ in fm_methods for s in impls})
            score = 0.6 + (0.15 if len(creators) >= 2 else 0) + (0.1 if all(ix.polymorphic(p) or ix.subs(p) for p in families) else 0) \
                + (0.1 if ix.is_abstract(name) else 0) + (0.03 if _hint([name], ("factory",)) else 0)
            out.append(Detection("abstract_factory", min(score, 0.95), {
                "abstract_factory": [name], "concrete_factory": creators,
                "abstract_product": sorted(families),
                "concrete_product": sorted({t for _, impls, _ in fm_methods for ts in impls.values() for t in ts})},
                [f"{len(fm_methods)} creation methods: " + ", ".join(n for n, _, _ in fm_methods)]))
            continue
        for mname, impls, product in fm_methods:
            creators = sorted(impls)
            made = sorted({t for ts in impls.values() for t in ts})
            used = any(mname == call[1] and call[0] == "self" for m in c["methods"] if m["name"] != mname for call in _calls(m))
            if len(creators) < 2 and not used:
                continue  # one implementation returning a new object, never used polymorphically: too weak
            score = 0.55 + (0.15 if len(creators) >= 2 and len(made) >= 2 else 0) + (0.1 if used else 0) \
                + (0.1 if ix.is_abstract(name) and ix.is_abstract(product) else (0.05 if ix.is_abstract(name) else 0)) \
                + (0.05 if _hint([mname], ("create", "make", "factory", "new", "build", "produce", "manufacture")) else 0)
            ev = [f"{mname}() overridden by {', '.join(creators)} creating {', '.join(made)}"]
            if used:
                ev.append(f"{name} uses {mname}() in its own operations")
            out.append(Detection("factory_method", min(score, 0.95), {
                "creator": [name], "concrete_creator": creators, "factory_method": [f"{name}.{mname}"],
                "product": [product] if product else [], "concrete_product": made}, ev))
    # parameterised (static) factory: one method creating several products of one family
    for owner, m in _all_methods(ix):
        if m.get("ctor") or m.get("synthetic"):
            continue
        made = {t for t in _returned_new(m) if t in ix.classes}
        if len(made) < 2 or (owner and owner in made):
            continue
        base = m.get("returns") if m.get("returns") in ix.classes else _common_base(ix, made)
        duck = False
        if not base:  # no common base class: products sharing an interface by duck typing
            common = None
            for t in made:
                names = {x["name"] for x in ix.classes[t]["methods"] if _public(x) and not x.get("ctor")} - _GENERIC_METHODS
                common = names if common is None else common & names
            if not common:
                continue
            base, duck = "/".join(sorted(common)[:2]) + "()", True
        elif base in made or not all(base in ix.supers(t) for t in made):
            continue
        if owner and not duck and (owner in ix.family(base)):
            continue
        cond = any("c" in c[2] for c in _calls(m)) or len(m.get("rets") or []) >= 2
        if not cond:
            continue
        where = f"{owner}.{m['name']}" if owner else m["name"]
        roles = {"creator": [owner] if owner else [], "factory_method": [where], "product": [base], "concrete_product": sorted(made)}
        out.append(Detection("factory_method", 0.55 + (0.05 if _hint([m["name"], owner or ""], ("factory", "create", "make")) else 0),
                             roles, [f"{where}() chooses which {base} to create ({', '.join(sorted(made))})"]))
    return out


def _all_methods(ix: _Index) -> Iterable[tuple[str | None, dict[str, Any]]]:
    for name, c in ix.classes.items():
        for m in c["methods"]:
            yield name, m
    for fn in ix.functions:
        yield None, fn


def _builder(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        methods = _real_methods(c)
        fluent = [m for m in methods if not m.get("ctor") and "self" in (m.get("rets") or []) and
                  any(w[0].startswith(("f:", "fa:")) for w in m.get("writes") or []) or
                  (not m.get("ctor") and "self" in (m.get("rets") or []) and any(
                      cl[0].startswith("f:") and cl[1] not in _GENERIC_METHODS for cl in _calls(m)))]
        if len(fluent) >= 2:
            builds = []
            for m in methods:
                if m in fluent or m.get("ctor"):
                    continue
                made = {t for t in _returned_new(m) if t != name}
                passes_self = any(t != name and "self" in args for t, args in m.get("news") or [])
                if made:
                    builds.append((m, sorted(made), passes_self))
            if builds:
                m, made, passes_self = builds[0]
                product = made[0]
                nested = product in ix.classes and (c.get("qualname", "").startswith(product + ".") or
                                                   name in {x.split(".")[-1] for x in [c.get("qualname", "")]} and "." in c.get("qualname", ""))
                score = 0.7 + (0.1 if len(fluent) >= 3 else 0) + (0.1 if passes_self or nested else 0) \
                    + (0.05 if _hint([m["name"], name], ("build", "builder", "create", "make")) else 0)
                out.append(Detection("builder", min(score, 0.95), {
                    "builder": [name], "product": [product],
                    "build_method": [f"{name}.{m['name']}"], "steps": [f"{name}.{x['name']}" for x in fluent[:6]]},
                    [f"{len(fluent)} fluent setters return the builder; {m['name']}() creates {product}"]))
                continue
        # classic GoF: a builder assembling a product kept in a (possibly inherited) field, step by step
        if ix.is_abstract(name):
            continue
        lineage = [name, *sorted(s for s in ix.supers(name) if s in ix.classes)]
        product_fields = {fn for k in lineage for fn in ix.fields.get(k, {})}
        for fname in sorted(product_fields):
            ptype = ix.fclass(name, fname)
            if not ptype or ptype == name or ix.related(ptype, name):
                continue
            ref = "f:" + fname
            created_here = any(w[0] == ref and w[1] == "n:" + ptype for k in lineage for m in ix.classes[k]["methods"]
                               for w in m.get("writes") or [])
            if not created_here:
                continue
            getter = [m for k in lineage for m in ix.classes[k]["methods"] if ref in (m.get("rets") or []) and not m.get("ctor")]
            steps = [m for m in methods if not m.get("ctor") and m not in getter and (
                any(cl[0] == ref and cl[1] not in _GENERIC_METHODS - {"add", "append", "set", "put"} for cl in _calls(m)) or
                any(w[0] == "fa:" + fname for w in m.get("writes") or []))]
            if len(steps) < 2:
                continue
            step_names = {m["name"] for m in steps}
            abstract_builders = [s for s in ix.supers(name) if ix.is_abstract(s) and
                                 len(step_names & set(ix.methods.get(s, {}))) >= 2]
            targets = {name, *lineage, *abstract_builders}
            directors = []
            for dn, dc in ix.classes.items():
                if dn in targets or dn in ix.family(name):
                    continue
                bfields = [fn for fn in ix.fields.get(dn, {}) if ix.fclass(dn, fn) in targets]
                for m in dc["methods"]:
                    recvs = {"f:" + b for b in bfields} | {"p:" + p[0] for p in m.get("params") or [] if (p[1] in targets or ix.pclass(dn, m, p[0]) in targets)}
                    called = {cl[1] for cl in _calls(m) if cl[0] in recvs} & step_names
                    if len(called) >= 2:
                        directors.append(dn)
                        break
            if not getter and not directors:
                continue
            if not abstract_builders and not directors:
                continue
            score = 0.6 + (0.15 if directors else 0) + (0.1 if abstract_builders else 0) + (0.05 if getter else 0) \
                + (0.05 if abstract_builders and len(ix.concrete_subs(abstract_builders[0])) >= 2 else 0) \
                + (0.05 if _hint([name], ("builder",)) else 0)
            roles = {"builder": abstract_builders[:1] or [name], "concrete_builder": [name], "product": [ptype],
                     "director": sorted(set(directors))}
            out.append(Detection("builder", min(score, 0.95), roles,
                                 [f"{name} assembles a {ptype} in steps {', '.join(sorted(step_names)[:5])}"
                                  + (f"; {getter[0]['name']}() returns it" if getter else "")
                                  + (f"; directed by {', '.join(sorted(set(directors))[:2])}" if directors else "")]))
            break
    return out


def _prototype(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    found: dict[str, list[str]] = defaultdict(list)  # declaring base → implementing classes
    lone: list[tuple[str, str, float, list[str]]] = []
    for name, c in ix.classes.items():
        for m in c["methods"]:
            if m.get("ctor") or m.get("static"):
                continue
            rets = m.get("rets") or []
            copy_ret = "c" in rets or any(
                r == "n:" + name and any(t == name and ("self" in args or sum(a.startswith("f:") for a in args) >= 1)
                                          for t, args in m.get("news") or []) for r in rets)
            if not copy_ret and any(r.startswith("l:") for r in rets):
                copy_ret = any(t == name and ("self" in args) for t, args in m.get("news") or []) or \
                    any(cl[0] == "super" and cl[1] == "clone" for cl in _calls(m))
            if not copy_ret:
                continue
            decl = [s for s in ix.supers(name) if m["name"] in ix.methods.get(s, {})]
            if decl:
                found[decl[0] + "." + m["name"]].append(name)
            else:
                score = 0.4 + (0.15 if _hint([m["name"]], ("clone", "__copy__", "__deepcopy__", "prototype")) else 0) \
                    + (0.1 if "Cloneable" in c.get("bases", []) or "Clone" in c.get("bases", []) else 0)
                lone.append((name, m["name"], score, [f"{name}.{m['name']}() returns a copy of itself"]))
    for key, impls in found.items():
        base, mname = key.split(".", 1)
        registry = [n for n, c in ix.classes.items() if any(
            ix.fclass(n, f) == base and ix.fcoll(n, f) for f in ix.fields.get(n, {})) and any(
            cl[1] == mname and cl[0].startswith(("e:", "k:", "r:f:", "x")) for m in c["methods"] for cl in _calls(m))]
        score = 0.7 + (0.1 if len(impls) >= 2 else 0) + (0.1 if registry else 0) + (0.05 if _hint([mname], ("clone", "copy")) else 0)
        out.append(Detection("prototype", min(score, 0.95), {"prototype": [base], "concrete_prototype": sorted(impls),
                                                           "clone_method": [key], "registry": registry[:3]},
                             [f"{', '.join(sorted(impls))} implement {mname}() returning a copy of themselves"]))
    for name, mname, score, ev in lone:
        clients = [n for n, c in ix.classes.items() if n != name and any(
            cl[1] == mname for m in c["methods"] for cl in _calls(m) if cl[0].startswith(("f:", "e:", "k:", "p:")))]
        if clients:
            score += 0.1
        if score >= REPORT_MIN:
            out.append(Detection("prototype", score, {"prototype": [name], "clone_method": [f"{name}.{mname}"]}, ev))
    return out


def _delegations(ix: _Index, name: str, fname: str) -> list[tuple[dict[str, Any], list]]:
    """(method, call) pairs where a method of ``name`` (or its subclasses) calls field ``fname``."""
    ref = "f:" + fname
    out = []
    for cls in [name, *sorted(ix.subs(name))[:MAX_SUBS]]:
        for m in ix.classes[cls]["methods"]:
            for cl in _calls(m):
                if cl[0] == ref and not cl[1].startswith("="):
                    out.append((m, cl))
    return out


def _wrappers(ix: _Index) -> list[Detection]:
    """Adapter, decorator, proxy, chain of responsibility, bridge, strategy, state (composition-based)."""
    out: list[Detection] = []
    for name, c in ix.classes.items():
        supers = ix.supers(name)
        for fname, f in ix.fields.get(name, {}).items():
            if f.get("static"):
                continue
            coll = ix.fcoll(name, fname)
            ftype = ix.fclass(name, fname)
            raw_t = ix.ftype.get((name, fname), (None, None, None))[0]
            ref = "f:" + fname
            dels = _delegations(ix, name, fname)
            if not dels or coll:
                continue
            ctor_param = _injected(ix, name, fname)
            setter = [m for m in c["methods"] if not m.get("ctor") and m["name"] not in ("__init__",) and any(
                w[0] == ref and w[1].startswith("p:") for w in m.get("writes") or [])]
            created = sorted({w[1][2:] for m in c["methods"] for w in m.get("writes") or []
                              if w[0] == ref and w[1].startswith("n:") and w[1][2:] in ix.classes})
            guessed = raw_t is None or (ix.field_owner(name, fname) or name, fname) in ix.inferred
            same_name = [(m, cl) for m, cl in dels if cl[1] == m["name"] and not (guessed and cl[1] in _LIFECYCLE)]
            cond_same = [(m, cl) for m, cl in same_name if "c" in cl[2]]
            uncond = [x for x in same_name if "c" not in x[1][2]]
            untyped = raw_t is None
            if ftype is None and raw_t is not None and raw_t in supers and not coll:
                ftype = raw_t  # typed by one of our own (external, not summarised) supertypes: same interface
            in_hier = ftype is not None and (ftype == name or ftype in supers)
            shared = (ix.supers(ftype) & supers) if ftype is not None and not in_hier else set()
            sibling = bool(shared) and ftype != name and name not in ix.supers(ftype)
            # ---- state first: a polymorphic collaborator whose implementations switch the context
            if ftype is not None and ftype != name and ix.polymorphic(ftype) and len(ix.concrete_subs(ftype)) >= 2:
                transitions = _transitions(ix, name, fname, ftype)
                if transitions:
                    impls = ix.concrete_subs(ftype)
                    fam = ix.family(ftype)
                    score = 0.65 + (0.15 if any(t[0] in fam for t in transitions) else 0.05) + (0.1 if len(impls) >= 3 else 0) \
                        + (0.05 if _hint([fname, ftype], ("state",)) else 0)
                    out.append(Detection("state", min(score, 0.95), {
                        "context": [name], "state": [ftype], "concrete_state": [i for i in impls if i != name][:10]},
                        [f"{name} delegates to its {ftype} ({fname}); transitions: " +
                         ", ".join(f"{a}→{b}" for a, b in transitions[:4])]))
                    continue
            # ---- same operation forwarded to a wrapped object of the same interface
            if same_name and (in_hier or sibling or (untyped and supers)):
                if in_hier:
                    handler_base = ftype if in_hier else name
                    handlers = sorted(s for s in ix.family(handler_base) if s != handler_base)
                    if (cond_same or setter) and not created and not (uncond and ctor_param and not cond_same):
                        score = 0.55 + (0.15 if len(handlers) >= 2 else (0.05 if handlers else -0.1)) + (0.15 if cond_same else 0) \
                            + (0.1 if setter else 0) - (0.15 if untyped else 0) \
                            + (0.05 if _hint([fname, same_name[0][0]["name"]], ("next", "successor", "handle", "chain")) else 0)
                        if score >= REPORT_MIN:
                            out.append(Detection("chain_of_responsibility", min(score, 0.95), {
                                "handler": [handler_base], "concrete_handler": handlers[:8],
                                "successor": [f"{ix.field_owner(name, fname) or name}.{fname}"],
                                "request": [same_name[0][0]["name"]]},
                                [f"{name}.{same_name[0][0]['name']}() forwards to {fname}.{same_name[0][1][1]}()"
                                 + (" conditionally" if cond_same else "") + (f"; successor set by {setter[0]['name']}()" if setter else "")]))
                            continue
                component = ftype if in_hier else (sorted(shared)[0] if shared else (sorted(supers)[0] if supers else None))
                if component is None:
                    continue
                real_subject = created[0] if created else (ftype if sibling else None)
                lazy = any("c" in w[2] for m in c["methods"] for w in m.get("writes") or [] if w[0] == ref and w[1].startswith("n:"))
                if real_subject or (cond_same and not ctor_param and not untyped):
                    score = 0.6 + (0.2 if created else 0.1) + (0.1 if cond_same or lazy else 0) \
                        + (0.05 if _hint([name], ("proxy", "surrogate", "lazy", "protect", "cache", "remote", "virtual")) else 0)
                    out.append(Detection("proxy", min(score, 0.95), {
                        "subject": [component], "proxy": [name], "real_subject": [real_subject] if real_subject else []},
                        [f"{name} implements {component} and forwards {', '.join(sorted({m['name'] for m, _ in same_name})[:4])} "
                         f"to {fname}" + (f", creating the {real_subject} itself" + (" lazily" if lazy else "") if created else "")]))
                    continue
                if ctor_param and uncond:
                    decorators = sorted(ix.subs(name))
                    score = 0.6 + (0.15 if in_hier else 0) + (0.1 if decorators or len(ix.subs(component)) >= 3 else 0) \
                        + (0.05 if _hint([name], ("decorator", "wrapper")) else 0)
                    out.append(Detection("decorator", min(score, 0.95), {
                        "component": [component], "decorator": [name], "concrete_decorator": decorators[:8],
                        "concrete_component": [s for s in ix.concrete_subs(component) if s not in ix.family(name)][:6]},
                        [f"{name} is a {component} wrapping an injected {component} ({fname}) and forwards "
                         f"{', '.join(sorted({m['name'] for m, _ in uncond})[:4])}"]))
                    continue
            # ---- adapter: implements a target, delegates under other names to an unrelated adaptee
            known_targets = [s for s in supers if s in ix.classes]
            if known_targets and not in_hier and not sibling and ftype is not None and ftype != name \
                    and (ix.field_owner(name, fname) or name, fname) not in ix.inferred and not _is_test(name, c):
                targets = [s for s in known_targets if ix.is_abstract(s)] or known_targets
                target = targets[0]
                target_methods = ix.all_method_names(target) - {"__init__"}
                own_overrides = [m for m in c["methods"] if not m.get("ctor") and _public(m) and m["name"] in target_methods]
                renamed = [(m, cl) for m, cl in dels if m in own_overrides and cl[1] != m["name"]]
                unrelated = not ix.related(ftype, target)
                adaptee = ftype
                share = len({m["name"] for m, _ in renamed}) / max(1, len(own_overrides))
                if renamed and unrelated and share >= 0.5:
                    score = 0.55 + (0.15 if target in ix.classes and ix.is_abstract(target) and adaptee in ix.classes else 0) \
                        + (0.1 if share >= 0.5 else 0) + (0.05 if ctor_param or created else 0) \
                        + (0.05 if _hint([name, fname], ("adapter", "adaptee", "wrapper")) else 0) \
                        - (0.1 if len(ix.fields.get(name, {})) > 3 else 0)
                    if score >= REPORT_MIN:
                        out.append(Detection("adapter", min(score, 0.95), {
                            "target": [target], "adapter": [name], "adaptee": [adaptee] if adaptee else [f"{name}.{fname}"]},
                            [f"{name}.{m['name']}() → {fname}.{cl[1]}()" for m, cl in renamed[:3]]))
                        continue
            # ---- bridge / strategy: delegation to an injected polymorphic collaborator
            if ftype is None or in_hier or ftype == name or sibling:
                continue
            impls = ix.concrete_subs(ftype)
            if len(impls) < 2:
                continue
            called_ops = {cl[1] for _, cl in dels}
            if not any((ix.method(ftype, op) or {}).get("abstract") or (ix.method(ftype, op) or {}).get("empty")
                       or len(ix.overridden_in(ftype, op)) >= 2 for op in called_ops):
                continue  # the implementations do not vary what the context calls
            injected = ctor_param or bool(setter)
            if not injected:
                continue
            abstraction_family = ix.subs(name)
            if abstraction_family or (ix.is_abstract(name) and ix.field_owner(name, fname) == name):
                score = 0.6 + (0.15 if abstraction_family else 0) + (0.1 if len(impls) >= 2 else 0) \
                    + (0.05 if _hint([fname, ftype, name], ("impl", "bridge", "implementor", "device", "renderer", "platform")) else 0)
                out.append(Detection("bridge", min(score, 0.95), {
                    "abstraction": [name], "refined_abstraction": sorted(abstraction_family)[:8],
                    "implementor": [ftype], "concrete_implementor": impls[:8]},
                    [f"{name} hierarchy delegates to an injected {ftype} ({fname}) with implementations {', '.join(impls[:4])}"]))
                continue
            called = sorted({cl[1] for _, cl in dels})
            score = 0.6 + (0.15 if len(impls) >= 2 else 0) + (0.1 if setter else 0) \
                + (0.05 if _hint([fname, ftype], ("strategy", "policy", "algorithm", "behavior", "behaviour")) else 0)
            out.append(Detection("strategy", min(score, 0.95), {
                "context": [name], "strategy": [ftype], "concrete_strategy": impls[:10]},
                [f"{name} delegates {', '.join(called[:3])} to an interchangeable {ftype} ({fname})"
                 + (f", swappable via {setter[0]['name']}()" if setter else "")]))
        # callable strategy (Python): a function passed in and called
        for fname, f in ix.fields.get(name, {}).items():
            ref = "f:" + fname
            if not _hint([fname], ("strategy", "policy", "algorithm")):
                continue
            if any(cl[0] == ref and cl[1] == "__call__" for m in c["methods"] for cl in _calls(m)) and any(
                    w[0] == ref and w[1].startswith("p:") for m in c["methods"] for w in m.get("writes") or []):
                out.append(Detection("strategy", 0.55, {"context": [name], "strategy": [f"{name}.{fname}"]},
                                     [f"{name} calls an injected function {fname} (function strategy)"]))
        # dynamic proxy: __getattr__ forwarding to a wrapped object
        ga = ix.methods.get(name, {}).get("__getattr__")
        if ga is not None and any(cl[1] == "__call__" and cl[0] == "g:getattr" and any(a.startswith("f:") for a in cl[3]) for cl in _calls(ga)):
            out.append(Detection("proxy", 0.6, {"proxy": [name]}, [f"{name}.__getattr__ forwards attribute access to a wrapped object"]))
        if "InvocationHandler" in c.get("bases", []):
            out.append(Detection("proxy", 0.75, {"proxy": [name]}, [f"{name} implements InvocationHandler (dynamic proxy)"]))
    return out


def _is_test(name: str, c: dict[str, Any]) -> bool:
    return name.startswith("Test") or name.endswith(("Test", "Tests", "TestCase")) or \
        any("TestCase" in b for b in c.get("bases", [])) or \
        sum(m["name"].startswith("test") for m in c["methods"]) > max(1, len(c["methods"])) / 2


def _injected(ix: _Index, name: str, fname: str) -> bool:
    """The field is set from a parameter when the object is built (constructor, subclass constructor via
    super(...), static factory, struct literal)."""
    ref = "f:" + fname
    owner = ix.field_owner(name, fname) or name
    for cls in {name, owner, *sorted(ix.subs(owner))[:MAX_SUBS]}:
        for m in ix.classes.get(cls, {}).get("methods", []):
            if not (m.get("ctor") or m["name"] in ("__init__", "new", "constructor") or m.get("static")):
                continue
            if any(w[0] == ref and w[1].startswith("p:") for w in m.get("writes") or []):
                return True
    f = ix.field(name, fname) or {}
    if (f.get("init") or "").startswith("p:"):
        return True
    return any(v.startswith("p:") for v in ix.inits.get((owner, fname), ()))


def _transitions(ix: _Index, context: str, fname: str, stype: str) -> list[tuple[str, str]]:
    """State changes: concrete states switching the context, or the context assigning several states."""
    fam = ix.family(stype)
    out: list[tuple[str, str]] = []
    ref = "f:" + fname
    setter_names = {m["name"] for m in ix.classes[context]["methods"] if any(
        w[0] == ref and w[1].startswith("p:") for w in m.get("writes") or []) and not m.get("ctor")}
    for s in sorted(fam)[:MAX_SUBS] + [context]:
        for m in ix.classes.get(s, {}).get("methods", []):
            for cl in _calls(m):
                if s == context and not (cl[0] == "self" and cl[1] in setter_names and any(
                        a.startswith("n:") and a[2:] in fam for a in cl[3])):
                    continue  # the context switching itself: setState(new X()) from its own methods
                if cl[1] in setter_names or cl[1] == "=" + fname:
                    vals = [a for a in cl[3] if a.startswith(("n:", "f:", "pa:", "fa:", "r:"))]
                    nxt = next((a[2:] for a in vals if a.startswith("n:")), None)
                    out.append((s, nxt or "?"))
            for w in m.get("writes") or []:
                if w[0].startswith(("pa:", "fa:")) and w[1].startswith("n:") and w[1][2:] in fam:
                    out.append((s, w[1][2:]))
    # the context switching its own state in ordinary methods (to a new state, a state kept in another
    # field, or the state the current one returns)
    ctx_states = set()
    for m in ix.classes[context]["methods"]:
        if m.get("ctor") or m.get("synthetic"):
            continue
        for w in m.get("writes") or []:
            if w[0] != ref:
                continue
            if w[1].startswith("n:") and w[1][2:] in fam:
                ctx_states.add(w[1][2:])
            elif w[1].startswith("f:") and w[1] != ref and ix.fclass(context, w[1][2:]) in fam:
                ctx_states.add(ix.fclass(context, w[1][2:]))
            elif w[1].startswith("r:" + ref):
                out.append((context, "next state returned by " + fname))
    if len(ctx_states) >= 2 or (ctx_states and not any(
            w[0] == ref and w[1].startswith("p:") for m in ix.classes[context]["methods"] for w in m.get("writes") or [])):
        out.extend((context, s) for s in sorted(ctx_states))
    return out


def _composites(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        for fname in ix.fields.get(name, {}):
            if ix.fcoll(name, fname) != "list" and ix.fcoll(name, fname) != "map":
                continue
            elem = ix.fclass(name, fname)
            if elem is None:
                raw_elem = ix.ftype.get((ix.field_owner(name, fname) or name, fname), (None, None, None))[1]
                if raw_elem and raw_elem in ix.supers(name):
                    elem = raw_elem  # children typed by our own (external) supertype
            loops_same = [(m["name"], cl[1]) for m in c["methods"] for cl in _calls(m)
                          if cl[0] == "e:" + fname and cl[1] == m["name"] and not m.get("ctor") and cl[1] not in _LIFECYCLE]
            adds = [m for m in c["methods"] if any(w[0] == "f:" + fname and "a" in w[2] and w[1].startswith("p:") for w in m.get("writes") or [])]
            supers = ix.supers(name)
            typed = elem is not None and (elem in supers or elem == name)
            if not (typed or (loops_same and adds)):
                continue
            if elem is not None and not typed:
                continue
            component = elem if typed else (sorted(s for s in supers if s in ix.classes) or [None])[0]
            if component is None and not loops_same:
                continue
            leaves = [s for s in (ix.subs(component) if component else set()) if s != name and not any(
                ix.fclass(s, fn) in ix.family(component) for fn in ix.fields.get(s, {}))] if component else []
            if elem == name and not ix.subs(name) and not supers:
                score = 0.45 + (0.1 if loops_same else 0)  # a plain tree node: recursive but no component abstraction
            else:
                score = 0.6 + (0.15 if typed and loops_same else 0) + (0.1 if leaves else 0) + (0.05 if adds else 0) \
                    + (0.05 if component and ix.is_abstract(component) else 0) \
                    + (0.03 if _hint([name, fname], ("composite", "children", "group", "container")) else 0)
            if score < REPORT_MIN:
                continue
            ops = sorted({m for m, _ in loops_same})
            out.append(Detection("composite", min(score, 0.95), {
                "component": [component] if component else [], "composite": [name], "leaf": sorted(leaves)[:8],
                "operation": [f"{name}.{o}" for o in ops[:4]]},
                [f"{name} holds children in {fname}" + (f" and forwards {', '.join(ops[:3])} to each" if ops else "")]))
            break
    return out


def _command(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if not ix.is_abstract(name) and not (ix.subs(name) and all(m.get("empty") for m in _real_methods(c))):
            continue
        ops = [m for m in _real_methods(c) if not m.get("ctor") and _public(m)]
        if not 1 <= len(ops) <= 3 or any(len(m.get("params") or []) > 2 for m in ops):
            continue
        op_names = {m["name"] for m in ops}
        fam = ix.family(name)
        concrete = [s for s in ix.concrete_subs(name) if op_names & set(ix.methods.get(s, {}))]
        if not concrete:
            continue
        with_receiver: list[str] = []
        receivers: set[str] = set()
        for s in concrete:
            for fn, fd in ix.fields.get(s, {}).items():
                rt = ix.fclass(s, fn)
                if rt in fam or fd.get("static"):
                    continue  # static fields are loggers/constants, not receivers
                if rt is None and ix.ftype.get((s, fn), (None,))[0] is not None:
                    continue  # typed by a library type (String, Logger …)
                if any(cl[0] == "f:" + fn for m in ix.classes[s]["methods"] if m["name"] in op_names for cl in _calls(m)):
                    with_receiver.append(s)
                    receivers.add(rt or f"{s}.{fn}")
                    break
        invokers: list[str] = []
        bare_calls = True
        for n2, c2 in ix.classes.items():
            if n2 in fam:
                continue
            cmd_fields = {fn for fn in ix.fields.get(n2, {}) if ix.fclass(n2, fn) in fam}
            hit = False
            for m in c2["methods"]:
                for cl in _calls(m):
                    if cl[1] in op_names and (cl[0][2:] in cmd_fields and cl[0][:2] in ("f:", "e:", "k:") or
                                              cl[0].startswith("p:") and ix.pclass(n2, m, cl[0][2:]) in fam):
                        hit = True
                        if any(a not in ("0",) for a in cl[3]):
                            bare_calls = False
            if hit:
                invokers.append(n2)
        if not invokers and len(with_receiver) < 2:
            continue
        parameterless = all(len(m.get("params") or []) == 0 for m in ops)
        named = _hint(op_names | {name}, ("execute", "command", "undo", "redo", "invoke", "action", "perform", "run"))
        if not with_receiver and not (parameterless and bare_calls and named):
            continue  # a polymorphic collaborator without a receiver: strategy/bridge territory
        score = 0.5 + (0.15 if invokers else 0) + (0.15 if with_receiver else 0) + (0.05 if len(with_receiver) >= 2 else 0) \
            + (0.1 if parameterless and bare_calls else 0) + (0.05 if len(op_names) >= 2 else 0) \
            + (0.05 if named else 0)
        out.append(Detection("command", min(score, 0.95), {
            "command": [name], "concrete_command": sorted(concrete)[:8], "receiver": sorted(receivers)[:6],
            "invoker": sorted(set(invokers))[:4]},
            [f"{', '.join(sorted(concrete)[:4])} implement {', '.join(sorted(op_names))}"
             + (f", calling held receivers ({', '.join(sorted(receivers)[:3])})" if receivers else "")
             + (f"; invoked by {', '.join(sorted(invokers)[:3])}" if invokers else "")]))
    return out


def _interpreter(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if not ix.polymorphic(name):
            continue
        fam = ix.family(name)
        for m in c["methods"]:
            if m.get("ctor") or not (m.get("abstract") or m.get("empty")):
                continue
            op = m["name"]
            nonterm, term = [], []
            binary = False
            for s in sorted(ix.subs(name)):
                sm = ix.methods.get(s, {}).get(op)
                if sm is None:
                    continue
                if any(cl[0].startswith("e:") and cl[1] == op for cl in _calls(sm)):
                    nonterm = []
                    break  # children in a collection: a composite, not a grammar rule
                rec_fields = {cl[0][2:] for cl in _calls(sm) if cl[0].startswith("f:") and cl[1] == op
                              and not ix.fcoll(s, cl[0][2:])}
                typed = {fn for fn in ix.fields.get(s, {}) if ix.fclass(s, fn) in fam and not ix.fcoll(s, fn)}
                kids = rec_fields | typed
                if rec_fields:
                    nonterm.append(s)
                    if len(kids) >= 2:
                        binary = True
                elif not typed:
                    term.append(s)
            if not nonterm or not term or not binary:
                continue  # unary wrappers only: decorators, not a grammar
            score = 0.65 + (0.1 if binary else 0) + (0.1 if len(nonterm) >= 2 else 0) \
                + (0.05 if any(len(ix.methods[s][op].get("params") or []) >= 1 for s in nonterm) else 0) \
                + (0.05 if _hint([op, name], ("interpret", "evaluat", "expression", "eval")) else 0)
            out.append(Detection("interpreter", min(score, 0.95), {
                "abstract_expression": [name], "nonterminal_expression": nonterm[:8], "terminal_expression": term[:8],
                "interpret": [f"{name}.{op}"]},
                [f"non-terminals {', '.join(nonterm[:4])} evaluate child expressions with {op}(); terminals {', '.join(term[:4])}"]))
            break
    return out


def _iterator(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        mnames = set(ix.methods.get(name, {}))
        lang = ix.lang.get(name, "")
        proto = None
        if {"hasNext", "next"} <= mnames or ({"has_next", "next"} <= mnames) or {"HasNext", "Next"} <= mnames:
            proto = "hasNext/next"
        elif "__next__" in mnames:
            proto = "__next__"
        elif "next" in mnames and (set(c.get("bases", [])) & _ITER_PROTOCOL_BASES):
            proto = "Iterator"
        elif lang == "cpp" and {"operator++", "operator*"} <= mnames:
            proto = "operator++/operator*"
        elif lang == "go" and "Next" in mnames and ({"Value", "Item", "Current", "Key"} & mnames):
            proto = "Next/Value"
        elif lang in ("javascript", "typescript", "tsx") and "next" in mnames and any(
                r == "{}" for r in ix.methods[name]["next"].get("rets") or []) and any(
                f.get("type") in ("number",) or (f.get("init") == "0") for f in c["fields"]):
            proto = "next() → {value, done}"
        if proto:
            aggregates = sorted({n for n, k in ix.classes.items() if n != name and any(
                ("n:" + name) in (m.get("rets") or []) or (name in (m.get("creates") or []) and m["name"] in (
                    "__iter__", "iterator", "createIterator", "Iterator", "iter", "begin", "getIterator", "[Symbol.iterator]"))
                for m in k["methods"])})
            position = any(f.get("type") in ("int", "usize", "number", "Integer", "size_t") or f.get("init") == "0" for f in c["fields"])
            score = 0.6 + (0.2 if aggregates else 0) + (0.1 if position else 0) + (0.05 if proto in ("hasNext/next", "__next__") else 0)
            out.append(Detection("iterator", min(score, 0.95), {"iterator": [name], "aggregate": aggregates[:4]},
                                 [f"{name} implements the {proto} protocol" + (f"; created by {', '.join(aggregates[:3])}" if aggregates else "")]))
            continue
        it = ix.methods.get(name, {}).get("__iter__")
        if it is not None and it.get("yields") and it.get("loops"):
            out.append(Detection("iterator", 0.5, {"aggregate": [name]},
                                 [f"{name}.__iter__ yields the elements of {it['loops'][0]} (generator iterator)"]))
    return out


def _observer_mediator(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    mediated: set[str] = set()
    # who calls a field holding which class: target class → {caller class: [calls]}
    callers: dict[str, dict[str, list[list]]] = defaultdict(lambda: defaultdict(list))
    for n2, c2 in ix.classes.items():
        for m in c2["methods"]:
            for cl in _calls(m):
                if cl[0].startswith("f:") and not cl[1].startswith("="):
                    t = ix.fclass(n2, cl[0][2:])
                    if t is not None and not ix.fcoll(n2, cl[0][2:]):
                        callers[t][n2].append(cl)
    # mediator: colleagues hold the mediator and call it (passing themselves); the mediator calls them back
    for name, c in ix.classes.items():
        mtypes = {name} | (ix.supers(name) & set(ix.classes))
        colleagues: dict[str, str] = {}
        excluded = ix.family(name) | ix.supers(name)
        for t in mtypes:
            for n2, calls in callers.get(t, {}).items():
                if n2 in excluded or n2 in colleagues:
                    continue
                colleagues[n2] = calls[0][1] + ("(self)" if any("s" in cl[2] for cl in calls) else "")
        if len(colleagues) < 2 and not (colleagues and any(ix.subs(k) for k in colleagues)):
            continue
        col_family = set()
        for k in colleagues:
            col_family |= ix.family(k) | (ix.supers(k) & set(ix.classes))
        col_methods = set()
        for k in col_family:
            col_methods |= set(ix.methods.get(k, {}))
        back = []
        for m in c["methods"]:
            for cl in _calls(m):
                if cl[0].startswith(("f:", "e:", "p:", "k:")) and cl[1] in col_methods:
                    tgt = ix.fclass(name, cl[0][2:]) if cl[0][:2] in ("f:", "e:", "k:") else ix.pclass(name, m, cl[0][2:])
                    if tgt in col_family or (tgt is None and not cl[0].startswith("p:")):
                        back.append(f"{m['name']}→{tgt or 'colleague'}.{cl[1]}")
        if not back:
            continue
        passes_self = any(v.endswith("(self)") for v in colleagues.values())
        score = 0.6 + (0.15 if passes_self else 0) + (0.1 if any(ix.is_abstract(s) for s in ix.supers(name)) or ix.is_abstract(name) else 0) \
            + (0.05 if len(colleagues) >= 3 else 0) + (0.05 if _hint([name], ("mediator", "hub", "room", "controller", "dispatcher", "tower")) else 0)
        abstract = [s for s in ix.supers(name) if ix.is_abstract(s)]
        out.append(Detection("mediator", min(score, 0.95), {
            "mediator": abstract[:1] or [name], "concrete_mediator": [name], "colleague": sorted(colleagues)[:8]},
            [f"colleagues {', '.join(sorted(colleagues)[:4])} call the mediator ({', '.join(sorted(set(colleagues.values()))[:3])}); "
             f"it calls them back ({', '.join(back[:3])})"]))
        mediated.add(name)
    # observer: register into a collection + notify each element with a statement call
    for name, c in ix.classes.items():
        if name in mediated:
            continue
        for fname in ix.fields.get(name, {}):
            if not ix.fcoll(name, fname):
                continue
            ref = "f:" + fname
            adders = [m for m in c["methods"] if not m.get("ctor") and any(
                w[0] == ref and ("a" in w[2] or "m" in w[2]) and w[1].startswith("p:") for w in m.get("writes") or [])]
            if not adders:
                continue
            notify = [(m, cl) for m in c["methods"] for cl in _calls(m)
                      if cl[0] == "e:" + fname and "v" in cl[2] and not cl[1].startswith("=")
                      and not re.match(r"(get|is|has|to|as)[A-Z_]", cl[1]) and cl[1] not in ("__len__",)]
            if not notify:
                continue
            if any(cl[1] == m["name"] for m, cl in notify):
                continue  # same operation forwarded to children: composite
            removers = [m for m in c["methods"] if any(cl[0] == ref and cl[1] in ("remove", "discard", "delete", "removeListener",
                                                                                     "erase", "Remove", "splice", "filter", "retain")
                                                    for cl in _calls(m))]
            obs_type = ix.fclass(name, fname)
            impls = ix.concrete_subs(obs_type) if obs_type else []
            if obs_type == name or (obs_type and obs_type in ix.supers(name)):
                continue
            callback = all(cl[1] == "__call__" for _, cl in notify)
            score = 0.6 + (0.15 if obs_type and (ix.is_abstract(obs_type) or impls) else 0) + (0.1 if removers else 0) \
                + (0.05 if any("s" in cl[2] for _, cl in notify) else 0) \
                + (0.05 if _hint([fname, notify[0][0]["name"], adders[0]["name"]], ("observer", "listener", "subscriber", "notify", "subscribe", "attach", "handler", "callback", "watcher")) else 0)
            roles = {"subject": [name], "observer": [obs_type] if obs_type else [], "concrete_observer": impls[:8]}
            out.append(Detection("observer", min(score, 0.95), roles, [
                f"{adders[0]['name']}() registers into {fname}; {notify[0][0]['name']}() "
                + ("calls each callback" if callback else f"calls {notify[0][1][1]}() on each")
                + (f"; {removers[0]['name']}() unregisters" if removers else "")]))
            break
    return out


def _memento(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        for m in c["methods"]:
            if m.get("ctor") or m.get("static"):
                continue
            for t, args in m.get("news") or []:
                if t == name or t not in ix.classes or ix.related(t, name):
                    continue
                if not ((("n:" + t) in (m.get("rets") or [])) or any(r.startswith("l:") for r in m.get("rets") or [])):
                    continue
                if not any(a.startswith(("f:", "r:self", "c")) or a == "self" for a in args) and not args == []:
                    continue
                mtypes = {t} | ix.supers(t)
                restore = [r for r in c["methods"] if r is not m and any(
                    (p[1] in mtypes or p[2] in mtypes or ix.pclass(name, r, p[0]) in mtypes) for p in r.get("params") or []) and any(
                    w[0].startswith("f:") and w[1].startswith(("pa:", "p:", "x", "r:")) for w in r.get("writes") or [])]
                if not restore:
                    continue
                mc = ix.classes[t]
                data_only = len([x for x in _real_methods(mc) if not x.get("ctor")]) <= max(3, len(mc["fields"]) + 1)
                caretakers = [n for n, k in ix.classes.items() if n not in (name, t) and (
                    any(ix.fclass(n, fn) == t for fn in ix.fields.get(n, {})) or any(
                        cl[1] in (m["name"], restore[0]["name"]) for km in k["methods"] for cl in _calls(km)))]
                score = 0.6 + (0.15 if caretakers else 0) + (0.1 if data_only else 0) \
                    + (0.05 if _hint([m["name"], t, restore[0]["name"]], ("memento", "snapshot", "save", "restore", "undo", "state")) else 0)
                out.append(Detection("memento", min(score, 0.95), {
                    "originator": [name], "memento": [t], "caretaker": sorted(caretakers)[:4]},
                    [f"{name}.{m['name']}() captures its state in a {t}; {restore[0]['name']}({t}) restores it"]))
                break
            else:
                continue
            break
    return out


def _template_method(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        subs = ix.subs(name)
        if not subs:
            continue
        for m in c["methods"]:
            if m.get("abstract") or m.get("empty") or m.get("ctor") or m.get("static") or m.get("synthetic"):
                continue
            called = []
            for cl in _calls(m):
                if cl[0] != "self" or cl[1] == m["name"] or cl[1] in called:
                    continue
                pm = ix.methods.get(name, {}).get(cl[1])
                if pm is None or pm.get("ctor"):
                    continue
                if pm.get("abstract") or pm.get("empty") or ix.overridden_in(name, cl[1]):
                    called.append(cl[1])
            if len(called) < 2 or not any(ix.methods[name][p].get("abstract") or ix.overridden_in(name, p) for p in called):
                continue
            overriders = sorted({s for s in subs for p in called if p in ix.methods.get(s, {})})
            if not overriders:
                continue
            if any(m["name"] in ix.methods.get(s, {}) for s in overriders):
                continue  # subclasses replace the skeleton itself
            abstract_steps = [p for p in called if ix.methods[name][p].get("abstract") or ix.methods[name][p].get("empty")]
            score = 0.6 + (0.1 if len(called) >= 3 else 0) + (0.1 if len(overriders) >= 2 else 0) \
                + (0.1 if abstract_steps else 0) + (0.03 if ix.is_abstract(name) else 0)
            out.append(Detection("template_method", min(score, 0.95), {
                "abstract_class": [name], "concrete_class": overriders[:8], "template_method": [f"{name}.{m['name']}"],
                "primitive_operations": [f"{name}.{p}" for p in called[:6]]},
                [f"{name}.{m['name']}() calls steps {', '.join(called[:5])} that subclasses implement"]))
            break
    return out


def _visitor(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    accepts: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)  # accept name → (element, visitor param, op, vtype)
    for name, c in ix.classes.items():
        for m in c["methods"]:
            params = {p[0] for p in m.get("params") or []}
            for cl in _calls(m):
                if cl[0].startswith("p:") and cl[0][2:] in params and "s" in cl[2] and cl[1] != m["name"] and not cl[1].startswith("="):
                    vt = ix.pclass(name, m, cl[0][2:])
                    accepts[m["name"]].append((name, cl[0][2:], cl[1], vt))
                    break
    for aname, items in accepts.items():
        elements = sorted({e for e, _, _, _ in items})
        ops = {op for _, _, op, _ in items}
        vtypes = {vt for _, _, _, vt in items if vt}
        vtype = next(iter(vtypes)) if len(vtypes) == 1 else (_common_base(ix, vtypes) if vtypes else None)
        if vtype is None:
            vtype = ix._owner_of_methods(ops) if len(ops) >= 1 else None
        if len(elements) < 2 and not (vtype and len(ix.methods.get(vtype, {})) >= 2):
            continue
        if vtype and vtype in elements:
            continue
        vmethods = ix.methods.get(vtype, {}) if vtype else {}
        per_element = len(ops) >= 2 or sum(1 for m in vmethods.values() if any(
            (p[1] in elements or p[2] in elements) for p in m.get("params") or [])) >= 2
        if not per_element and len(elements) < 2:
            continue
        # observers registering themselves (subject.attach(this)) are not visitors
        if ops <= {"attach", "register", "subscribe", "add", "addObserver", "addListener", "append", "register_observer"}:
            continue
        concrete_visitors = ix.concrete_subs(vtype) if vtype else []
        score = 0.6 + (0.15 if per_element else 0) + (0.1 if concrete_visitors else 0) + (0.05 if len(elements) >= 3 else 0) \
            + (0.05 if _hint([aname, *ops], ("accept", "visit")) else 0)
        out.append(Detection("visitor", min(score, 0.95), {
            "visitor": [vtype] if vtype else [], "concrete_visitor": concrete_visitors[:6], "element": elements[:10]},
            [f"{', '.join(elements[:4])}.{aname}(v) call back v.{'/'.join(sorted(ops)[:4])}(this) (double dispatch)"]))
    # reflective visitors: visit_<Class> methods (Python NodeVisitor style)
    for name, c in ix.classes.items():
        vm = [m["name"] for m in c["methods"] if re.match(r"visit_?([A-Z]\w*)$", m["name"])]
        dynamic = any(cl[0] == "self" and cl[1] == "getattr" for m in c["methods"] for cl in _calls(m)) and \
            any(m["name"].startswith("visit") for m in c["methods"])
        if len(vm) < 2 and not (dynamic and vm):
            continue
        if any(d.roles.get("visitor") == [name] or name in d.roles.get("concrete_visitor", []) for d in out):
            continue
        dispatch = any(cl[1] == "getattr" or cl[0] == "g:getattr" for m in c["methods"] for cl in _calls(m)) or \
            any("visit" in s.lower() for s in ix.supers(name))
        targets = [re.match(r"visit_?([A-Z]\w*)$", n).group(1) for n in vm]
        known = [t for t in targets if t in ix.classes]
        score = 0.5 + (0.1 if dispatch else 0) + (0.1 if len(known) >= 2 else 0)
        out.append(Detection("visitor", score, {"visitor": [name], "element": known[:8]},
                             [f"{name} has one visit method per node type ({', '.join(vm[:5])})"]))
    return out


def _facade(ix: _Index, taken: set[str]) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if name in taken or ix.is_abstract(name):
            continue
        if name.startswith("Test") or name.endswith(("Test", "Tests")) or any("TestCase" in b for b in c.get("bases", [])) \
                or sum(m["name"].startswith("test") for m in c["methods"]) > len(c["methods"]) / 2:
            continue  # test scaffolding creates and calls everything it tests
        subsystems: dict[str, set[str]] = defaultdict(set)  # subsystem class → methods called
        created: set[str] = set()
        for m in c["methods"]:
            if m["name"] in ("main", "Main") or m.get("static") and m["name"].lower() == "main":
                continue
            local_new = {t for t in m.get("creates") or [] if t in ix.classes}
            for cl in _calls(m):
                r = cl[0]
                t = None
                if r.startswith(("f:", "e:")):
                    t = ix.fclass(name, r[2:])
                elif r.startswith("t:") and r[2:] in ix.classes:
                    t = r[2:]
                if t and t != name and not ix.related(t, name) and t not in _NOT_SUBSYSTEM:
                    subsystems[t].add(cl[1])
            for w in m.get("writes") or []:
                if w[0].startswith("f:") and w[1].startswith("n:") and w[1][2:] in ix.classes:
                    created.add(w[1][2:])
            for t in local_new:
                if t != name and not ix.related(t, name):
                    created.add(t)
        # collapse subsystem classes of one family
        fams: dict[str, set[str]] = {}
        for t in subsystems:
            root = next((s for s in sorted(ix.supers(t)) if s in ix.classes), t)
            fams.setdefault(root, set()).add(t)
        if len(fams) < 2:
            if not (len(fams) == 1 and len(next(iter(fams.values()))) >= 3):
                continue
        back_refs = [t for t in subsystems if any(ix.fclass(t, fn) == name for fn in ix.fields.get(t, {}))]
        if back_refs:
            continue
        orchestrating = [m["name"] for m in c["methods"] if _public(m) and len({
            ix.fclass(name, cl[0][2:]) if cl[0].startswith(("f:", "e:")) else (cl[0][2:] if cl[0].startswith("t:") else None)
            for cl in _calls(m)} & set(subsystems)) >= 2]
        n_sub = len(subsystems)
        if not orchestrating and n_sub < 3:
            continue
        score = 0.45 + 0.1 * min(n_sub - 1, 3) + (0.1 if created & set(subsystems) else 0) + (0.05 if orchestrating else 0) \
            + (0.05 if _hint([name], ("facade", "façade")) else 0)
        if score < REPORT_MIN:
            continue
        out.append(Detection("facade", min(score, 0.85), {"facade": [name], "subsystem": sorted(subsystems)[:10]},
                             [f"{name} orchestrates {n_sub} subsystem classes"
                              + (f" (e.g. {orchestrating[0]}() calls several)" if orchestrating else "")]))
    return out


def _flyweight(ix: _Index) -> list[Detection]:
    out: list[Detection] = []
    for owner, m in _all_methods(ix):
        if m.get("ctor"):
            continue
        for target, value, flags in m.get("writes") or []:
            if "m" not in flags or not target.startswith(("f:", "g:")):
                continue
            t = value[2:] if value.startswith("n:") else None
            if t is None and value.startswith("l:"):
                made = [x for x in m.get("creates") or [] if x in ix.classes]
                t = made[0] if len(made) == 1 else None
            if t is None or t == "*" or t not in ix.classes:
                continue
            fname = target[2:]
            if owner and ix.fcoll(owner, fname) not in ("map", None) and target.startswith("f:"):
                continue
            returns_pooled = any(r.startswith(("k:", "r:f:")) and r.endswith(fname) or r == "k:" + fname for r in m.get("rets") or []) \
                or ("n:" + t) in (m.get("rets") or []) or any(r.startswith("l:") for r in m.get("rets") or [])
            if not returns_pooled:
                continue
            cond = "c" in flags or any("c" in cl[2] for cl in _calls(m))
            fw = ix.classes[t]
            immutable = all(f.get("final") or f.get("visibility") == "private" for f in fw["fields"]) if fw["fields"] else True
            if t == owner and m["name"] != "__new__":
                continue
            score = 0.6 + (0.15 if cond else 0) + (0.1 if immutable else 0) \
                + (0.05 if _hint([m["name"], fname, owner or "", t], ("flyweight", "pool", "cache", "intern", "shared")) else 0)
            roles = {"flyweight_factory": [owner] if owner else [m["name"]], "flyweight": [t], "pool": [f"{owner}.{fname}" if owner else fname]}
            out.append(Detection("flyweight", min(score, 0.95), roles,
                                 [f"{m['name']}() returns the pooled {t} for a key, creating it only when missing"]))
            break
    return out


# --------------------------------------------------------------------------- driver

def detect_design_patterns(summaries: list[dict[str, Any]]) -> list[Detection]:
    """GoF pattern instances in the merged structural summaries (one file or a whole set).

    Summaries come from :func:`summarize_structure` (any mix of languages). Classes with the same
    name in several summaries are merged (bases/fields/methods united), so a later stage may pass the
    summaries of all files of one ``set_id``. Detections below :data:`REPORT_MIN` are dropped, and
    overlapping interpretations of the same classes are resolved (e.g. state beats strategy when
    states switch the context; interpreter beats decorator/composite for expression trees).
    """
    ix = _Index(summaries)
    if not ix.classes and not ix.functions:
        return []
    dets: list[Detection] = []
    for fn in (_singleton, _factories, _builder, _prototype, _wrappers, _composites, _command, _interpreter,
               _iterator, _observer_mediator, _memento, _template_method, _visitor, _flyweight):
        try:
            dets.extend(fn(ix))
        except Exception:  # a detector bug must never break extraction
            import logging

            logging.getLogger(__name__).exception("design pattern detector %s failed", fn.__name__)
    taken = {p for d in dets for p in d.participants}
    try:
        dets.extend(_facade(ix, taken))
    except Exception:  # pragma: no cover
        pass
    dets = [d for d in dets if not all(_is_test(p, ix.classes[p]) for p in d.participants if p in ix.classes)
            or not any(p in ix.classes for p in d.participants)]
    try:
        return _resolve(dets)
    except Exception:  # a resolution bug must not lose every detection
        import logging

        logging.getLogger(__name__).exception("resolving design pattern overlaps failed")
        return [d for d in dets if d.confidence >= REPORT_MIN]


def _resolve(dets: list[Detection]) -> list[Detection]:
    def classes(d: Detection) -> set[str]:
        return set(d.participants)

    interp = [classes(d) for d in dets if d.pattern == "interpreter"]
    states = [d for d in dets if d.pattern == "state"]
    bridges = [d for d in dets if d.pattern == "bridge"]
    comps = [d for d in dets if d.pattern == "composite"]
    afs = {c for d in dets if d.pattern == "abstract_factory" for c in d.roles.get("abstract_factory", [])}
    mediators = {c for d in dets if d.pattern == "mediator" for c in d.roles.get("mediator", []) + d.roles.get("concrete_mediator", [])}
    others: dict[str, set[str]] = defaultdict(set)  # class → other patterns it takes part in
    for d in dets:
        if d.confidence >= REPORT_MIN:
            for c in d.participants:
                others[c].add(d.pattern)
    out: list[Detection] = []
    for d in dets:
        if d.confidence < REPORT_MIN:
            continue
        cs = classes(d)
        if d.pattern == "adapter" and others.get(d.roles["adapter"][0], set()) - {"adapter", "facade"}:
            continue  # the same structure already explains it (command, iterator, state …)
        if d.pattern in ("bridge", "strategy") and set(d.roles.get("implementor", []) + d.roles.get("strategy", [])) & mediators:
            continue
        if d.pattern == "mediator" and any(
                set(d.roles.get("concrete_mediator", [])) <= set(s.roles["context"]) and
                set(d.roles.get("colleague", [])) <= set(s.participants) for s in states):
            continue  # states holding their context: the state pattern's back-reference
        if d.pattern in ("decorator", "composite", "chain_of_responsibility", "proxy") and any(cs <= i for i in interp):
            continue
        if d.pattern == "strategy" and any(d.roles["context"] == s.roles.get("context", s.roles.get("abstraction"))
                                           for s in states + bridges):
            continue
        if d.pattern == "strategy" and any(set(d.roles.get("strategy", [])) & set(x.roles["command"]) and x.confidence >= d.confidence
                                           for x in dets if x.pattern == "command"):
            continue
        if d.pattern == "command" and any(set(d.roles["command"]) & set(x.roles.get("strategy", [])) and x.confidence > d.confidence
                                          for x in dets if x.pattern == "strategy"):
            continue
        if d.pattern == "command" and not d.roles.get("receiver") and any(
                x.pattern not in ("command", "strategy", "facade", "adapter") and d.roles["command"][0] in x.participants for x in dets):
            continue  # the same abstraction already plays a role in another pattern
        if d.pattern in ("decorator", "chain_of_responsibility") and any(
                set(d.roles.get("decorator", []) + d.roles.get("handler", [])) & set(x.roles.get("composite", [])) for x in comps):
            continue
        if d.pattern == "factory_method" and set(d.roles.get("creator", [])) & afs:
            continue
        out.append(d)
    # one detection per (pattern, participants); keep the most confident
    best: dict[str, Detection] = {}
    for d in out:
        k = d.key
        if k not in best or d.confidence > best[k].confidence:
            best[k] = d
    # decorator vs proxy vs chain on the same wrapper class: keep the most confident
    by_wrapper: dict[str, Detection] = {}
    final: list[Detection] = []
    for d in best.values():
        w = (d.roles.get("decorator") or d.roles.get("proxy") or d.roles.get("handler") or [None])[0] \
            if d.pattern in ("decorator", "proxy", "chain_of_responsibility") else None
        if w is None:
            final.append(d)
            continue
        if w not in by_wrapper or d.confidence > by_wrapper[w].confidence:
            by_wrapper[w] = d
    final.extend(by_wrapper.values())
    final.sort(key=lambda d: (min((c for c in d.participants), default=""), d.pattern))
    return final


# --------------------------------------------------------------------------- records

def annotate(records: list[PatternRecord], summaries: list[dict[str, Any]], *, doc: Document, lines: list[str],
             max_chars: int, extractor: str, language: str | None) -> list[PatternRecord]:
    """Add ``gof:*`` tags to the class records of ``records`` and one ``design_pattern`` record per
    detection (spanning the participating classes of this document)."""
    try:
        dets = detect_design_patterns(summaries)
    except Exception:  # pragma: no cover - detect_design_patterns guards each detector
        return records
    if not dets:
        return records
    class_kinds = {"class", "interface", "struct", "trait", "enum", "record", "impl", "type", "union", "protocol"}
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if r.kind in class_kinds:
            simple = r.name.rsplit(".", 1)[-1]
            if r.kind == "impl":
                simple = r.name.split(" for ")[-1].rsplit(".", 1)[-1]
            by_name[simple].append(i)
            by_name[r.name].append(i)
        elif r.kind in ("function", "method"):
            by_name[r.name].append(i)
    extra_tags: dict[int, list[PatternTag]] = defaultdict(list)
    new_records: list[PatternRecord] = []
    keys = KeyDeduper()
    for r in records:
        keys(r.key)
    for d in dets:
        t = d.tag()
        spans = []
        for p in d.participants:
            for i in dict.fromkeys(by_name.get(p, [])):
                if records[i].kind in class_kinds or records[i].kind in ("function", "method"):
                    if all(x.name != t.name for x in extra_tags[i]):
                        extra_tags[i].append(t)
                    spans.append((records[i].span.start_line, records[i].span.end_line))
        if not spans:
            continue
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        rec = record(key=keys(d.key), kind="design_pattern", name=d.pattern, lines=lines, start=start, end=end,
                     text=d.describe(), max_chars=max_chars, extractor=extractor, language=language, tags=[t])
        if rec is not None:
            new_records.append(rec)
    out = []
    for i, r in enumerate(records):
        if extra_tags.get(i):
            r = r.model_copy(update={"tags": [*r.tags, *extra_tags[i]]})
        out.append(r)
    return out + new_records

