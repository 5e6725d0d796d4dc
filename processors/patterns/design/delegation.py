"""Patterns of one class delegating to a field: state, chain of responsibility, proxy, decorator,
adapter, bridge, strategy.

Each delegating field gets at most one of them, tried in that order (a state whose concrete states
switch the context is not also a strategy)."""

from __future__ import annotations

from processors.patterns.design.detection import REPORT_MIN, Detection, name_hint
from processors.patterns.design.index import LIFECYCLE, StructureIndex, is_public, is_test_class
from schemas.structure import Call, MethodInfo

__all__ = ["detect_delegation"]


MAX_SUBS = 60  # subclasses followed when looking for delegation/injection in a hierarchy


def _delegations(ix: StructureIndex, name: str, fname: str) -> list[tuple[MethodInfo, Call]]:
    """(method, call) pairs where a method of ``name`` (or its subclasses) calls field ``fname``."""
    ref = "f:" + fname
    out = []
    for cls in [name, *sorted(ix.subs(name))[:MAX_SUBS]]:
        for m in ix.classes[cls].methods:
            for cl in m.calls:
                if cl.recv == ref and not cl.method.startswith("="):
                    out.append((m, cl))
    return out


def detect_delegation(ix: StructureIndex) -> list[Detection]:
    """Adapter, decorator, proxy, chain of responsibility, bridge, strategy, state (composition-based)."""
    out: list[Detection] = []
    for name, c in ix.classes.items():
        supers = ix.supers(name)
        for fname, f in ix.fields.get(name, {}).items():
            if f.static:
                continue
            coll = ix.fcoll(name, fname)
            ftype = ix.fclass(name, fname)
            raw_t = ix.ftype.get((name, fname), (None, None, None))[0]
            ref = "f:" + fname
            dels = _delegations(ix, name, fname)
            if not dels or coll:
                continue
            ctor_param = _injected(ix, name, fname)
            setter = [m for m in c.methods if not m.ctor and m.name not in ("__init__",) and any(
                w.target == ref and w.value.startswith("p:") for w in m.writes)]
            created = sorted({w.value[2:] for m in c.methods for w in m.writes
                              if w.target == ref and w.value.startswith("n:") and w.value[2:] in ix.classes})
            guessed = raw_t is None or (ix.field_owner(name, fname) or name, fname) in ix.inferred
            same_name = [(m, cl) for m, cl in dels if cl.method == m.name and not (guessed and cl.method in LIFECYCLE)]
            cond_same = [(m, cl) for m, cl in same_name if "c" in cl.flags]
            uncond = [x for x in same_name if "c" not in x[1].flags]
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
                        + (0.05 if name_hint([fname, ftype], ("state",)) else 0)
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
                            + (0.05 if name_hint([fname, same_name[0][0].name], ("next", "successor", "handle", "chain")) else 0)
                        if score >= REPORT_MIN:
                            out.append(Detection("chain_of_responsibility", min(score, 0.95), {
                                "handler": [handler_base], "concrete_handler": handlers[:8],
                                "successor": [f"{ix.field_owner(name, fname) or name}.{fname}"],
                                "request": [same_name[0][0].name]},
                                [f"{name}.{same_name[0][0].name}() forwards to {fname}.{same_name[0][1].method}()"
                                 + (" conditionally" if cond_same else "") + (f"; successor set by {setter[0].name}()" if setter else "")]))
                            continue
                component = ftype if in_hier else (sorted(shared)[0] if shared else (sorted(supers)[0] if supers else None))
                if component is None:
                    continue
                real_subject = created[0] if created else (ftype if sibling else None)
                lazy = any("c" in w.flags for m in c.methods for w in m.writes if w.target == ref and w.value.startswith("n:"))
                if real_subject or (cond_same and not ctor_param and not untyped):
                    score = 0.6 + (0.2 if created else 0.1) + (0.1 if cond_same or lazy else 0) \
                        + (0.05 if name_hint([name], ("proxy", "surrogate", "lazy", "protect", "cache", "remote", "virtual")) else 0)
                    out.append(Detection("proxy", min(score, 0.95), {
                        "subject": [component], "proxy": [name], "real_subject": [real_subject] if real_subject else []},
                        [f"{name} implements {component} and forwards {', '.join(sorted({m.name for m, _ in same_name})[:4])} "
                         f"to {fname}" + (f", creating the {real_subject} itself" + (" lazily" if lazy else "") if created else "")]))
                    continue
                if ctor_param and uncond:
                    decorators = sorted(ix.subs(name))
                    score = 0.6 + (0.15 if in_hier else 0) + (0.1 if decorators or len(ix.subs(component)) >= 3 else 0) \
                        + (0.05 if name_hint([name], ("decorator", "wrapper")) else 0)
                    out.append(Detection("decorator", min(score, 0.95), {
                        "component": [component], "decorator": [name], "concrete_decorator": decorators[:8],
                        "concrete_component": [s for s in ix.concrete_subs(component) if s not in ix.family(name)][:6]},
                        [f"{name} is a {component} wrapping an injected {component} ({fname}) and forwards "
                         f"{', '.join(sorted({m.name for m, _ in uncond})[:4])}"]))
                    continue
            # ---- adapter: implements a target, delegates under other names to an unrelated adaptee
            known_targets = [s for s in supers if s in ix.classes]
            if known_targets and not in_hier and not sibling and ftype is not None and ftype != name \
                    and (ix.field_owner(name, fname) or name, fname) not in ix.inferred and not is_test_class(name, c):
                targets = [s for s in known_targets if ix.is_abstract(s)] or known_targets
                target = targets[0]
                target_methods = ix.all_method_names(target) - {"__init__"}
                own_overrides = [m for m in c.methods if not m.ctor and is_public(m) and m.name in target_methods]
                renamed = [(m, cl) for m, cl in dels if m in own_overrides and cl.method != m.name]
                unrelated = not ix.related(ftype, target)
                adaptee = ftype
                share = len({m.name for m, _ in renamed}) / max(1, len(own_overrides))
                if renamed and unrelated and share >= 0.5:
                    score = 0.55 + (0.15 if target in ix.classes and ix.is_abstract(target) and adaptee in ix.classes else 0) \
                        + (0.1 if share >= 0.5 else 0) + (0.05 if ctor_param or created else 0) \
                        + (0.05 if name_hint([name, fname], ("adapter", "adaptee", "wrapper")) else 0) \
                        - (0.1 if len(ix.fields.get(name, {})) > 3 else 0)
                    if score >= REPORT_MIN:
                        out.append(Detection("adapter", min(score, 0.95), {
                            "target": [target], "adapter": [name], "adaptee": [adaptee] if adaptee else [f"{name}.{fname}"]},
                            [f"{name}.{m.name}() → {fname}.{cl.method}()" for m, cl in renamed[:3]]))
                        continue
            # ---- bridge / strategy: delegation to an injected polymorphic collaborator
            if ftype is None or in_hier or ftype == name or sibling:
                continue
            impls = ix.concrete_subs(ftype)
            if len(impls) < 2:
                continue
            called_ops = {cl.method for _, cl in dels}
            if not any(_varies(ix.method(ftype, op)) or len(ix.overridden_in(ftype, op)) >= 2 for op in called_ops):
                continue  # the implementations do not vary what the context calls
            injected = ctor_param or bool(setter)
            if not injected:
                continue
            abstraction_family = ix.subs(name)
            if abstraction_family or (ix.is_abstract(name) and ix.field_owner(name, fname) == name):
                score = 0.6 + (0.15 if abstraction_family else 0) + (0.1 if len(impls) >= 2 else 0) \
                    + (0.05 if name_hint([fname, ftype, name], ("impl", "bridge", "implementor", "device", "renderer", "platform")) else 0)
                out.append(Detection("bridge", min(score, 0.95), {
                    "abstraction": [name], "refined_abstraction": sorted(abstraction_family)[:8],
                    "implementor": [ftype], "concrete_implementor": impls[:8]},
                    [f"{name} hierarchy delegates to an injected {ftype} ({fname}) with implementations {', '.join(impls[:4])}"]))
                continue
            called = sorted({cl.method for _, cl in dels})
            score = 0.6 + (0.15 if len(impls) >= 2 else 0) + (0.1 if setter else 0) \
                + (0.05 if name_hint([fname, ftype], ("strategy", "policy", "algorithm", "behavior", "behaviour")) else 0)
            out.append(Detection("strategy", min(score, 0.95), {
                "context": [name], "strategy": [ftype], "concrete_strategy": impls[:10]},
                [f"{name} delegates {', '.join(called[:3])} to an interchangeable {ftype} ({fname})"
                 + (f", swappable via {setter[0].name}()" if setter else "")]))
        # callable strategy (Python): a function passed in and called
        for fname, f in ix.fields.get(name, {}).items():
            ref = "f:" + fname
            if not name_hint([fname], ("strategy", "policy", "algorithm")):
                continue
            if any(cl.recv == ref and cl.method == "__call__" for m in c.methods for cl in m.calls) and any(
                    w.target == ref and w.value.startswith("p:") for m in c.methods for w in m.writes):
                out.append(Detection("strategy", 0.55, {"context": [name], "strategy": [f"{name}.{fname}"]},
                                     [f"{name} calls an injected function {fname} (function strategy)"]))
        # dynamic proxy: __getattr__ forwarding to a wrapped object
        ga = ix.methods.get(name, {}).get("__getattr__")
        if ga is not None and any(cl.method == "__call__" and cl.recv == "g:getattr" and any(a.startswith("f:") for a in cl.args) for cl in ga.calls):
            out.append(Detection("proxy", 0.6, {"proxy": [name]}, [f"{name}.__getattr__ forwards attribute access to a wrapped object"]))
        if "InvocationHandler" in c.bases:
            out.append(Detection("proxy", 0.75, {"proxy": [name]}, [f"{name} implements InvocationHandler (dynamic proxy)"]))
    return out


