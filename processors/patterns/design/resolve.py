"""Overlapping interpretations of the same classes → the detections worth reporting."""

from __future__ import annotations

from collections import defaultdict

from processors.patterns.design.detection import REPORT_MIN, Detection

__all__ = ["resolve_overlaps"]


def resolve_overlaps(dets: list[Detection]) -> list[Detection]:
    def classes(d: Detection) -> set[str]:
        return set(d.participants)

    interp = [classes(d) for d in dets if d.pattern == "interpreter"]
    states = [d for d in dets if d.pattern == "state"]
    bridges = [d for d in dets if d.pattern == "bridge"]
    comps = [d for d in dets if d.pattern == "composite"]
    afs = {c for d in dets if d.pattern == "abstract_factory" for c in d.roles.get("abstract_factory", [])}
    mediators = {c for d in dets if d.pattern == "mediator" for c in d.roles.get("mediator", []) + d.roles.get("concrete_mediator", [])}
    others: dict[str, set[str]] = defaultdict(set)  # class → other patterns it takes part in
    for d in dets:
        if d.confidence >= REPORT_MIN:
            for c in d.participants:
                others[c].add(d.pattern)
    out: list[Detection] = []
    for d in dets:
        if d.confidence < REPORT_MIN:
            continue
        cs = classes(d)
        if d.pattern == "adapter" and others.get(d.roles["adapter"][0], set()) - {"adapter", "facade"}:
            continue  # the same structure already explains it (command, iterator, state …)
        if d.pattern in ("bridge", "strategy") and set(d.roles.get("implementor", []) + d.roles.get("strategy", [])) & mediators:
            continue
        if d.pattern == "mediator" and any(
                set(d.roles.get("concrete_mediator", [])) <= set(s.roles["context"]) and
                set(d.roles.get("colleague", [])) <= set(s.participants) for s in states):
            continue  # states holding their context: the state pattern's back-reference
        if d.pattern in ("decorator", "composite", "chain_of_responsibility", "proxy") and any(cs <= i for i in interp):
            continue
        if d.pattern == "strategy" and any(d.roles["context"] == s.roles.get("context", s.roles.get("abstraction"))
                                           for s in states + bridges):
            continue
        if d.pattern == "strategy" and any(set(d.roles.get("strategy", [])) & set(x.roles["command"]) and x.confidence >= d.confidence
                                           for x in dets if x.pattern == "command"):
            continue
        if d.pattern == "command" and any(set(d.roles["command"]) & set(x.roles.get("strategy", [])) and x.confidence > d.confidence
                                          for x in dets if x.pattern == "strategy"):
            continue
        if d.pattern == "command" and not d.roles.get("receiver") and any(
                x.pattern not in ("command", "strategy", "facade", "adapter") and d.roles["command"][0] in x.participants for x in dets):
            continue  # the same abstraction already plays a role in another pattern
        if d.pattern in ("decorator", "chain_of_responsibility") and any(
                set(d.roles.get("decorator", []) + d.roles.get("handler", [])) & set(x.roles.get("composite", [])) for x in comps):
            continue
        if d.pattern == "factory_method" and set(d.roles.get("creator", [])) & afs:
            continue
        out.append(d)
    # one detection per (pattern, participants); keep the most confident
    best: dict[str, Detection] = {}
    for d in out:
        k = d.key
        if k not in best or d.confidence > best[k].confidence:
            best[k] = d
    # decorator vs proxy vs chain on the same wrapper class: keep the most confident
    by_wrapper: dict[str, Detection] = {}
    final: list[Detection] = []
    for d in best.values():
        w = (d.roles.get("decorator") or d.roles.get("proxy") or d.roles.get("handler") or [None])[0] \
            if d.pattern in ("decorator", "proxy", "chain_of_responsibility") else None
        if w is None:
            final.append(d)
            continue
        if w not in by_wrapper or d.confidence > by_wrapper[w].confidence:
            by_wrapper[w] = d
    final.extend(by_wrapper.values())
    final.sort(key=lambda d: (min((c for c in d.participants), default=""), d.pattern))
    return final
