"""Creational patterns besides singleton: factory method, abstract factory, builder, prototype."""

from __future__ import annotations

from collections import defaultdict

from processors.patterns.design.detection import REPORT_MIN, Detection, name_hint
from processors.patterns.design.index import (GENERIC_METHODS, StructureIndex, all_methods,
                                             is_public, real_methods, returned_new)

__all__ = ["detect_builders", "detect_factories", "detect_prototypes"]


def detect_factories(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        subs = ix.subs(name)
        if not subs and not ix.is_abstract(name):
            continue
        fm_methods: list[tuple[str, dict[str, list[str]], str | None]] = []
        for m in c.methods:
            if m.ctor or m.synthetic or m.name.startswith("__") and m.name != "__call__":
                continue
            if not (m.abstract or m.empty or subs):
                continue
            product = m.returns if m.returns in ix.classes else None
            impls: dict[str, list[str]] = {}
            for s in sorted(subs):
                sm = ix.methods.get(s, {}).get(m.name)
                if sm is None or sm.abstract:
                    continue
                made = {t for t in returned_new(sm) if t in ix.classes and t != s and t not in ix.family(name)}
                if product:
                    made = {t for t in made if t == product or product in ix.supers(t)}
                if made:
                    impls[s] = sorted(made)
            if not impls:
                continue
            if not product:
                allp = {t for ts in impls.values() for t in ts}
                base = ix.common_base(allp) if len(allp) > 1 else None
                if len(allp) > 1 and not base:
                    continue
                product = base or next(iter(allp))
            fm_methods.append((m.name, impls, product))
        if not fm_methods:
            continue
        families = {p for _, _, p in fm_methods}
        if len(fm_methods) >= 2 and len(families) >= 2:
            creators = sorted({s for _, impls, _ in fm_methods for s in impls})
            score = 0.6 + (0.15 if len(creators) >= 2 else 0) + (0.1 if all(ix.polymorphic(p) or ix.subs(p) for p in families) else 0) \
                + (0.1 if ix.is_abstract(name) else 0) + (0.03 if name_hint([name], ("factory",)) else 0)
            out.append(Detection("abstract_factory", min(score, 0.95), {
                "abstract_factory": [name], "concrete_factory": creators,
                "abstract_product": sorted(families),
                "concrete_product": sorted({t for _, impls, _ in fm_methods for ts in impls.values() for t in ts})},
                [f"{len(fm_methods)} creation methods: " + ", ".join(n for n, _, _ in fm_methods)]))
            continue
        for mname, impls, product in fm_methods:
            creators = sorted(impls)
            made = sorted({t for ts in impls.values() for t in ts})
            used = any(mname == call[1] and call[0] == "self" for m in c.methods if m.name != mname for call in m.calls)
            if len(creators) < 2 and not used:
                continue  # one implementation returning a new object, never used polymorphically: too weak
            score = 0.55 + (0.15 if len(creators) >= 2 and len(made) >= 2 else 0) + (0.1 if used else 0) \
                + (0.1 if ix.is_abstract(name) and ix.is_abstract(product) else (0.05 if ix.is_abstract(name) else 0)) \
                + (0.05 if name_hint([mname], ("create", "make", "factory", "new", "build", "produce", "manufacture")) else 0)
            ev = [f"{mname}() overridden by {', '.join(creators)} creating {', '.join(made)}"]
            if used:
                ev.append(f"{name} uses {mname}() in its own operations")
            out.append(Detection("factory_method", min(score, 0.95), {
                "creator": [name], "concrete_creator": creators, "factory_method": [f"{name}.{mname}"],
                "product": [product] if product else [], "concrete_product": made}, ev))
    # parameterised (static) factory: one method creating several products of one family
    for owner, m in all_methods(ix):
        if m.ctor or m.synthetic:
            continue
        made = {t for t in returned_new(m) if t in ix.classes}
        if len(made) < 2 or (owner and owner in made):
            continue
        base = m.returns if m.returns in ix.classes else ix.common_base(made)
        duck = False
        if not base:  # no common base class: products sharing an interface by duck typing
            common = None
            for t in made:
                names = {x.name for x in ix.classes[t].methods if is_public(x) and not x.ctor} - GENERIC_METHODS
                common = names if common is None else common & names
            if not common:
                continue
            base, duck = "/".join(sorted(common)[:2]) + "()", True
        elif base in made or not all(base in ix.supers(t) for t in made):
            continue
        if owner and not duck and (owner in ix.family(base)):
            continue
        cond = any("c" in c.flags for c in m.calls) or len(m.rets) >= 2
        if not cond:
            continue
        where = f"{owner}.{m.name}" if owner else m.name
        roles = {"creator": [owner] if owner else [], "factory_method": [where], "product": [base], "concrete_product": sorted(made)}
        out.append(Detection("factory_method", 0.55 + (0.05 if name_hint([m.name, owner or ""], ("factory", "create", "make")) else 0),
                             roles, [f"{where}() chooses which {base} to create ({', '.join(sorted(made))})"]))
    return out


def detect_builders(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    for name, c in ix.classes.items():
        methods = real_methods(c)
        fluent = [m for m in methods if not m.ctor and "self" in (m.rets) and
                  any(w.target.startswith(("f:", "fa:")) for w in m.writes) or
                  (not m.ctor and "self" in (m.rets) and any(
                      cl.recv.startswith("f:") and cl.method not in GENERIC_METHODS for cl in m.calls))]
        if len(fluent) >= 2:
            builds = []
            for m in methods:
                if m in fluent or m.ctor:
                    continue
                made = {t for t in returned_new(m) if t != name}
                passes_self = any(t != name and "self" in args for t, args in m.news)
                if made:
                    builds.append((m, sorted(made), passes_self))
            if builds:
                m, made, passes_self = builds[0]
                product = made[0]
                nested = product in ix.classes and (c.qualname.startswith(product + ".") or
                                                   name in {x.split(".")[-1] for x in [c.qualname]} and "." in c.qualname)
                score = 0.7 + (0.1 if len(fluent) >= 3 else 0) + (0.1 if passes_self or nested else 0) \
                    + (0.05 if name_hint([m.name, name], ("build", "builder", "create", "make")) else 0)
                out.append(Detection("builder", min(score, 0.95), {
                    "builder": [name], "product": [product],
                    "build_method": [f"{name}.{m.name}"], "steps": [f"{name}.{x.name}" for x in fluent[:6]]},
                    [f"{len(fluent)} fluent setters return the builder; {m.name}() creates {product}"]))
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
            created_here = any(w.target == ref and w.value == "n:" + ptype for k in lineage for m in ix.classes[k].methods
                               for w in m.writes)
            if not created_here:
                continue
            getter = [m for k in lineage for m in ix.classes[k].methods if ref in (m.rets) and not m.ctor]
            steps = [m for m in methods if not m.ctor and m not in getter and (
                any(cl.recv == ref and cl.method not in GENERIC_METHODS - {"add", "append", "set", "put"} for cl in m.calls) or
                any(w.target == "fa:" + fname for w in m.writes))]
            if len(steps) < 2:
                continue
            step_names = {m.name for m in steps}
            abstract_builders = [s for s in ix.supers(name) if ix.is_abstract(s) and
                                 len(step_names & set(ix.methods.get(s, {}))) >= 2]
            targets = {name, *lineage, *abstract_builders}
            directors = []
            for dn, dc in ix.classes.items():
                if dn in targets or dn in ix.family(name):
                    continue
                bfields = [fn for fn in ix.fields.get(dn, {}) if ix.fclass(dn, fn) in targets]
                for m in dc.methods:
                    recvs = {"f:" + b for b in bfields} | {"p:" + p.name for p in m.params if (p.type in targets or ix.pclass(dn, m, p.name) in targets)}
                    called = {cl.method for cl in m.calls if cl.recv in recvs} & step_names
                    if len(called) >= 2:
                        directors.append(dn)
                        break
            if not getter and not directors:
                continue
            if not abstract_builders and not directors:
                continue
            score = 0.6 + (0.15 if directors else 0) + (0.1 if abstract_builders else 0) + (0.05 if getter else 0) \
                + (0.05 if abstract_builders and len(ix.concrete_subs(abstract_builders[0])) >= 2 else 0) \
                + (0.05 if name_hint([name], ("builder",)) else 0)
            roles = {"builder": abstract_builders[:1] or [name], "concrete_builder": [name], "product": [ptype],
                     "director": sorted(set(directors))}
            out.append(Detection("builder", min(score, 0.95), roles,
                                 [f"{name} assembles a {ptype} in steps {', '.join(sorted(step_names)[:5])}"
                                  + (f"; {getter[0].name}() returns it" if getter else "")
                                  + (f"; directed by {', '.join(sorted(set(directors))[:2])}" if directors else "")]))
            break
    return out


def detect_prototypes(ix: StructureIndex) -> list[Detection]:
    out: list[Detection] = []
    found: dict[str, list[str]] = defaultdict(list)  # declaring base → implementing classes
    lone: list[tuple[str, str, float, list[str]]] = []
    for name, c in ix.classes.items():
        for m in c.methods:
            if m.ctor or m.static:
                continue
            rets = m.rets
            copy_ret = "c" in rets or any(
                r == "n:" + name and any(t == name and ("self" in args or sum(a.startswith("f:") for a in args) >= 1)
                                          for t, args in m.news) for r in rets)
            if not copy_ret and any(r.startswith("l:") for r in rets):
                copy_ret = any(t == name and ("self" in args) for t, args in m.news) or \
                    any(cl.recv == "super" and cl.method == "clone" for cl in m.calls)
            if not copy_ret:
                continue
            decl = [s for s in ix.supers(name) if m.name in ix.methods.get(s, {})]
            if decl:
                found[decl[0] + "." + m.name].append(name)
            else:
                score = 0.4 + (0.15 if name_hint([m.name], ("clone", "__copy__", "__deepcopy__", "prototype")) else 0) \
                    + (0.1 if "Cloneable" in c.bases or "Clone" in c.bases else 0)
                lone.append((name, m.name, score, [f"{name}.{m.name}() returns a copy of itself"]))
    for key, impls in found.items():
        base, mname = key.split(".", 1)
        registry = [n for n, c in ix.classes.items() if any(
            ix.fclass(n, f) == base and ix.fcoll(n, f) for f in ix.fields.get(n, {})) and any(
            cl.method == mname and cl.recv.startswith(("e:", "k:", "r:f:", "x")) for m in c.methods for cl in m.calls)]
        score = 0.7 + (0.1 if len(impls) >= 2 else 0) + (0.1 if registry else 0) + (0.05 if name_hint([mname], ("clone", "copy")) else 0)
        out.append(Detection("prototype", min(score, 0.95), {"prototype": [base], "concrete_prototype": sorted(impls),
                                                           "clone_method": [key], "registry": registry[:3]},
                             [f"{', '.join(sorted(impls))} implement {mname}() returning a copy of themselves"]))
    for name, mname, score, ev in lone:
        clients = [n for n, c in ix.classes.items() if n != name and any(
            cl.method == mname for m in c.methods for cl in m.calls if cl.recv.startswith(("f:", "e:", "k:", "p:")))]
        if clients:
            score += 0.1
        if score >= REPORT_MIN:
            out.append(Detection("prototype", score, {"prototype": [name], "clone_method": [f"{name}.{mname}"]}, ev))
    return out
