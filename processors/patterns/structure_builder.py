"""Building a structural summary: the mutable helpers both parsers fill, then :func:`finish_summary`.

The Python (``ast``) and the tree-sitter parsers walk a file and fill plain dicts (a class with
:func:`new_class`, a field with :func:`new_field`, a method body with :class:`MethodFacts`, in the
value encoding of :mod:`schemas.structure`); :func:`finish_summary` freezes what they built into the
typed, versioned :class:`~schemas.structure.StructureSummary` that detection reads and the set stage
stores. Type annotations written in any language are read by :func:`normalize_type`.
"""

from __future__ import annotations

import re
from typing import Any

from schemas.structure import SCHEMA_VERSION, StructureSummary

__all__ = ["MAX_CALLS", "MethodFacts", "alias_value", "finish_summary", "new_class", "new_field", "normalize_type",
           "simple_name"]

MAX_CALLS = 200  # per method: keeps pathological bodies bounded
MAX_ARGS = 4

_IDENT_RE = re.compile(r"[A-Za-z_$][\w$]*")
# wrappers whose (last) type argument is what matters
_WRAPPERS = frozenset({
    "Optional", "Option", "Box", "Rc", "Arc", "RefCell", "Cell", "Mutex", "RwLock", "Weak", "unique_ptr",
    "shared_ptr", "weak_ptr", "Ref", "RefMut", "Lazy", "OnceCell", "OnceLock", "LazyLock", "Pin", "Cow",
    "AtomicReference", "Supplier", "Provider", "Lazy", "ClassVar", "Final", "Annotated", "Required",
    "NotRequired", "ReadOnly", "Promise", "Future", "Awaitable", "Readonly", "Partial", "Nullable",
    "type", "Type", "dyn", "impl", "const", "mut", "struct", "class", "enum", "union", "typename", "volatile",
    "std", "java", "util", "typing", "collections", "abc", "t", "sync", "atomic", "rc", "cell", "boxed",
    "concurrent", "lang", "None", "null", "undefined", "NoneType", "optional", "ref", "Reference",
    "WeakReference", "SoftReference", "ManuallyDrop", "MaybeUninit", "NonNull", "Unique", "Own",
})
_LISTS = frozenset({
    "List", "ArrayList", "LinkedList", "Vec", "VecDeque", "vector", "list", "deque", "Deque", "ArrayDeque",
    "Set", "HashSet", "TreeSet", "LinkedHashSet", "BTreeSet", "set", "frozenset", "Collection", "Iterable",
    "Sequence", "MutableSequence", "AbstractSet", "MutableSet", "Array", "ReadonlyArray", "Queue",
    "PriorityQueue", "Stack", "tuple", "Tuple", "CopyOnWriteArrayList", "ConcurrentLinkedQueue",
    "BlockingQueue", "LinkedBlockingQueue", "Iterator", "Stream", "array", "forward_list", "multiset",
    "unordered_set", "priority_queue", "stack", "queue", "WeakSet", "SortedSet", "NavigableSet", "IList",
    "ICollection", "IEnumerable", "IReadOnlyList", "ObservableCollection", "BinaryHeap", "Slice",
})
_MAPS = frozenset({
    "Map", "HashMap", "TreeMap", "LinkedHashMap", "ConcurrentHashMap", "EnumMap", "WeakHashMap", "BTreeMap",
    "dict", "Dict", "OrderedDict", "defaultdict", "DefaultDict", "Mapping", "MutableMapping", "map",
    "unordered_map", "multimap", "unordered_multimap", "Record", "WeakValueDictionary", "WeakKeyDictionary",
    "Dictionary", "IDictionary", "ConcurrentMap", "SortedMap", "NavigableMap", "ChainMap", "Counter",
    "IdentityHashMap", "Hashtable", "MultiMap", "Multimap", "WeakMap",
})
_PRIMITIVES = frozenset({
    "int", "long", "short", "byte", "char", "float", "double", "bool", "boolean", "void", "str", "string",
    "String", "bytes", "object", "Object", "Any", "any", "unknown", "never", "number", "bigint", "symbol",
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "f32", "f64",
    "Integer", "Long", "Double", "Float", "Boolean", "Character", "Short", "Byte", "size_t", "ssize_t",
    "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t", "int16_t", "int32_t", "int64_t", "unsigned",
    "signed", "auto", "var", "Self", "self", "error", "rune", "uint", "uint8", "uint16", "uint32", "uint64",
    "int8", "int16", "int32", "int64", "float32", "float64", "complex64", "complex128", "uintptr", "bytearray",
    "Callable", "Function", "Runnable", "Consumer", "BiFunction", "Predicate", "Fn", "FnMut", "FnOnce",
    "function", "Number", "Void", "unit", "Unit", "str_", "complex", "interface", "Iterator", "Generator",
    "AsyncIterator", "Coroutine", "Awaitable", "Literal", "Union", "T", "K", "V", "E", "R", "U",
})


