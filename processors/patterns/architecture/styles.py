"""Architectural styles from the component graph, configuration and sentences (:func:`detect_styles`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

import networkx as nx

from processors.patterns.architecture.kinds import CIRCUIT_BREAKER_KEYS

__all__ = ["ArchStyle", "detect_styles"]

@dataclass
class ArchStyle:
    name: str
    confidence: float
    evidence: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)


_APP_KINDS = {"service", "worker", "gateway", "ui", "identity"}
_KEYWORDS: dict[str, re.Pattern[str]] = {
    "api_gateway": re.compile(r"\bapi[- ]gateway\b|\bgateway routes?\b|\bsingle entry point\b", re.I),
    "backend_for_frontend": re.compile(r"\bbackends?[- ]for[- ]frontends?\b|\bBFFs?\b", re.I),
    "publish_subscribe": re.compile(r"\bpub(?:lish)?[/ -]?sub(?:scribe)?\b|\bpublish(?:es|ed)?\b.*\bsubscrib|\bsubscrib\w*\b.*\btopics?\b|\bfan[- ]out\b", re.I),
    "event_driven": re.compile(r"\bevent[- ]driven\b|\bdomain events?\b|\bevent bus\b|\basynchronous(?:ly)? (?:via|through) events?\b|\bemits? events?\b", re.I),
    "cqrs": re.compile(r"\bCQRS\b|\bcommand[- ]query responsibility segregation\b|\bread models?\b.*\bwrite models?\b|\bwrite models?\b.*\bread models?\b|\bseparate (?:read|query) (?:model|side|store)", re.I),
    "event_sourcing": re.compile(r"\bevent[- ]sourc\w*\b|\bevent store\b|\bappend[- ]only (?:log|stream) of events\b|\breplay(?:ing|ed)? (?:the )?events\b|\brebuil\w* state from events\b", re.I),
    "saga": re.compile(r"\bsagas?\b|\bcompensating (?:transactions?|actions?|steps?)\b|\bdistributed transactions? .*\b(?:orchestrat|choreograph)", re.I),
    "database_per_service": re.compile(r"\bdatabase[- ]per[- ]service\b|\beach service (?:owns|has) its own (?:database|data ?store|schema)\b|\bown(?:s)? (?:its|their) (?:own )?(?:data|database)\b", re.I),
    "shared_database": re.compile(r"\bshared database\b|\bshare (?:a|the|one) (?:single )?database\b|\bsame database\b", re.I),
    "cache_aside": re.compile(r"\bcache[- ]aside\b|\blazy[- ]loading cache\b|\bon (?:a )?cache miss\b|\bcheck(?:s)? the cache first\b|\bread[- ]through\b", re.I),
    "circuit_breaker": re.compile(r"\bcircuit[- ]breakers?\b|\bresilience4j\b|\bhystrix\b|\bpolly\b|\boutlier detection\b", re.I),
    "sidecar": re.compile(r"\bsidecars?\b|\bservice mesh\b|\bistio\b|\blinkerd\b|\benvoy proxy\b", re.I),
    "service_registry": re.compile(r"\bservice (?:registry|discovery)\b|\bregisters? (?:itself|themselves) with\b|\bconsul\b|\beureka\b", re.I),
    "layered": re.compile(r"\blayered architecture\b|\bn[- ]tier\b|\b(?:three|3)[- ]tier\b|\bpresentation layer\b|\b(?:business|domain|service|application) layer\b|\bdata(?: access)? layer\b|\bpersistence layer\b", re.I),
    "hexagonal": re.compile(r"\bhexagonal\b|\bports?[- ]and[- ]adapters?\b|\b(?:inbound|outbound|driving|driven) (?:ports?|adapters?)\b|\bclean architecture\b|\bonion architecture\b", re.I),
    "microservices": re.compile(r"\bmicro[- ]?services?\b|\bindependently deploy\w*\b", re.I),
    "monolith": re.compile(r"\bmonolith\w*\b|\bsingle deployable\b", re.I),
}


def _kw(style: str, sentences: list[tuple[int, str]], limit: int = 3) -> list[str]:
    rx = _KEYWORDS[style]
    out = []
    for ln, s in sentences:
        if rx.search(s):
            out.append(f'line {ln}: "{s[:110]}"')
            if len(out) >= limit:
                break
    return out


def _label(g: nx.DiGraph, n: str) -> str:
    return g.nodes[n]["label"]


def _edge_ev(g: nx.DiGraph, u: str, v: str) -> str:
    d = g.edges[u, v]
    return f"{_label(g, u)} -{'/'.join(sorted(d['relations']))}-> {_label(g, v)} (line {d.get('line', 1)})"


def detect_styles(g: nx.DiGraph, sentences: list[tuple[int, str]], config: list[tuple[int, str]] | None = None) -> list[ArchStyle]:
    """Architectural styles/patterns in the component graph and the document's sentences."""
    config = config or []
    out: list[ArchStyle] = []
    kind = {n: d["kind"] for n, d in g.nodes(data=True)}
    apps = [n for n, k in kind.items() if k in _APP_KINDS]
    dbs = [n for n, k in kind.items() if k in ("database", "event_store")]
    brokers = [n for n, k in kind.items() if k == "broker"]

    def add(name: str, conf: float, ev: list[str], nodes: Iterable[str] = ()) -> None:
        conf = min(0.97, conf)
        if conf >= 0.5:
            out.append(ArchStyle(name, round(conf, 2), ev[:8], sorted({_label(g, n) for n in nodes if n in g})[:12]))

    # API gateway: one entry node routing/calling several services
    gateways = sorted((n for n in g.nodes if kind[n] in ("gateway", "load_balancer")),
                      key=lambda n: (-sum(1 for v in g.successors(n) if kind[v] in ("service", "worker", "identity")), n))
    for n in gateways:
        targets = [v for v in g.successors(n) if kind[v] in ("service", "worker", "identity", "gateway")]
        if len(targets) >= 2 or (kind[n] == "gateway" and targets and _kw("api_gateway", sentences)):
            kw = _kw("api_gateway", sentences)
            add("api_gateway", 0.7 + 0.05 * min(len(targets) - 1, 3) + (0.1 if kw else 0),
                [f"{_label(g, n)} ({kind[n]}) in front of {len(targets)} services"] + [_edge_ev(g, n, v) for v in targets[:3]] + kw,
                [n, *targets])
            break
    else:
        kw = _kw("api_gateway", sentences)
        if kw:
            add("api_gateway", 0.55, kw)

    # Backend for frontend: several gateways/BFFs each fronting its own client
    bffs = [n for n in g.nodes if "bff" in n or "backend for frontend" in g.nodes[n]["label"].lower() or
            (kind[n] == "gateway" and any(kind.get(p) == "ui" for p in g.predecessors(n)))]
    uis_per_bff = {n: [p for p in g.predecessors(n) if kind[p] == "ui"] for n in bffs}
    kw = _kw("backend_for_frontend", sentences)
    if len(bffs) >= 2 and (sum(1 for v in uis_per_bff.values() if v) >= 2 or sum("bff" in n for n in bffs) >= 2):
        add("backend_for_frontend", 0.75 + (0.1 if kw else 0), [f"{len(bffs)} client-specific backends: "
                                                               + ", ".join(_label(g, n) for n in bffs[:4])] + kw, bffs)
    elif kw:
        add("backend_for_frontend", 0.55 + (0.1 if bffs else 0), kw, bffs)

    # Publish-subscribe / event-driven: producers and consumers around a broker
    pubsub_done = False
    for br in brokers:
        pubs = [u for u in g.predecessors(br) if "publishes" in g.edges[u, br]["relations"]]
        subs = [u for u in g.predecessors(br) if "subscribes" in g.edges[u, br]["relations"]] + \
               [v for v in g.successors(br) if kind[v] in _APP_KINDS]
        attached = [u for u in g.predecessors(br) if kind[u] in _APP_KINDS]
        if (pubs and subs) or len(set(attached) | set(subs)) >= 2:
            kw = _kw("publish_subscribe", sentences) + _kw("event_driven", sentences)
            conf = 0.65 + (0.15 if pubs and subs else 0) + (0.05 * min(len(set(attached) | set(subs)) - 2, 2) if len(set(attached) | set(subs)) > 2 else 0) + (0.05 if kw else 0)
            ev = [f"broker {_label(g, br)}: publishers {', '.join(_label(g, p) for p in pubs[:3]) or '-'}; "
                  f"subscribers {', '.join(_label(g, s) for s in subs[:3]) or '-'}; attached {len(set(attached))}"]
            add("publish_subscribe", conf, ev + kw[:2], [br, *pubs, *subs, *attached])
            add("event_driven", conf - 0.05, ev + kw[:2], [br, *pubs, *subs, *attached])
            pubsub_done = True
            break
    if not pubsub_done:
        kw_ps, kw_ed = _kw("publish_subscribe", sentences), _kw("event_driven", sentences)
        if kw_ps:
            add("publish_subscribe", 0.55 + (0.1 if brokers else 0), kw_ps, brokers)
        if kw_ed:
            add("event_driven", 0.55 + (0.1 if brokers else 0), kw_ed, brokers)

    # CQRS: separate command/write and query/read sides (services or stores)
    writes = [n for n in g.nodes if re.search(r"command|write|cmd", n) and kind[n] in (_APP_KINDS | {"database"})]
    reads = [n for n in g.nodes if re.search(r"query|read|projection|view", n) and kind[n] in (_APP_KINDS | {"database", "search", "cache"})]
    kw = _kw("cqrs", sentences)
    if writes and reads:
        add("cqrs", 0.7 + (0.15 if kw else 0), [f"write side: {', '.join(_label(g, n) for n in writes[:3])}; "
                                               f"read side: {', '.join(_label(g, n) for n in reads[:3])}"] + kw, writes + reads)
    elif kw:
        add("cqrs", 0.6, kw)

    # Event sourcing: an event store (or event log) as the source of truth, with projections
    stores = [n for n in g.nodes if kind[n] == "event_store" or re.search(r"event.?store|event.?log", n)]
    kw = _kw("event_sourcing", sentences)
    if stores:
        projections = [n for n in g.nodes if re.search(r"projection|projector|read.?model", n)]
        add("event_sourcing", 0.7 + (0.1 if projections else 0) + (0.1 if kw else 0),
            [f"event store {', '.join(_label(g, n) for n in stores[:2])}"] + kw, stores + projections)
    elif kw:
        add("event_sourcing", 0.6, kw)

    # Saga: an orchestrator coordinating services, or choreographed events with compensation
    orch = [n for n in g.nodes if re.search(r"saga|orchestrat", n)]
    kw = _kw("saga", sentences)
    if orch and len([v for v in g.successors(orch[0])] + [u for u in g.predecessors(orch[0])]) >= 2:
        add("saga", 0.75 + (0.1 if kw else 0), [f"{_label(g, orch[0])} coordinates "
                                               + ", ".join(_label(g, v) for v in list(g.successors(orch[0]))[:4])] + kw, orch)
    elif kw:
        add("saga", 0.6 + (0.05 if brokers else 0), kw)

    # Database per service vs shared database (an event store or a read model fed by a projector is shared by design)
    def projection_user(u: str) -> bool:
        return bool(re.search(r"project|denormali|sync|replicat|etl|cdc", u))

    owners = {d: [u for u in g.predecessors(d) if kind[u] in ("service", "worker", "identity")]
              for d in dbs if kind[d] == "database"}
    owners = {d: us for d, us in owners.items()
              if not (len(us) >= 2 and (any(projection_user(u) for u in us) or re.search(r"read|query|view|projection", d)))}
    private = {d: us[0] for d, us in owners.items() if len(us) == 1}
    shared = {d: us for d, us in owners.items() if len(us) >= 2}
    kw_dps, kw_sh = _kw("database_per_service", sentences), _kw("shared_database", sentences)
    if len(private) >= 2 and len(set(private.values())) >= 2:
        add("database_per_service", 0.75 + 0.05 * min(len(private) - 2, 2) + (0.1 if kw_dps else 0) - (0.15 if shared else 0),
            [f"{_label(g, s)} owns {_label(g, d)}" for d, s in list(private.items())[:4]] + kw_dps,
            list(private) + list(private.values()))
    elif kw_dps:
        add("database_per_service", 0.55, kw_dps)
    if shared:
        d, us = next(iter(shared.items()))
        add("shared_database", 0.75 + 0.05 * min(len(us) - 2, 2) + (0.1 if kw_sh else 0),
            [f"{_label(g, d)} is used by {', '.join(_label(g, u) for u in us[:4])}"] + kw_sh, [d, *us])
    elif kw_sh:
        add("shared_database", 0.55, kw_sh)

    # Cache-aside: a service talking to both a cache and a database
    kw = _kw("cache_aside", sentences)
    found = False
    for s in apps:
        succ = list(g.successors(s))
        caches = [v for v in succ if kind[v] == "cache"]
        stores_ = [v for v in succ if kind[v] in ("database", "search", "storage")]
        if caches and stores_:
            add("cache_aside", 0.6 + (0.2 if kw else 0), [f"{_label(g, s)} uses cache {_label(g, caches[0])} in front of "
                                                         f"{_label(g, stores_[0])}"] + kw, [s, caches[0], stores_[0]])
            found = True
            break
    if not found and kw:
        add("cache_aside", 0.6, kw)

    # Circuit breaker: configuration or prose
    cb_cfg = [f"line {ln}: {t}" for ln, t in config if CIRCUIT_BREAKER_KEYS.search(t)]
    kw = _kw("circuit_breaker", sentences)
    if cb_cfg or kw:
        add("circuit_breaker", (0.8 if cb_cfg else 0.6) + (0.1 if cb_cfg and kw else 0), cb_cfg[:3] + kw)

    # Sidecar: extra proxy/agent containers in a pod, compose network_mode sharing, mesh injection
    side = [(n, g.nodes[n]["extra"]) for n in g.nodes if g.nodes[n]["extra"].get("sidecars") or g.nodes[n]["extra"].get("sidecar_of")]
    kw = _kw("sidecar", sentences)
    if side:
        ev = []
        for n, ex in side[:3]:
            if ex.get("sidecars"):
                ev.append(f"{_label(g, n)} runs {', '.join(ex['sidecars'][:2])} next to the app container")
            else:
                ev.append(f"{_label(g, n)} shares the network namespace of {_label(g, ex['sidecar_of'])}")
        add("sidecar", 0.8 + (0.1 if kw else 0), ev + kw, [n for n, _ in side])
    elif kw:
        add("sidecar", 0.55, kw)

    # Service registry / discovery
    regs = [n for n in g.nodes if kind[n] == "registry"]
    kw = _kw("service_registry", sentences)
    if regs:
        clients = [u for u in g.predecessors(regs[0]) if kind[u] in _APP_KINDS]
        if clients or kw:
            add("service_registry", 0.65 + (0.1 if len(clients) >= 2 else 0) + (0.1 if kw else 0),
                [f"{_label(g, regs[0])} used by {', '.join(_label(g, c) for c in clients[:4]) or 'services'}"] + kw, [regs[0], *clients])
    elif kw:
        add("service_registry", 0.55, kw)

    # Layered: layer groups/nodes in order, or prose
    groups = [name for _, name in g.graph.get("groups", [])]
    layer_nodes = [n for n in g.nodes if re.search(r"layer|tier|presentation|business|persistence|data access|domain", g.nodes[n]["label"], re.I)]
    layer_groups = [x for x in groups if re.search(r"layer|tier", x, re.I)]
    kw = _kw("layered", sentences)
    if len(layer_groups) >= 2 or len(layer_nodes) >= 3:
        add("layered", 0.7 + (0.15 if kw else 0), [f"layers: {', '.join((layer_groups or [g.nodes[n]['label'] for n in layer_nodes])[:5])}"] + kw, layer_nodes)
    elif len(kw) >= 2 or (kw and re.search(r"layered|tier", " ".join(kw), re.I)):
        add("layered", 0.6, kw)

    # Hexagonal: ports and adapters
    hex_nodes = [n for n in g.nodes if re.search(r"\bport\b|adapter", g.nodes[n]["label"], re.I)]
    kw = _kw("hexagonal", sentences)
    if len(hex_nodes) >= 2 or kw:
        add("hexagonal", (0.6 if kw else 0.5) + (0.15 if len(hex_nodes) >= 2 else 0) + (0.1 if len(kw) >= 2 else 0),
            ([f"ports/adapters: {', '.join(g.nodes[n]['label'] for n in hex_nodes[:5])}"] if hex_nodes else []) + kw, hex_nodes)

    # Microservices vs monolith: count deployable application nodes; a diagram box only counts when it is
    # named like a service (Start/Check boxes of a flowchart are not services)
    def service_like(n: str) -> bool:
        d = g.nodes[n]
        if d["sources"] & {"docker-compose", "kubernetes"}:
            return True
        return bool(re.search(r"service|svc|\bapi\b|server|backend|\bapp\b|bff|worker|frontend|micro", f"{n} {d['label']}", re.I))

    deployables = [n for n in g.nodes if service_like(n) and (g.nodes[n]["extra"].get("app") or (kind[n] in ("service", "worker") and g.degree(n) > 0))]
    kw_ms, kw_mono = _kw("microservices", sentences), _kw("monolith", sentences)
    svc_deployables = [n for n in deployables if kind[n] in ("service", "worker", "identity", "gateway", "ui")]
    talking = [n for n in svc_deployables if any(kind[v] in ("service", "worker", "broker", "identity") for v in g.successors(n))
               or any(kind[u] in ("service", "gateway", "worker") for u in g.predecessors(n))]
    if len(svc_deployables) >= 3 and (talking or brokers):
        add("microservices", 0.65 + 0.05 * min(len(svc_deployables) - 3, 3) + (0.1 if kw_ms else 0) + (0.05 if private else 0),
            [f"{len(svc_deployables)} independently deployed services: " + ", ".join(_label(g, n) for n in svc_deployables[:6])] + kw_ms,
            svc_deployables)
    elif kw_ms and not kw_mono:
        add("microservices", 0.55, kw_ms)
    app_nodes = [n for n in g.nodes if kind[n] in ("service",) and service_like(n) and (g.nodes[n]["extra"].get("app") or g.degree(n) > 0)]
    if len(app_nodes) == 1 and (dbs or kw_mono) and g.number_of_nodes() >= 2:
        add("monolith", 0.6 + (0.15 if kw_mono else 0), [f"single application {_label(g, app_nodes[0])} with "
                                                        + ", ".join(_label(g, n) for n in g.successors(app_nodes[0]))] + kw_mono, app_nodes)
    elif kw_mono and not svc_deployables:
        add("monolith", 0.55, kw_mono)
    return out
