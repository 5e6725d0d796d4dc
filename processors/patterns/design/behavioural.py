"""Behavioural patterns of one hierarchy: command, interpreter, iterator, memento, template method."""

from __future__ import annotations

from processors.patterns.design.detection import Detection, name_hint
from processors.patterns.design.index import StructureIndex, is_public, real_methods

__all__ = ["detect_commands", "detect_interpreters", "detect_iterators", "detect_mementos",
           "detect_template_methods"]


_ITER_PROTOCOL_BASES = frozenset({"Iterator", "ListIterator", "Enumeration", "IEnumerator", "Iterable",
                                  "IterableIterator", "AsyncIterator", "Spliterator"})


def detect_commands(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if not ix.is_abstract(name) and not (ix.subs(name) and all(m.empty for m in real_methods(c))):
            continue
        ops = [m for m in real_methods(c) if not m.ctor and is_public(m)]
        if not 1 <= len(ops) <= 3 or any(len(m.params) > 2 for m in ops):
            continue
        op_names = {m.name for m in ops}
        fam = ix.family(name)
        concrete = [s for s in ix.concrete_subs(name) if op_names & set(ix.methods.get(s, {}))]
        if not concrete:
            continue
        with_receiver: list[str] = []
        receivers: set[str] = set()
        for s in concrete:
            for fn, fd in ix.fields.get(s, {}).items():
                rt = ix.fclass(s, fn)
                if rt in fam or fd.static:
                    continue  # static fields are loggers/constants, not receivers
                if rt is None and ix.ftype.get((s, fn), (None,))[0] is not None:
                    continue  # typed by a library type (String, Logger …)
                if any(cl.recv == "f:" + fn for m in ix.classes[s].methods if m.name in op_names for cl in m.calls):
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
            for m in c2.methods:
                for cl in m.calls:
                    if cl.method in op_names and (cl.recv[2:] in cmd_fields and cl.recv[:2] in ("f:", "e:", "k:") or
                                              cl.recv.startswith("p:") and ix.pclass(n2, m, cl.recv[2:]) in fam):
                        hit = True
                        if any(a not in ("0",) for a in cl.args):
                            bare_calls = False
            if hit:
                invokers.append(n2)
        if not invokers and len(with_receiver) < 2:
            continue
        parameterless = all(len(m.params) == 0 for m in ops)
        named = name_hint(op_names | {name}, ("execute", "command", "undo", "redo", "invoke", "action", "perform", "run"))
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


def detect_interpreters(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if not ix.polymorphic(name):
            continue
        fam = ix.family(name)
        for m in c.methods:
            if m.ctor or not (m.abstract or m.empty):
                continue
            op = m.name
            nonterm, term = [], []
            binary = False
            for s in sorted(ix.subs(name)):
                sm = ix.methods.get(s, {}).get(op)
                if sm is None:
                    continue
                if any(cl.recv.startswith("e:") and cl.method == op for cl in sm.calls):
                    nonterm = []
                    break  # children in a collection: a composite, not a grammar rule
                rec_fields = {cl.recv[2:] for cl in sm.calls if cl.recv.startswith("f:") and cl.method == op
                              and not ix.fcoll(s, cl.recv[2:])}
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
                + (0.05 if any(len(ix.methods[s][op].params) >= 1 for s in nonterm) else 0) \
                + (0.05 if name_hint([op, name], ("interpret", "evaluat", "expression", "eval")) else 0)
            out.append(Detection("interpreter", min(score, 0.95), {
                "abstract_expression": [name], "nonterminal_expression": nonterm[:8], "terminal_expression": term[:8],
                "interpret": [f"{name}.{op}"]},
                [f"non-terminals {', '.join(nonterm[:4])} evaluate child expressions with {op}(); terminals {', '.join(term[:4])}"]))
            break
    return out


def detect_iterators(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        mnames = set(ix.methods.get(name, {}))
        lang = ix.lang.get(name, "")
        proto = None
        if {"hasNext", "next"} <= mnames or ({"has_next", "next"} <= mnames) or {"HasNext", "Next"} <= mnames:
            proto = "hasNext/next"
        elif "__next__" in mnames:
            proto = "__next__"
        elif "next" in mnames and (set(c.bases) & _ITER_PROTOCOL_BASES):
            proto = "Iterator"
        elif lang == "cpp" and {"operator++", "operator*"} <= mnames:
            proto = "operator++/operator*"
        elif lang == "go" and "Next" in mnames and ({"Value", "Item", "Current", "Key"} & mnames):
            proto = "Next/Value"
        elif lang in ("javascript", "typescript", "tsx") and "next" in mnames and any(
                r == "{}" for r in ix.methods[name]["next"].rets) and any(
                f.type in ("number",) or (f.init == "0") for f in c.fields):
            proto = "next() → {value, done}"
        if proto:
            aggregates = sorted({n for n, k in ix.classes.items() if n != name and any(
                ("n:" + name) in (m.rets) or (name in (m.creates) and m.name in (
                    "__iter__", "iterator", "createIterator", "Iterator", "iter", "begin", "getIterator", "[Symbol.iterator]"))
                for m in k.methods)})
            position = any(f.type in ("int", "usize", "number", "Integer", "size_t") or f.init == "0" for f in c.fields)
            score = 0.6 + (0.2 if aggregates else 0) + (0.1 if position else 0) + (0.05 if proto in ("hasNext/next", "__next__") else 0)
            out.append(Detection("iterator", min(score, 0.95), {"iterator": [name], "aggregate": aggregates[:4]},
                                 [f"{name} implements the {proto} protocol" + (f"; created by {', '.join(aggregates[:3])}" if aggregates else "")]))
            continue
        it = ix.methods.get(name, {}).get("__iter__")
        if it is not None and it.yields and it.loops:
            out.append(Detection("iterator", 0.5, {"aggregate": [name]},
                                 [f"{name}.__iter__ yields the elements of {it.loops[0]} (generator iterator)"]))
    return out


def detect_mementos(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        for m in c.methods:
            if m.ctor or m.static:
                continue
            for t, args in m.news:
                if t == name or t not in ix.classes or ix.related(t, name):
                    continue
                if not ((("n:" + t) in (m.rets)) or any(r.startswith("l:") for r in m.rets)):
                    continue
                if not any(a.startswith(("f:", "r:self", "c")) or a == "self" for a in args) and args:
                    continue
                mtypes = {t} | ix.supers(t)
                restore = [r for r in c.methods if r is not m and any(
                    (p.type in mtypes or p.elem in mtypes or ix.pclass(name, r, p.name) in mtypes) for p in r.params) and any(
                    w.target.startswith("f:") and w.value.startswith(("pa:", "p:", "x", "r:")) for w in r.writes)]
                if not restore:
                    continue
                mc = ix.classes[t]
                data_only = len([x for x in real_methods(mc) if not x.ctor]) <= max(3, len(mc.fields) + 1)
                caretakers = [n for n, k in ix.classes.items() if n not in (name, t) and (
                    any(ix.fclass(n, fn) == t for fn in ix.fields.get(n, {})) or any(
                        cl.method in (m.name, restore[0].name) for km in k.methods for cl in km.calls))]
                score = 0.6 + (0.15 if caretakers else 0) + (0.1 if data_only else 0) \
                    + (0.05 if name_hint([m.name, t, restore[0].name], ("memento", "snapshot", "save", "restore", "undo", "state")) else 0)
                out.append(Detection("memento", min(score, 0.95), {
                    "originator": [name], "memento": [t], "caretaker": sorted(caretakers)[:4]},
                    [f"{name}.{m.name}() captures its state in a {t}; {restore[0].name}({t}) restores it"]))
                break
            else:
                continue
            break
    return out


def detect_template_methods(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        subs = ix.subs(name)
        if not subs:
            continue
        for m in c.methods:
            if m.abstract or m.empty or m.ctor or m.static or m.synthetic:
                continue
            called = []
            for cl in m.calls:
                if cl.recv != "self" or cl.method == m.name or cl.method in called:
                    continue
                pm = ix.methods.get(name, {}).get(cl.method)
                if pm is None or pm.ctor:
                    continue
                if pm.abstract or pm.empty or ix.overridden_in(name, cl.method):
                    called.append(cl.method)
            if len(called) < 2 or not any(ix.methods[name][p].abstract or ix.overridden_in(name, p) for p in called):
                continue
            overriders = sorted({s for s in subs for p in called if p in ix.methods.get(s, {})})
            if not overriders:
                continue
            if any(m.name in ix.methods.get(s, {}) for s in overriders):
                continue  # subclasses replace the skeleton itself
            abstract_steps = [p for p in called if ix.methods[name][p].abstract or ix.methods[name][p].empty]
            score = 0.6 + (0.1 if len(called) >= 3 else 0) + (0.1 if len(overriders) >= 2 else 0) \
                + (0.1 if abstract_steps else 0) + (0.03 if ix.is_abstract(name) else 0)
            out.append(Detection("template_method", min(score, 0.95), {
                "abstract_class": [name], "concrete_class": overriders[:8], "template_method": [f"{name}.{m.name}"],
                "primitive_operations": [f"{name}.{p}" for p in called[:6]]},
                [f"{name}.{m.name}() calls steps {', '.join(called[:5])} that subclasses implement"]))
            break
    return out
