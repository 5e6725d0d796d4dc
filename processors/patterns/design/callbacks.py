"""Patterns of objects calling each other back: observer, mediator, visitor (double dispatch)."""

from __future__ import annotations

import re
from collections import defaultdict

from processors.patterns.design.detection import Detection, name_hint
from processors.patterns.design.index import StructureIndex
from schemas.structure import Call

__all__ = ["detect_observers_and_mediators", "detect_visitors"]


def detect_observers_and_mediators(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    mediated: set[str] = set()
    # who calls a field holding which class: target class → {caller class: [calls]}
    callers: dict[str, dict[str, list[Call]]] = defaultdict(lambda: defaultdict(list))
    for n2, c2 in ix.classes.items():
        for m in c2.methods:
            for cl in m.calls:
                if cl.recv.startswith("f:") and not cl.method.startswith("="):
                    t = ix.fclass(n2, cl.recv[2:])
                    if t is not None and not ix.fcoll(n2, cl.recv[2:]):
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
                colleagues[n2] = calls[0].method + ("(self)" if any("s" in cl.flags for cl in calls) else "")
        if len(colleagues) < 2 and not (colleagues and any(ix.subs(k) for k in colleagues)):
            continue
        col_family = set()
        for k in colleagues:
            col_family |= ix.family(k) | (ix.supers(k) & set(ix.classes))
        col_methods = set()
        for k in col_family:
            col_methods |= set(ix.methods.get(k, {}))
        back = []
        for m in c.methods:
            for cl in m.calls:
                if cl.recv.startswith(("f:", "e:", "p:", "k:")) and cl.method in col_methods:
                    tgt = ix.fclass(name, cl.recv[2:]) if cl.recv[:2] in ("f:", "e:", "k:") else ix.pclass(name, m, cl.recv[2:])
                    if tgt in col_family or (tgt is None and not cl.recv.startswith("p:")):
                        back.append(f"{m.name}→{tgt or 'colleague'}.{cl.method}")
        if not back:
            continue
        passes_self = any(v.endswith("(self)") for v in colleagues.values())
        score = 0.6 + (0.15 if passes_self else 0) + (0.1 if any(ix.is_abstract(s) for s in ix.supers(name)) or ix.is_abstract(name) else 0) \
            + (0.05 if len(colleagues) >= 3 else 0) + (0.05 if name_hint([name], ("mediator", "hub", "room", "controller", "dispatcher", "tower")) else 0)
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
            adders = [m for m in c.methods if not m.ctor and any(
                w.target == ref and ("a" in w.flags or "m" in w.flags) and w.value.startswith("p:") for w in m.writes)]
            if not adders:
                continue
            notify = [(m, cl) for m in c.methods for cl in m.calls
                      if cl.recv == "e:" + fname and "v" in cl.flags and not cl.method.startswith("=")
                      and not re.match(r"(get|is|has|to|as)[A-Z_]", cl.method) and cl.method not in ("__len__",)]
            if not notify:
                continue
            if any(cl.method == m.name for m, cl in notify):
                continue  # same operation forwarded to children: composite
            removers = [m for m in c.methods if any(cl.recv == ref and cl.method in ("remove", "discard", "delete", "removeListener",
                                                                                     "erase", "Remove", "splice", "filter", "retain")
                                                    for cl in m.calls)]
            obs_type = ix.fclass(name, fname)
            impls = ix.concrete_subs(obs_type) if obs_type else []
            if obs_type == name or (obs_type and obs_type in ix.supers(name)):
                continue
            callback = all(cl.method == "__call__" for _, cl in notify)
            score = 0.6 + (0.15 if obs_type and (ix.is_abstract(obs_type) or impls) else 0) + (0.1 if removers else 0) \
                + (0.05 if any("s" in cl.flags for _, cl in notify) else 0) \
                + (0.05 if name_hint([fname, notify[0][0].name, adders[0].name], ("observer", "listener", "subscriber", "notify", "subscribe", "attach", "handler", "callback", "watcher")) else 0)
            roles = {"subject": [name], "observer": [obs_type] if obs_type else [], "concrete_observer": impls[:8]}
            out.append(Detection("observer", min(score, 0.95), roles, [
                f"{adders[0].name}() registers into {fname}; {notify[0][0].name}() "
                + ("calls each callback" if callback else f"calls {notify[0][1].method}() on each")
                + (f"; {removers[0].name}() unregisters" if removers else "")]))
            break
    return out


def detect_visitors(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    accepts: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)  # accept name → (element, visitor param, op, vtype)
    for name, c in ix.classes.items():
        for m in c.methods:
            params = {p.name for p in m.params}
            for cl in m.calls:
                if cl.recv.startswith("p:") and cl.recv[2:] in params and "s" in cl.flags and cl.method != m.name and not cl.method.startswith("="):
                    vt = ix.pclass(name, m, cl.recv[2:])
                    accepts[m.name].append((name, cl.recv[2:], cl.method, vt))
                    break
    for aname, items in accepts.items():
        elements = sorted({e for e, _, _, _ in items})
        ops = {op for _, _, op, _ in items}
        vtypes = {vt for _, _, _, vt in items if vt}
        vtype = next(iter(vtypes)) if len(vtypes) == 1 else (ix.common_base(vtypes) if vtypes else None)
        if vtype is None:
            vtype = ix.owner_of_methods(ops) if len(ops) >= 1 else None
        if len(elements) < 2 and not (vtype and len(ix.methods.get(vtype, {})) >= 2):
            continue
        if vtype and vtype in elements:
            continue
        vmethods = ix.methods.get(vtype, {}) if vtype else {}
        per_element = len(ops) >= 2 or sum(1 for m in vmethods.values() if any(
            (p.type in elements or p.elem in elements) for p in m.params)) >= 2
        if not per_element and len(elements) < 2:
            continue
        # observers registering themselves (subject.attach(this)) are not visitors
        if ops <= {"attach", "register", "subscribe", "add", "addObserver", "addListener", "append", "register_observer"}:
            continue
        concrete_visitors = ix.concrete_subs(vtype) if vtype else []
        score = 0.6 + (0.15 if per_element else 0) + (0.1 if concrete_visitors else 0) + (0.05 if len(elements) >= 3 else 0) \
            + (0.05 if name_hint([aname, *ops], ("accept", "visit")) else 0)
        out.append(Detection("visitor", min(score, 0.95), {
            "visitor": [vtype] if vtype else [], "concrete_visitor": concrete_visitors[:6], "element": elements[:10]},
            [f"{', '.join(elements[:4])}.{aname}(v) call back v.{'/'.join(sorted(ops)[:4])}(this) (double dispatch)"]))
    # reflective visitors: visit_<Class> methods (Python NodeVisitor style)
    for name, c in ix.classes.items():
        vm = [m.name for m in c.methods if re.match(r"visit_?([A-Z]\w*)$", m.name)]
        dynamic = any(cl.recv == "self" and cl.method == "getattr" for m in c.methods for cl in m.calls) and \
            any(m.name.startswith("visit") for m in c.methods)
        if len(vm) < 2 and not (dynamic and vm):
            continue
        if any(d.roles.get("visitor") == [name] or name in d.roles.get("concrete_visitor", []) for d in out):
            continue
        dispatch = any(cl.method == "getattr" or cl.recv == "g:getattr" for m in c.methods for cl in m.calls) or \
            any("visit" in s.lower() for s in ix.supers(name))
        targets = [re.match(r"visit_?([A-Z]\w*)$", n).group(1) for n in vm]
        known = [t for t in targets if t in ix.classes]
        score = 0.5 + (0.1 if dispatch else 0) + (0.1 if len(known) >= 2 else 0)
        out.append(Detection("visitor", score, {"visitor": [name], "element": known[:8]},
                             [f"{name} has one visit method per node type ({', '.join(vm[:5])})"]))
    return out
