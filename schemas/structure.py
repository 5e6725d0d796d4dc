"""The structural summary of one code document: what design-pattern detection reads.

The document agent builds it while extracting (Python through ``ast``, other languages through
tree-sitter), sends it on ``sets.members`` (:class:`~schemas.sets.SetMemberUpdate`) and the set agent
stores it in ``sets.state`` (:class:`~schemas.sets.SetMember`), so summaries of every file of a set
can be merged and detected together. It is language-neutral and carries :data:`SCHEMA_VERSION`.

Reading is strict: unknown fields are refused, and a summary must say which version it is. The
shape before versioning (a plain dict with ``"version": 1``, what workers stored until schema 2) is
recognised and converted on read; anything else (a newer or unknown shape) fails validation, so it
is never misread.

What a method body does is kept as compact *value codes* (strings), the vocabulary detection
matches on:

==========  =================================================================================
``self``    this/self (``*this`` in C++)
``super``   the superclass (``super().m()``, ``super.m()``)
``f:x``     own field ``x`` (``this.x``, ``self.x``, ``cls.x``, ``Own.x``, bare ``x`` in Java/C++)
``e:x``     an element of own collection field ``x`` (loop variable, ``forEach`` lambda parameter)
``k:x``     a keyed lookup in own field ``x`` (``self.x[k]``, ``x.get(k)``)
``p:x``     parameter ``x``;  ``pa:x`` an attribute/getter of parameter ``x``
``fa:x``    an attribute of own field ``x``
``n:T``     a new ``T`` (``new T()``, ``T()``, ``&T{}``, ``T::new()``, ``cls()`` → own class;
            ``n:*`` an instance of whatever class a metaclass creates)
``r:v``     the result of calling a method on ``v`` (``r:f:x``, ``r:self:m``, ``r:g:f``)
``t:T``     the type ``T`` itself (static access ``T.m()``, ``T.instance``)
``s:T.x``   static field ``x`` of another class ``T``
``g:x``     a module-level variable or function;  ``l:x`` another local
``i:T.x``   (write target) field ``x`` of a ``T`` built by a struct literal
``cls:A|B`` a registry of classes;  ``c`` a copy of self;  ``fn`` a function value
``[]``/``{}`` a new list / map;  ``0`` a literal or null;  ``x`` anything else
==========  =================================================================================

Flags (a string of letters): ``c`` under a condition, ``l`` inside a loop, ``s`` self passed as an
argument, ``v`` result discarded (statement call), ``m`` keyed store (``d[k] = v``, ``put``), ``a``
collection add (``append``/``add``/``push``).

>>> s = StructureSummary(schema_version=SCHEMA_VERSION, language="python", classes=[
...     {"name": "A", "qualname": "A", "methods": [{"name": "run", "calls": [["f:b", "go", "", []]]}]}])
>>> s.classes[0].methods[0].calls[0]
Call(recv='f:b', method='go', flags='', args=())
>>> StructureSummary.model_validate({"version": 1, "language": "go", "classes": [], "functions": [],
...                                  "globals": []}).schema_version
2
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SCHEMA_VERSION", "Call", "ClassInfo", "FieldInfo", "MethodInfo", "New", "Param", "StructureSummary",
           "Write", "upgrade_v1"]

#: Version of the summary's shape. Bump it (and convert the previous shape in :func:`upgrade_v1`'s
#: successor) whenever a field is added, removed or changes meaning.
SCHEMA_VERSION = 2

Visibility = Literal["public", "private", "protected", "package"]


class Param(NamedTuple):
    """A parameter: name, declared type, element type (for collections)."""

    name: str
    type: str | None
    elem: str | None


class Call(NamedTuple):
    """A call in a body: receiver (value code), method, flags, argument values (at most 4)."""

    recv: str
    method: str
    flags: str
    args: tuple[str, ...]


class Write(NamedTuple):
    """An assignment in a body: target and value (value codes) and flags."""

    target: str
    value: str
    flags: str


class New(NamedTuple):
    """An object created in a body: its class and the argument values."""

    type: str
    args: tuple[str, ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldInfo(_Frozen):
    """A field of a class, or a module-level variable."""

    name: str
    type: str | None = Field(None, description="Simple type name (the wrapper's argument for Optional/Box/…)")
    elem: str | None = Field(None, description="Element (value) type when the field is a collection")
    coll: Literal["list", "map"] | None = None
    static: bool = False
    final: bool = False
    visibility: Visibility = "public"
    line: int = 0
    init: str | None = Field(None, description="Value code of the initial value")
    type_src: Literal["decl", "infer"] | None = Field(None, description="Python: declared or inferred from one assignment")


class MethodInfo(_Frozen):
    """A method or a top-level function, and what its body does."""

    name: str
    line: int = 0
    end_line: int = 0
    params: tuple[Param, ...] = ()
    returns: str | None = None
    static: bool = False
    abstract: bool = False
    ctor: bool = False
    visibility: Visibility = "public"
    creates: tuple[str, ...] = Field((), description="Classes instantiated (not thrown)")
    news: tuple[New, ...] = ()
    calls: tuple[Call, ...] = ()
    writes: tuple[Write, ...] = ()
    rets: tuple[str, ...] = Field((), description="Value codes of what return statements return")
    loops: tuple[str, ...] = Field((), description="Own collection fields iterated")
    yields: bool = False
    empty: bool = Field(False, description="No real body (abstract in practice)")
    synthetic: bool = Field(False, description="A field initialiser seen as a method")
    decorators: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()
    is_async: bool = False
    virtual: bool = False


class ClassInfo(_Frozen):
    """A class, interface, trait, struct, enum, record, protocol or union."""

    name: str
    qualname: str
    kind: str = "class"
    abstract: bool = False
    bases: tuple[str, ...] = ()
    line: int = 0
    end_line: int = 0
    fields: tuple[FieldInfo, ...] = ()
    methods: tuple[MethodInfo, ...] = ()
    decorators: tuple[str, ...] = ()
    enum_constants: tuple[str, ...] = ()
    private_ctor: bool = False
    metaclass: str | None = None
    is_metaclass: bool = False
    property_fields: dict[str, str] = Field(default_factory=dict, description="Python: property → the field behind it")
    partial: bool = Field(False, description="Only seen through out-of-class members (Go receiver, C++ A::f)")
    deleted: tuple[str, ...] = Field((), description="C++: deleted constructors")


class StructureSummary(_Frozen):
    """Classes, top-level functions and module-level variables of one source file."""

    schema_version: Literal[2]
    uri: str | None = None
    doc_id: str | None = None
    language: str
    classes: tuple[ClassInfo, ...] = ()
    functions: tuple[MethodInfo, ...] = ()
    globals: tuple[FieldInfo, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_version(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "schema_version" in data:
            return data
        if data.get("version") == 1:
            return upgrade_v1(data)
        raise ValueError("a structure summary must carry its schema_version (or be the version 1 dict)")


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """The version 1 summary (an untyped dict with ``"version": 1``) in the current shape.

    Version 1 had the same fields and value codes; methods said ``async`` where they now say
    ``is_async``. Lists become tuples when the result is validated.

    >>> upgrade_v1({"version": 1, "language": "python", "classes": [], "functions": [
    ...     {"name": "f", "async": True, "calls": [["g:sleep", "__call__", "v", ["0"]]]}], "globals": []})["functions"]
    [{'name': 'f', 'calls': [['g:sleep', '__call__', 'v', ['0']]], 'is_async': True}]
    """
    def method(m: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in m.items() if k != "async"}
        if "async" in m:
            out["is_async"] = m["async"]
        return out

    out = {k: v for k, v in data.items() if k != "version"}
    out["schema_version"] = SCHEMA_VERSION
    out["classes"] = [dict(c, methods=[method(m) for m in c.get("methods") or []]) for c in data.get("classes") or []]
    out["functions"] = [method(m) for m in data.get("functions") or []]
    return out