def _varies(m: MethodInfo | None) -> bool:
    """A method the implementations must provide (abstract, or declared without a body)."""
    return m is not None and (m.abstract or m.empty)


def _injected(ix: StructureIndex, name: str, fname: str) -> bool:
    """The field is set from a parameter when the object is built (constructor, subclass constructor via
    super(...), static factory, struct literal)."""
    ref = "f:" + fname
    owner = ix.field_owner(name, fname) or name
    for cls in {name, owner, *sorted(ix.subs(owner))[:MAX_SUBS]}:
        for m in ix.methods_of(cls):
            if not (m.ctor or m.name in ("__init__", "new", "constructor") or m.static):
                continue
            if any(w.target == ref and w.value.startswith("p:") for w in m.writes):
                return True
    f = ix.field(name, fname)
    if f is not None and (f.init or "").startswith("p:"):
        return True
    return any(v.startswith("p:") for v in ix.inits.get((owner, fname), ()))


def _transitions(ix: StructureIndex, context: str, fname: str, stype: str) -> list[tuple[str, str]]:
    """State changes: concrete states switching the context, or the context assigning several states."""
    fam = ix.family(stype)
    out: list[tuple[str, str]] = []
    ref = "f:" + fname
    setter_names = {m.name for m in ix.classes[context].methods if any(
        w.target == ref and w.value.startswith("p:") for w in m.writes) and not m.ctor}
    for s in sorted(fam)[:MAX_SUBS] + [context]:
        for m in ix.methods_of(s):
            for cl in m.calls:
                if s == context and not (cl.recv == "self" and cl.method in setter_names and any(
                        a.startswith("n:") and a[2:] in fam for a in cl.args)):
                    continue  # the context switching itself: setState(new X()) from its own methods
                if cl.method in setter_names or cl.method == "=" + fname:
                    vals = [a for a in cl.args if a.startswith(("n:", "f:", "pa:", "fa:", "r:"))]
                    nxt = next((a[2:] for a in vals if a.startswith("n:")), None)
                    out.append((s, nxt or "?"))
            for w in m.writes:
                if w.target.startswith(("pa:", "fa:")) and w.value.startswith("n:") and w.value[2:] in fam:
                    out.append((s, w.value[2:]))
    # the context switching its own state in ordinary methods (to a new state, a state kept in another
    # field, or the state the current one returns)
    ctx_states = set()
    for m in ix.classes[context].methods:
        if m.ctor or m.synthetic:
            continue
        for w in m.writes:
            if w.target != ref:
                continue
            if w.value.startswith("n:") and w.value[2:] in fam:
                ctx_states.add(w.value[2:])
            elif w.value.startswith("f:") and w.value != ref and ix.fclass(context, w.value[2:]) in fam:
                ctx_states.add(ix.fclass(context, w.value[2:]))
            elif w.value.startswith("r:" + ref):
                out.append((context, "next state returned by " + fname))
    if len(ctx_states) >= 2 or (ctx_states and not any(
            w.target == ref and w.value.startswith("p:") for m in ix.classes[context].methods for w in m.writes)):
        out.extend((context, s) for s in sorted(ctx_states))
    return out
