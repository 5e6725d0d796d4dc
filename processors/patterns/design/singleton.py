"""Singleton: one instance handed out by a static accessor, ``__new__``, a metaclass or a module."""

from __future__ import annotations

from processors.patterns.design.detection import REPORT_MIN, Detection, name_hint
from processors.patterns.design.index import StructureIndex, real_methods

__all__ = ["detect_singletons"]


def detect_singletons(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        methods = c.methods
        if c.kind == "enum":
            if len(c.enum_constants) == 1 and (len(real_methods(c)) >= 1 or c.fields):
                const = c.enum_constants[0]
                out.append(Detection("singleton", 0.7 + (0.1 if const.upper() == "INSTANCE" else 0.0),
                                     {"singleton": [name]}, [f"enum with a single constant {const}"]))
            continue
        if c.is_metaclass:
            call = ix.methods.get(name, {}).get("__call__")
            if call is not None and any("m" in w.flags and w.value == "n:*" for w in call.writes):
                users = sorted(n for n, k in ix.classes.items() if k.metaclass == name)
                out.append(Detection("singleton", 0.85, {"singleton_metaclass": [name], "singleton": users},
                                     [f"{name}.__call__ caches one instance per class"]))
            continue
        static_self = [f for f in c.fields if f.static and (f.type == name or (f.elem == name and not f.coll))]
        written_self = {w.target[2:] for m in methods for w in m.writes
                        if w.target.startswith("f:") and w.value == "n:" + name and "m" not in w.flags and "a" not in w.flags}
        cand = [f.name for f in static_self]
        cand += [f.name for f in c.fields if f.static and f.name in written_self and f.name not in cand]
        shared = [m for m in methods if any(w.target == "f:__dict__" and w.value.startswith("f:") for w in m.writes)]
        if shared:
            src = next(w.value[2:] for m in shared for w in m.writes if w.target == "f:__dict__")
            sf = ix.fields.get(name, {}).get(src)
            if sf is not None and sf.static:
                out.append(Detection("singleton", 0.6, {"singleton": [name]},
                                     [f"instances share class-level state {src} (Borg / monostate)"]))
                continue
        if not cand:
            # holder idiom: a static accessor returning a static field of a nested/helper class typed as us
            for m in methods:
                if not m.static or m.ctor:
                    continue
                for r in m.rets:
                    if not r.startswith("s:"):
                        continue
                    holder, _, hf = r[2:].partition(".")
                    hfield = ix.fields.get(holder, {}).get(hf)
                    if hfield and hfield.static and hfield.type == name:
                        score = 0.6 + (0.3 if c.private_ctor else 0) + (0.05 if (hfield.init or "") == "n:" + name else 0)
                        out.append(Detection("singleton", min(score, 0.95), {
                            "singleton": [name], "instance": [f"{holder}.{hf}"], "accessor": [f"{name}.{m.name}"]},
                            [f"{m.name}() returns {holder}.{hf}, a static {name} held by {holder} (holder idiom)"]
                            + (["private constructor"] if c.private_ctor else [])))
                        break
                else:
                    continue
                break
            continue
        if len(static_self) > 1 and not c.private_ctor:
            continue  # several constants of the own type (Color.RED, Color.GREEN): not a singleton
        fname = cand[0]
        ref = "f:" + fname
        accessors = [m for m in methods if (m.static or m.name == "__new__") and not m.ctor and (
            ref in (m.rets) or ("r:" + ref) in (m.rets) or (
                ("n:" + name) in (m.rets) and any(w.target == ref and w.value == "n:" + name for w in m.writes)))]
        lazy = any(w.target == ref and w.value == "n:" + name and "c" in w.flags for m in methods for w in m.writes)
        fdict = ix.fields[name][fname]
        eager = (fdict.init or "") == "n:" + name or any(
            w.target == ref and w.value == "n:" + name for m in methods if m.synthetic for w in m.writes)
        new_control = any(m.name == "__new__" for m in accessors)
        outside = {k for k in ix.creators.get(name, set()) if k != name and k != "<function>"}
        score = 0.0
        ev = [f"static field {fname} holds the only {name}"]
        if accessors:
            score += 0.45
            ev.append(f"accessor {accessors[0].name}() returns it")
        elif eager and fdict.visibility == "public":
            score += 0.3
            ev.append(f"eagerly initialised public static {fname}")
        if c.private_ctor:
            score += 0.3
            ev.append("private constructor")
        elif new_control:
            score += 0.3
            ev.append("__new__ returns the cached instance")
        if lazy:
            score += 0.1
            ev.append("created lazily on first access")
        if name_hint([name, fname], ("singleton", "instance")):
            score += 0.05
        if outside:
            score -= 0.3
            ev.append("but also created by " + ", ".join(sorted(outside)))
        if score >= REPORT_MIN:
            roles = {"singleton": [name], "instance": [f"{name}.{fname}"]}
            if accessors:
                roles["accessor"] = [f"{name}.{accessors[0].name}"]
            out.append(Detection("singleton", min(score, 0.97), roles, ev))
    # module / package level: a global instance handed out by a function (Go sync.Once, Rust OnceLock, Python)
    for g_name, g in ix.globals.items():
        t = g.type if not g.coll else None
        creating = [fn for fn in ix.functions if any(w.target == "g:" + g_name and w.value.startswith("n:") for w in fn.writes)]
        if t not in ix.classes:
            kinds = {w.value[2:] for fn in creating for w in fn.writes if w.target == "g:" + g_name and w.value.startswith("n:")}
            t = next(iter(kinds)) if len(kinds) == 1 else None
            if (g.init or "").startswith("n:") and g.init[2:] in ix.classes:
                t = g.init[2:]
        if t not in ix.classes:
            continue
        getters = [fn for fn in ix.functions if ("g:" + g_name) in (fn.rets) or ("r:g:" + g_name) in (fn.rets)]
        if not getters:
            continue
        lazy = any("c" in w.flags or "l" in w.flags for fn in creating for w in fn.writes if w.target == "g:" + g_name) or any(
            c[0] == "g:" + g_name or c[1] == "Do" for fn in getters for c in fn.calls)
        outside = {k for k in ix.creators.get(t, set()) if k != "<function>"}
        score = 0.55 + (0.15 if lazy or creating else 0.0) + (0.05 if name_hint([g_name], ("instance", "singleton")) else 0)
        if outside:
            score -= 0.3
        if score >= REPORT_MIN:
            out.append(Detection("singleton", score, {"singleton": [t], "accessor": [getters[0].name]},
                                 [f"module-level {g_name} holds the single {t}, returned by {getters[0].name}()"]))
    return out
