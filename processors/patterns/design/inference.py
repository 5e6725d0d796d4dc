"""Field and parameter types of the indexed classes: declared, or inferred from how they are used.

Dynamic languages rarely declare what a field holds. A field's type is then what is created into
it (``self.x = X()``), what is assigned from a typed parameter, the one class family defining every
method called on it, or a class named like the field (``_mediator`` → ``Mediator``); collections get
an element type the same way. Guesses from use are remembered (:attr:`FieldTypes.guessed`) so that
detectors can weigh them less.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple, Protocol

from schemas.structure import ClassInfo, FieldInfo

__all__ = ["FieldTypes", "infer_field_types", "name_match"]


class FieldTypes(NamedTuple):
    fields: dict[tuple[str, str], tuple[str | None, str | None, str | None]]  # (class, field) → (type, elem, coll)
    params: dict[tuple[str, str, str], str]  # (class, method, parameter) → class
    guessed: set[tuple[str, str]]  # (class, field) typed from use, not declared


class _Hierarchy(Protocol):
    """What inference reads from the index (:class:`~.index.StructureIndex`)."""

    classes: dict[str, ClassInfo]
    fields: dict[str, dict[str, FieldInfo]]

    def owner_of_methods(self, names: set[str]) -> str | None: ...

    def common_base(self, names: set[str]) -> str | None: ...


def infer_field_types(ix: _Hierarchy) -> FieldTypes:
    """Every field's ``(type, element type, collection kind)`` and inferred parameter classes."""
    guessed: set[tuple[str, str]] = set()  # fields typed from how they are used (a guess)
    fields: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
    params: dict[tuple[str, str, str], str] = {}
    for n, c in ix.classes.items():
        usage: dict[str, set[str]] = defaultdict(set)
        elem_usage: dict[str, set[str]] = defaultdict(set)
        created: dict[str, set[str]] = defaultdict(set)
        pusage: dict[tuple[str, str], set[str]] = defaultdict(set)
        for m in c.methods:
            ptypes = {p.name: (p.elem or p.type) for p in m.params}
            for recv, meth, _flags, _args in m.calls:
                if recv.startswith("f:"):
                    usage[recv[2:]].add(meth)
                elif recv.startswith(("e:", "k:")):
                    elem_usage[recv[2:]].add(meth)
                elif recv.startswith("p:"):
                    pusage[(m.name, recv[2:])].add(meth)
            for target, value, flags in m.writes:
                if target.startswith("f:") and value.startswith("n:") and value != "n:*":
                    created[target[2:]].add(value[2:])
                elif target.startswith("f:") and value.startswith("p:") and ptypes.get(value[2:]) in ix.classes \
                        and "a" not in flags and "m" not in flags:
                    created[target[2:]].add(ptypes[value[2:]])
        for fname, f in ix.fields.get(n, {}).items():
            t, elem, coll = f.type, f.elem, f.coll
            if f.type_src == "infer" and not coll:
                t = None  # a guess from one assignment: recompute from every assignment below
            if coll and not elem:
                if created.get(fname) and len(created[fname] & set(ix.classes)) >= 1:
                    elem = ix.common_base(created[fname] & set(ix.classes))
                if not elem:
                    elem = ix.owner_of_methods(elem_usage.get(fname, set()))
            elif not coll and not t:  # untyped (dynamic languages): infer from use
                kinds = created.get(fname, set()) & set(ix.classes)
                if kinds:
                    t = ix.common_base(kinds) if len(kinds) > 1 else next(iter(kinds))
                    if len(kinds) > 1 and not t:
                        t = next(iter(sorted(kinds)))
                if (not t or t not in ix.classes) and usage.get(fname):
                    guess = ix.owner_of_methods(usage[fname])
                    if guess:
                        guessed.add((n, fname))
                    t = guess or t
                if (not t or t not in ix.classes):
                    guess = name_match(ix, fname)
                    if guess:
                        guessed.add((n, fname))
                        t = guess
            fields[(n, fname)] = (t, elem, coll)
        for (mname, pname), meths in pusage.items():
            guess = ix.owner_of_methods(meths)
            if guess is None:
                guess = name_match(ix, pname)
            if guess:
                params[(n, mname, pname)] = guess
    return FieldTypes(fields, params, guessed)


def name_match(ix: _Hierarchy, name: str) -> str | None:
    """A known class whose name is the field/parameter name (``_mediator`` → ``Mediator``)."""
    key = name.strip("_").replace("_", "").lower()
    if len(key) < 4:
        return None
    hits = [c for c in ix.classes if c.lower() == key]
    return hits[0] if len(hits) == 1 else None
