"""Python idioms worth finding, as tags on function/method/class patterns (``ast`` only).

=======================  ===============================================================================
tag                      what it keys on (evidence: line numbers and names)
=======================  ===============================================================================
context_manager          ``__enter__``/``__exit__`` (or ``__aenter__``/``__aexit__``) on a class;
                         ``@contextmanager``/``@asynccontextmanager`` generator functions
retry_backoff            a loop containing ``try``/``except`` and a ``sleep`` whose delay grows
                         (``delay *= 2``, ``2 ** attempt``, ``min(delay * 2, cap)``), or retry decorators
                         with exponential waits (tenacity ``wait_exponential``, ``backoff.expo``)
retry                    the same loop + try/except + sleep with a fixed delay, or a plain retry decorator
caching                  ``@lru_cache``/``@cache``/``@cached_property``/``@cached``; memo dicts: a lookup
                         of a key in a dict attribute/global, a store under that key, and a return of it
async_fanout             ``asyncio.gather``/``wait``/``as_completed``, ``TaskGroup`` with ``create_task``,
                         ``create_task``/``ensure_future`` inside a loop or comprehension
concurrent_fanout        ``executor.submit`` in a loop or ``executor.map`` (threads/processes)
dependency_injection     constructor parameters stored on ``self`` and used as collaborators (methods
                         called on them elsewhere); confidence by how they are typed: abstract /
                         ``Protocol`` classes > concrete classes > untyped
=======================  ===============================================================================

>>> import ast
>>> src = '''
... import time
... def fetch(url):
...     delay = 0.5
...     for attempt in range(5):
...         try:
...             return get(url)
...         except IOError:
...             time.sleep(delay)
...             delay *= 2
... '''
>>> [(t.name, t.confidence) for t in function_tags(ast.parse(src).body[1])]
[('retry_backoff', 0.9)]
"""

from __future__ import annotations

import ast
import re

from processors.patterns.python.syntax import last_name
from schemas.patterns import PatternTag
from schemas.structure import ClassInfo

__all__ = ["class_tags", "function_tags"]

_CACHE_DECORATORS = {"lru_cache": 0.95, "cache": 0.95, "cached_property": 0.9, "cached": 0.85, "memoize": 0.85,
                     "memoized": 0.85, "cache_result": 0.8}
_RETRY_DECORATORS = {"retry", "retrying", "on_exception", "on_predicate", "retry_on_exception", "with_retry"}
_BACKOFF_HINTS = ("exponential", "expo", "backoff", "fibo", "multiplier")
_SLEEP_NAMES = {"sleep"}
_FANOUT_CALLS = {"gather": 0.9, "wait": 0.8, "as_completed": 0.8}
_TASK_CALLS = {"create_task", "ensure_future", "start_soon", "spawn"}
_NOT_COLLABORATOR_TYPES = {"list", "dict", "set", "tuple", "str", "int", "float", "bool", "bytes", "List", "Dict",
                           "Set", "Tuple", "Sequence", "Mapping", "Iterable", "Optional", "Any", "object", "type"}
_CONTAINER_METHODS = {"append", "extend", "pop", "get", "items", "keys", "values", "add", "remove", "update", "copy",
                      "clear", "insert", "index", "count", "setdefault", "discard", "join", "split", "format",
                      "startswith", "endswith", "strip", "lower", "upper", "encode", "decode", "replace"}