_PLACEHOLDERS = frozenset({"T", "K", "V", "E", "R", "U", "S", "Any", "any", "object", "Object", "unknown", "TypeVar",
                           "interface{}", "auto", "var", "dynamic"})


def simple_name(name: str | None) -> str | None:
    """Last segment of a qualified name: ``a.b.C`` / ``std::C`` / ``pkg.C[int]`` → ``C``."""
    if not name:
        return None
    ids = _IDENT_RE.findall(name.split("<", 1)[0].split("[", 1)[0].split("(", 1)[0])
    return ids[-1] if ids else None


def normalize_type(text: str | None) -> tuple[str | None, str | None, str | None]:
    """``(type, element type, collection kind)`` of a type annotation written in any language.

    >>> normalize_type("List<Observer>")
    ('List', 'Observer', 'list')
    >>> normalize_type("std::unique_ptr<Handler>")
    ('Handler', None, None)
    >>> normalize_type("map[string]*Flyweight")
    ('map', 'Flyweight', 'map')
    >>> normalize_type("Option<Box<dyn State>>")
    ('State', None, None)
    >>> normalize_type("dict[str, 'Shape'] | None")
    ('dict', 'Shape', 'map')
    >>> normalize_type("Observer[]")
    ('Array', 'Observer', 'list')
    """
    if not text:
        return None, None, None
    text = text.strip().lstrip(":").strip()
    if not text or len(text) > 300:
        return None, None, None
    if text.startswith("[]") or (text.endswith("[]") and "<" not in text[: text.find("[")]):
        inner = normalize_type(text[2:] if text.startswith("[]") else text[:-2])[0]
        return ("Array", inner, "list") if text.endswith("[]") else ("slice", inner, "list")
    if text.startswith("{") and "[" in text and ":" in text:  # TS index signature {[key: string]: T}
        idents = [i for i in _IDENT_RE.findall(text) if i not in _WRAPPERS]
        return "Record", (idents[-1] if idents else None), "map"
    if text.startswith("map["):
        idents = [i for i in _IDENT_RE.findall(text[text.find("]") + 1 :]) if i not in _WRAPPERS]
        return "map", (idents[-1] if idents else None), "map"
    if text.startswith("[") and ";" in text:  # Rust array [T; N]
        idents = [i for i in _IDENT_RE.findall(text) if i not in _WRAPPERS]
        return "Array", (idents[0] if idents else None), "list"
    idents = [i for i in _IDENT_RE.findall(text.replace("::", ".")) if i not in _WRAPPERS]
    if not idents:
        return None, None, None
    # qualified names: keep the last segment of each dotted run
    tokens: list[str] = []
    for m in re.finditer(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*", text.replace("::", ".")):
        parts = [p for p in m.group(0).split(".") if p not in _WRAPPERS]
        if parts:
            tokens.append(parts[-1])
    if not tokens:
        return None, None, None
    head = tokens[0]
    if head in _PLACEHOLDERS and len(tokens) == 1:
        return None, None, None  # type variables and top types say nothing about the object
    if head in _MAPS:
        vals = [t for t in tokens[1:] if t not in _LISTS and t not in _MAPS]
        return head, (vals[-1] if vals else None), "map"
    if head in _LISTS:
        vals = [t for t in tokens[1:] if t not in _LISTS and t not in _MAPS]
        return head, (vals[-1] if vals else None), "list"
    return head, None, None


def is_primitive(name: str | None) -> bool:
    return not name or name in _PRIMITIVES


def new_field(name: str, type_text: str | None = None, *, static: bool = False, final: bool = False,
              visibility: str = "public", line: int = 0, init: str | None = None) -> dict[str, Any]:
    t, elem, coll = normalize_type(type_text)
    return {"name": name, "type": t, "elem": elem, "coll": coll, "static": static, "final": final,
            "visibility": visibility, "line": line, "init": init}


def new_class(name: str, qualname: str, kind: str, line: int, end_line: int) -> dict[str, Any]:
    return {"name": name, "qualname": qualname, "kind": kind, "abstract": kind in ("interface", "trait", "protocol"),
            "bases": [], "line": line, "end_line": end_line, "fields": [], "methods": [], "decorators": [],
            "enum_constants": [], "private_ctor": False}


class MethodFacts:
    """Accumulates what one function body does (see the module doc for the encoding)."""

    __slots__ = ("d", "_ncalls", "_seen_calls")

    def __init__(self, name: str, line: int, end_line: int, *, static: bool = False, abstract: bool = False,
                 ctor: bool = False, visibility: str = "public") -> None:
        self.d: dict[str, Any] = {
            "name": name, "line": line, "end_line": end_line, "params": [], "returns": None, "static": static,
            "abstract": abstract, "ctor": ctor, "visibility": visibility, "creates": [], "news": [], "calls": [],
            "writes": [], "rets": [], "loops": [], "yields": False, "empty": False,
        }
        self._ncalls = 0
        self._seen_calls: set[tuple] = set()

    def param(self, name: str, type_text: str | None) -> None:
        t, elem, _ = normalize_type(type_text)
        self.d["params"].append([name, t, elem])

    def create(self, type_name: str | None, args: list[str] | None = None) -> None:
        if not type_name:
            return
        if type_name not in self.d["creates"]:
            self.d["creates"].append(type_name)
        if len(self.d["news"]) < 50:
            self.d["news"].append([type_name, (args or [])[:MAX_ARGS]])

    def call(self, recv: str, method: str, flags: str = "", args: list[str] | None = None) -> None:
        if self._ncalls >= MAX_CALLS:
            return
        args = (args or [])[:MAX_ARGS]
        key = (recv, method, flags, tuple(args))
        if key in self._seen_calls:
            return
        self._seen_calls.add(key)
        self._ncalls += 1
        self.d["calls"].append([recv, method, flags, args])

    def write(self, target: str, value: str, flags: str = "") -> None:
        w = [target, value, flags]
        if len(self.d["writes"]) < MAX_CALLS and w not in self.d["writes"]:
            self.d["writes"].append(w)

    def ret(self, value: str) -> None:
        if value not in self.d["rets"] and len(self.d["rets"]) < 20:
            self.d["rets"].append(value)

    def loop(self, field: str) -> None:
        if field not in self.d["loops"]:
            self.d["loops"].append(field)


def alias_value(value: str, aliases: dict[str, str]) -> str:
    """Rewrite a value naming a property (``f:builder``) to the field behind it (``f:_builder``)."""
    for prefix in ("f:", "e:", "k:", "r:f:", "fa:"):
        if value.startswith(prefix):
            name = value[len(prefix):]
            if name in aliases:
                return prefix + aliases[name]
            return value
    return value


def finish_summary(*, uri: str | None, doc_id: str | None, language: str, classes: list[dict[str, Any]],
                   functions: list[dict[str, Any]], globals_: list[dict[str, Any]]) -> StructureSummary:
    """What a parser built, frozen into the typed summary (validated: a parser bug fails here, loudly)."""
    return StructureSummary.model_validate({
        "schema_version": SCHEMA_VERSION, "uri": uri, "doc_id": doc_id, "language": language,
        "classes": classes, "functions": functions, "globals": globals_})
