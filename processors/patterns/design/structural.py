"""Structural patterns not found through one delegating field: composite, facade, flyweight."""

from __future__ import annotations

from collections import defaultdict

from processors.patterns.design.detection import REPORT_MIN, Detection, name_hint
from processors.patterns.design.index import LIFECYCLE, StructureIndex, all_methods, is_public

__all__ = ["detect_composites", "detect_facades", "detect_flyweights"]


def detect_composites(ix: StructureIndex) -> list[Detection]:
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
            loops_same = [(m.name, cl.method) for m in c.methods for cl in m.calls
                          if cl.recv == "e:" + fname and cl.method == m.name and not m.ctor and cl.method not in LIFECYCLE]
            adds = [m for m in c.methods if any(w.target == "f:" + fname and "a" in w.flags and w.value.startswith("p:") for w in m.writes)]
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
                    + (0.03 if name_hint([name, fname], ("composite", "children", "group", "container")) else 0)
            if score < REPORT_MIN:
                continue
            ops = sorted({m for m, _ in loops_same})
            out.append(Detection("composite", min(score, 0.95), {
                "component": [component] if component else [], "composite": [name], "leaf": sorted(leaves)[:8],
                "operation": [f"{name}.{o}" for o in ops[:4]]},
                [f"{name} holds children in {fname}" + (f" and forwards {', '.join(ops[:3])} to each" if ops else "")]))
            break
    return out


_NOT_SUBSYSTEM = frozenset({"String", "Object", "List", "Map", "Set", "Optional", "Exception", "Error"})


def detect_facades(ix: StructureIndex, taken: set[str]) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        if name in taken or ix.is_abstract(name):
            continue
        if name.startswith("Test") or name.endswith(("Test", "Tests")) or any("TestCase" in b for b in c.bases) \
                or sum(m.name.startswith("test") for m in c.methods) > len(c.methods) / 2:
            continue  # test scaffolding creates and calls everything it tests
        subsystems: dict[str, set[str]] = defaultdict(set)  # subsystem class → methods called
        created: set[str] = set()
        for m in c.methods:
            if m.name in ("main", "Main") or m.static and m.name.lower() == "main":
                continue
            local_new = {t for t in m.creates if t in ix.classes}
            for cl in m.calls:
                r = cl.recv
                t = None
                if r.startswith(("f:", "e:")):
                    t = ix.fclass(name, r[2:])
                elif r.startswith("t:") and r[2:] in ix.classes:
                    t = r[2:]
                if t and t != name and not ix.related(t, name) and t not in _NOT_SUBSYSTEM:
                    subsystems[t].add(cl.method)
            for w in m.writes:
                if w.target.startswith("f:") and w.value.startswith("n:") and w.value[2:] in ix.classes:
                    created.add(w.value[2:])
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
        orchestrating = [m.name for m in c.methods if is_public(m) and len({
            ix.fclass(name, cl.recv[2:]) if cl.recv.startswith(("f:", "e:")) else (cl.recv[2:] if cl.recv.startswith("t:") else None)
            for cl in m.calls} & set(subsystems)) >= 2]
        n_sub = len(subsystems)
        if not orchestrating and n_sub < 3:
            continue
        score = 0.45 + 0.1 * min(n_sub - 1, 3) + (0.1 if created & set(subsystems) else 0) + (0.05 if orchestrating else 0) \
            + (0.05 if name_hint([name], ("facade", "façade")) else 0)
        if score < REPORT_MIN:
            continue
        out.append(Detection("facade", min(score, 0.85), {"facade": [name], "subsystem": sorted(subsystems)[:10]},
                             [f"{name} orchestrates {n_sub} subsystem classes"
                              + (f" (e.g. {orchestrating[0]}() calls several)" if orchestrating else "")]))
    return out


def detect_flyweights(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for owner, m in all_methods(ix):
        if m.ctor:
            continue
        for target, value, flags in m.writes:
            if "m" not in flags or not target.startswith(("f:", "g:")):
                continue
            t = value[2:] if value.startswith("n:") else None
            if t is None and value.startswith("l:"):
                made = [x for x in m.creates if x in ix.classes]
                t = made[0] if len(made) == 1 else None
            if t is None or t == "*" or t not in ix.classes:
                continue
            fname = target[2:]
            if owner and ix.fcoll(owner, fname) not in ("map", None) and target.startswith("f:"):
                continue
            returns_pooled = any(r.startswith(("k:", "r:f:")) and r.endswith(fname) or r == "k:" + fname for r in m.rets) \
                or ("n:" + t) in (m.rets) or any(r.startswith("l:") for r in m.rets)
            if not returns_pooled:
                continue
            cond = "c" in flags or any("c" in cl.flags for cl in m.calls)
            fw = ix.classes[t]
            immutable = all(f.final or f.visibility == "private" for f in fw.fields) if fw.fields else True
            if t == owner and m.name != "__new__":
                continue
            score = 0.6 + (0.15 if cond else 0) + (0.1 if immutable else 0) \
                + (0.05 if name_hint([m.name, fname, owner or "", t], ("flyweight", "pool", "cache", "intern", "shared")) else 0)
            roles = {"flyweight_factory": [owner] if owner else [m.name], "flyweight": [t], "pool": [f"{owner}.{fname}" if owner else fname]}
            out.append(Detection("flyweight", min(score, 0.95), roles,
                                 [f"{m.name}() returns the pooled {t} for a key, creating it only when missing"]))
            break
    return out