def _tag(name: str, confidence: float, evidence: list[str]) -> PatternTag:
    return PatternTag(name=name, confidence=round(confidence, 2), evidence=evidence[:6])


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _walk_local(node: ast.AST):
    """``ast.walk`` that does not descend into nested functions/classes (their own patterns)."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(n))


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


# --------------------------------------------------------------------------- functions

def _retry(fn: ast.AST, nodes: list[ast.AST]) -> PatternTag | None:
    for dec in getattr(fn, "decorator_list", []):
        n = last_name(dec)
        if n in _RETRY_DECORATORS:
            src = ast.unparse(dec)
            if any(h in src.lower() for h in _BACKOFF_HINTS):
                return _tag("retry_backoff", 0.85, [f"line {dec.lineno}: @{src[:80]}"])
            return _tag("retry", 0.7, [f"line {dec.lineno}: @{src[:80]}"])
    if not any(isinstance(n, ast.Call) and last_name(n) in _SLEEP_NAMES for n in nodes):
        return None
    for loop in nodes:
        if not isinstance(loop, (ast.For, ast.While, ast.AsyncFor)):
            continue
        tries = [n for n in _walk_local(loop) if isinstance(n, (ast.Try, getattr(ast, "TryStar", ast.Try)))]
        if not tries:
            continue
        sleeps = [n for n in _walk_local(loop) if isinstance(n, ast.Call) and last_name(n) in _SLEEP_NAMES]
        if not sleeps:
            continue
        sleep = sleeps[0]
        ev = [f"line {loop.lineno}: loop retries", f"line {tries[0].lineno}: try/except",
              f"line {sleep.lineno}: {ast.unparse(sleep)[:60]}"]
        arg = sleep.args[0] if sleep.args else (sleep.keywords[0].value if sleep.keywords else None)
        grows = None
        if arg is not None:
            if any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Pow, ast.LShift)) for n in ast.walk(arg)):
                grows = f"line {sleep.lineno}: exponential delay {ast.unparse(arg)[:50]}"
            elif isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mult):
                loop_vars = _names_in(loop.target) if isinstance(loop, (ast.For, ast.AsyncFor)) else set()
                if _names_in(arg) & (loop_vars | {"attempt", "attempts", "retry", "retries", "tries", "n", "i"}):
                    grows = f"line {sleep.lineno}: delay grows with the attempt ({ast.unparse(arg)[:50]})"
            delay_names = _names_in(arg)
            for n in ast.walk(fn):
                if isinstance(n, ast.AugAssign) and isinstance(n.target, (ast.Name, ast.Attribute)) and \
                        last_name(n.target) in delay_names and isinstance(n.op, (ast.Mult, ast.LShift, ast.Pow, ast.Add)):
                    if isinstance(n.op, ast.Add) and not any(h in last_name(n.target).lower() for h in ("delay", "backoff", "wait", "sleep", "interval")):
                        continue
                    grows = f"line {n.lineno}: {ast.unparse(n)[:60]}"
                    break
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and last_name(n.targets[0]) in delay_names and \
                        last_name(n.targets[0]) in _names_in(n.value) and any(
                            isinstance(b, ast.BinOp) and isinstance(b.op, (ast.Mult, ast.Pow, ast.LShift)) for b in ast.walk(n.value)):
                    grows = f"line {n.lineno}: {ast.unparse(n)[:60]}"
                    break
            if grows is None and any(h in " ".join(delay_names).lower() for h in ("backoff",)):
                grows = f"line {sleep.lineno}: backoff delay"
        if grows:
            return _tag("retry_backoff", 0.9, ev + [grows])
        return _tag("retry", 0.6, ev)
    return None


def _caching(fn: ast.AST, nodes: list[ast.AST]) -> PatternTag | None:
    for dec in getattr(fn, "decorator_list", []):
        n = last_name(dec)
        if n in _CACHE_DECORATORS:
            return _tag("caching", _CACHE_DECORATORS[n], [f"line {dec.lineno}: @{ast.unparse(dec)[:60]}"])
    # memo dict: `if key in CACHE` / `CACHE.get(key)` … `CACHE[key] = v` … `return CACHE[key]` (or the value)
    lookups: dict[str, int] = {}
    stores: dict[str, int] = {}
    for n in nodes:
        if isinstance(n, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops):
            for c in n.comparators:
                d = _dotted(c)
                if d:
                    lookups.setdefault(d, n.lineno)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("get", "__contains__") and n.args:
            d = _dotted(n.func.value)
            if d:
                lookups.setdefault(d, n.lineno)
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Subscript):
                    d = _dotted(t.value)
                    if d:
                        stores.setdefault(d, n.lineno)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "setdefault" and len(n.args) == 2:
            d = _dotted(n.func.value)
            if d:
                lookups.setdefault(d, n.lineno)
                stores.setdefault(d, n.lineno)
    params = {a.arg for a in getattr(getattr(fn, "args", None), "args", [])}
    for name in lookups:
        if name in stores and name.split(".")[0] not in params - {"self", "cls"}:
            has_return = any(isinstance(n, ast.Return) and n.value is not None for n in nodes)
            if not has_return:
                continue
            conf = 0.8 if any(h in name.lower() for h in ("cache", "memo", "_seen", "lookup")) else 0.65
            return _tag("caching", conf, [f"line {lookups[name]}: looks up {name}", f"line {stores[name]}: stores into {name}"])
    return None


def _fanout(fn: ast.AST, nodes: list[ast.AST]) -> list[PatternTag]:
    out: list[PatternTag] = []
    names = {last_name(n) for n in nodes if isinstance(n, ast.Call)}
    if not names & ({"TaskGroup", "submit", "map"} | set(_FANOUT_CALLS) | _TASK_CALLS):
        return out
    loops = [n for n in nodes if isinstance(n, (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp,
                                                ast.GeneratorExp, ast.DictComp))]
    in_loop: set[int] = set()
    for lp in loops:
        for n in ast.walk(lp):
            in_loop.add(id(n))
    async_ev: list[str] = []
    conf = 0.0
    thread_ev: list[str] = []
    for n in nodes:
        if isinstance(n, ast.Call):
            name = last_name(n)
            target = _dotted(n.func)
            if name in _FANOUT_CALLS and ("asyncio" in target or "trio" in target or name == "gather"):
                async_ev.append(f"line {n.lineno}: {target or name}(…)")
                conf = max(conf, _FANOUT_CALLS[name])
            elif name in _TASK_CALLS and id(n) in in_loop:
                async_ev.append(f"line {n.lineno}: {target} in a loop")
                conf = max(conf, 0.85)
            elif name == "TaskGroup":
                async_ev.append(f"line {n.lineno}: {target or name}()")
                conf = max(conf, 0.9 if names & _TASK_CALLS else 0.7)
            elif name == "submit" and id(n) in in_loop:
                thread_ev.append(f"line {n.lineno}: {target}(…) in a loop")
            elif name == "map" and isinstance(n.func, ast.Attribute) and any(
                    h in _dotted(n.func.value).lower() for h in ("executor", "pool")):
                thread_ev.append(f"line {n.lineno}: {target}(…)")
    if async_ev:
        out.append(_tag("async_fanout", conf, async_ev))
    if thread_ev:
        out.append(_tag("concurrent_fanout", 0.8, thread_ev))
    return out


def _contextmanager_fn(fn: ast.AST, nodes: list[ast.AST]) -> PatternTag | None:
    for dec in getattr(fn, "decorator_list", []):
        if last_name(dec) in ("contextmanager", "asynccontextmanager"):
            ev = [f"line {dec.lineno}: @{ast.unparse(dec)}"]
            ys = [n for n in nodes if isinstance(n, (ast.Yield,))]
            if ys:
                ev.append(f"line {ys[0].lineno}: yield")
            if any(isinstance(n, ast.Try) and n.finalbody for n in nodes):
                ev.append("cleanup in finally")
            return _tag("context_manager", 0.95, ev)
    return None


_QUICK_RE = re.compile(r"sleep|cache|memo|retry|backoff|gather|create_task|ensure_future|TaskGroup|submit|\.map\(|"
                       r"as_completed|wait\(|contextmanager|\]\s*=[^=]|setdefault|start_soon")


def function_tags(fn: ast.FunctionDef | ast.AsyncFunctionDef, source: str | None = None) -> list[PatternTag]:
    """Idiom tags of one function or method (never raises). ``source`` (the function's text), when
    given, lets functions without any idiom keyword skip the tree walk."""
    out: list[PatternTag] = []
    if source is not None and not _QUICK_RE.search(source):
        return out
    try:
        nodes = list(_walk_local(fn))
        for t in (_contextmanager_fn(fn, nodes), _retry(fn, nodes), _caching(fn, nodes)):
            if t is not None:
                out.append(t)
        out.extend(_fanout(fn, nodes))
    except (RecursionError, ValueError, AttributeError):  # pragma: no cover - exotic trees
        return out
    return out


# --------------------------------------------------------------------------- classes

def class_tags(node: ast.ClassDef, summary_class: ClassInfo | None, abstract_names: set[str]) -> list[PatternTag]:
    """Idiom tags of one class: context manager protocol, dependency injection."""
    out: list[PatternTag] = []
    methods = {n.name: n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for enter, exit_ in (("__enter__", "__exit__"), ("__aenter__", "__aexit__")):
        if enter in methods and exit_ in methods:
            out.append(_tag("context_manager", 0.95, [f"line {methods[enter].lineno}: {enter}",
                                                       f"line {methods[exit_].lineno}: {exit_}"]))
            break
    if summary_class is not None:
        di = _dependency_injection(summary_class, abstract_names)
        if di is not None:
            out.append(di)
    return out


def _dependency_injection(c: ClassInfo, abstract_names: set[str]) -> PatternTag | None:
    ctor = next((m for m in c.methods if m.name == "__init__"), None)
    if ctor is None:
        return None
    ptypes = {p.name: p.type for p in ctor.params}
    injected: dict[str, str] = {}  # field → param
    for target, value, _flags in ctor.writes:
        if target.startswith("f:") and value.startswith("p:") and value[2:] in ptypes:
            injected[target[2:]] = value[2:]
    if not injected:
        return None
    best = 0.0
    ev: list[str] = []
    for field, param in injected.items():
        t = ptypes.get(param)
        if t in _NOT_COLLABORATOR_TYPES:
            continue
        uses = [(m.name, m.line, cl.method) for m in c.methods if m is not ctor for cl in m.calls
                if cl.recv == "f:" + field and cl.method not in _CONTAINER_METHODS and not cl.method.startswith("=")]
        if not uses:
            continue
        if t and (t in abstract_names or t.endswith(("Protocol", "Interface", "ABC", "Port"))):
            conf, kind = 0.9, f"{t} (abstract)"
        elif t:
            conf, kind = 0.75, t
        else:
            conf, kind = 0.55, "untyped"
        best = max(best, conf)
        m_name, line, called = uses[0]
        ev.append(f"{param}: {kind} stored as self.{field}, used in {m_name}() (line {line}: .{called}())")
    if not ev:
        return None
    if len(ev) >= 2:
        best = min(0.95, best + 0.05)
    return _tag("dependency_injection", best, ev)
