"""Architecture documents → a component graph (networkx); :mod:`.styles` reads styles from it.

Sources understood (several may appear in one document, e.g. Markdown with fenced diagrams):

* **docker-compose**: services (kind from image / name / ports / labels), ``depends_on``, service names
  referenced in environment values (``postgres://db:5432``, ``KAFKA=broker:9092``), ``links``,
  ``network_mode: service:x`` (sidecar);
* **Kubernetes** manifests: workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod) and their
  containers (extra proxy/log-shipping containers are sidecars), Services selecting workloads, Ingress
  routing to Services, ConfigMap/Secret references, env values naming Services;
* **Mermaid** ``graph``/``flowchart`` (node shapes: ``[(db)]`` is a database) and ``sequenceDiagram``;
* **PlantUML** components (``component``/``database``/``queue``/``node``/``actor`` …, ``[A] --> [B]``);
* **Graphviz DOT** (``a -> b [label=…]``, ``shape=cylinder``);
* **prose**: sentences naming components and a relation verb (“the Order Service publishes events to
  Kafka”, “the gateway routes requests to …”).

Nodes carry a ``kind`` (service, database, cache, broker, gateway, load_balancer, ui, worker, registry,
monitoring, storage, config, identity, search, event_store, external), edges a set of relations
(calls, publishes, subscribes, reads, writes, depends_on, routes). :func:`.styles.detect_styles` then looks for
API gateway, backend-for-frontend, publish–subscribe / event-driven, CQRS, event sourcing, saga,
database per service vs shared database, cache-aside, circuit breaker, sidecar, service registry,
layered, hexagonal, microservices vs monolith — each with a confidence and evidence (nodes, edges,
sentences). The graph is serialisable with :func:`graph_to_dict`.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import yaml

from processors.patterns.architecture.diagrams import add_dot, add_mermaid, add_plantuml, diagram_kind, fenced_blocks
from processors.patterns.architecture.graph_builder import GraphBuilder, relation_for
from processors.patterns.architecture.manifests import add_compose, add_kubernetes
from processors.patterns.architecture.prose import add_prose
from processors.patterns.architecture.yaml_nodes import child, yaml_loader
from processors.patterns.records import split_lines

__all__ = ["MAX_TEXT", "build_graph", "graph_to_dict"]

MAX_TEXT = 400_000


def build_graph(content: str, *, language: str | None = None, uri: str | None = None) -> tuple[nx.DiGraph, list[tuple[int, str]], list[tuple[int, str]]]:
    """``(graph, sentences, config evidence)`` of an architecture document (YAML, diagrams, prose)."""
    b = GraphBuilder()
    if not content or not content.strip():
        return b.g, [], []
    content = content[:MAX_TEXT]
    lines = split_lines(content)
    lang = (language or "").lower()
    low_uri = (uri or "").lower().split("?", 1)[0]
    is_yaml = lang in ("yaml", "yml") or low_uri.endswith((".yaml", ".yml"))
    if is_yaml:
        try:
            docs = [d for d in yaml.compose_all(content, Loader=yaml_loader(content)) if d is not None]
        except (yaml.YAMLError, RecursionError):
            docs = []
        for d in docs:
            if child(d, "services") is not None:
                add_compose(b, d)
        add_kubernetes(b, docs)
    else:
        whole = diagram_kind(lang if lang not in ("markdown", "md") else "", lines)
        if whole == "mermaid" or low_uri.endswith((".mmd", ".mermaid")):
            add_mermaid(b, lines, 1)
        elif whole == "plantuml" or low_uri.endswith((".puml", ".plantuml", ".pu")):
            add_plantuml(b, lines, 1)
        elif whole == "dot" or low_uri.endswith((".dot", ".gv")):
            add_dot(b, lines, 1)
        else:
            blocks, fenced = fenced_blocks(lines)
            for blang, first, body in blocks:
                kind = diagram_kind(blang, body)
                if kind == "mermaid":
                    add_mermaid(b, body, first)
                elif kind == "plantuml":
                    add_plantuml(b, body, first)
                elif kind == "dot":
                    add_dot(b, body, first)
                elif blang in ("yaml", "yml"):
                    try:
                        sub = "\n".join(body)
                        docs = [d for d in yaml.compose_all(sub, Loader=yaml.SafeLoader) if d is not None]
                    except (yaml.YAMLError, RecursionError):
                        docs = []
                    sb = GraphBuilder()
                    for d in docs:
                        if child(d, "services") is not None:
                            add_compose(sb, d)
                    add_kubernetes(sb, docs)
                    # shift lines of the embedded YAML into the document
                    for n, data in sb.g.nodes(data=True):
                        key = b.node(n, kind=data["kind"], label=data["label"], line=data["line"] + first - 1,
                                     source=next(iter(data["sources"]), ""))
                        if key:
                            b.g.nodes[key]["extra"].update(data["extra"])
                    for u, v, data in sb.g.edges(data=True):
                        for rel in data["relations"]:
                            b.edge(u, v, rel, line=data["line"] + first - 1, label=data.get("label", ""))
                    b.config_evidence.extend((l + first - 1, t) for l, t in sb.config_evidence)
                    b.sources |= sb.sources
            add_prose(b, lines, 1, fenced)
            if b.sentences:
                b.sources.add("prose")
    for u, v, data in b.g.edges(data=True):
        if data["relations"] == {"calls"} and not data.get("label"):
            data["relations"] = set(relation_for(b.g.nodes[v]["kind"])) - {"depends_on"} or {"calls"}
    if not b.sentences and not is_yaml:
        for i, l in enumerate(lines, 1):
            if len(l.strip()) > 20 and not l.strip().startswith(("graph", "flowchart", "@", "digraph")):
                b.sentences.append((i, l.strip()))
    return b.g, b.sentences, b.config_evidence


def graph_to_dict(g: nx.DiGraph) -> dict[str, Any]:
    """JSON-friendly form of the component graph."""
    return {
        "nodes": [{"id": n, "label": d["label"], "kind": d["kind"], "line": d["line"]} for n, d in g.nodes(data=True)],
        "edges": [{"source": u, "target": v, "relations": sorted(d["relations"]), "label": d.get("label", ""),
                   "line": d.get("line", 1)} for u, v, d in g.edges(data=True)],
    }
