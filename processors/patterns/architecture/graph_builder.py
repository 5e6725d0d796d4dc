"""The component graph being built: nodes with a kind, edges with a set of relations."""

from __future__ import annotations

import re
from typing import Iterable

import networkx as nx

from processors.patterns.architecture.kinds import infer_kind, node_key, normalize_name

__all__ = ["MAX_NODES", "GraphBuilder", "relation_for"]

MAX_NODES = 400


class GraphBuilder:
    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.sentences: list[tuple[int, str]] = []
        self.config_evidence: list[tuple[int, str]] = []  # (line, "key: value") hints (circuit breaker, sidecar …)
        self.sources: set[str] = set()

    def node(self, name: str, *, kind: str | None = None, label: str | None = None, line: int = 1,
             hints: Iterable[str | None] = (), source: str = "") -> str | None:
        key = node_key(name)
        if not key or len(key) > 80:
            return None
        if key not in self.g:
            if self.g.number_of_nodes() >= MAX_NODES:
                return None
            self.g.add_node(key, label=normalize_name(label or name), kind=kind or infer_kind(name, label, *hints), line=line,
                            sources={source} if source else set(), extra={})
        else:
            data = self.g.nodes[key]
            if kind and data["kind"] == "service" and kind != "service":
                data["kind"] = kind
            if source:
                data["sources"].add(source)
        return key

    def edge(self, a: str | None, b: str | None, relation: str, *, line: int = 1, label: str = "") -> None:
        if not a or not b or a == b:
            return
        if self.g.has_edge(a, b):
            data = self.g.edges[a, b]
            data["relations"].add(relation)
            if label and not data.get("label"):
                data["label"] = label
        else:
            self.g.add_edge(a, b, relations={relation}, line=line, label=label)


def relation_for(target_kind: str, hint: str = "") -> set[str]:
    h = hint.lower()
    if target_kind in ("database", "event_store", "storage", "search"):
        if re.search(r"read|replica|query|ro\b", h):
            return {"reads"}
        if re.search(r"write|primary|master|command", h):
            return {"writes"}
        return {"reads", "writes"}
    if target_kind == "cache":
        return {"reads", "writes"}
    if target_kind == "broker":
        out = set()
        if re.search(r"produc|publish|sink|out|emit|send", h):
            out.add("publishes")
        if re.search(r"consum|subscri|group|listen|source|in\b|receive", h):
            out.add("subscribes")
        return out or {"depends_on"}
    if target_kind in ("config",):
        return {"reads"}
    return {"calls"}
