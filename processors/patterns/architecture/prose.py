"""Sentences naming components and a relation verb (“the Order Service publishes events to Kafka”)."""

from __future__ import annotations

import re

from processors.patterns.architecture.graph_builder import MAX_NODES, GraphBuilder

__all__ = ["add_prose"]

# Prose ----------------------------------------------------------------------------------------------------

_COMP_WORDS = (r"service|api|gateway|database|db|queue|topic|cache|broker|bus|worker|frontend|front-end|backend|"
               r"ui|app|application|store|server|proxy|registry|bff|consumer|producer|scheduler|orchestrator|"
               r"load balancer|cluster|stream|lake|warehouse|index|bucket|client")
_COMP_RE = re.compile(
    r"`([\w./:-]{2,40})`"
    r"|\b((?:[A-Z][\w-]*\s+){0,3}(?i:" + _COMP_WORDS + r"))\b"
    r"|\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:service|svc|api|db|gateway|worker|bff|app|ui|queue|cache|store|server))\b"
    r"|\b((?i:Kafka|RabbitMQ|Redis|PostgreSQL|Postgres|MySQL|MongoDB|Cassandra|Elasticsearch|NATS|Pulsar|SQS|SNS|"
    r"Kinesis|DynamoDB|Memcached|Nginx|Envoy|Kong|Traefik|Consul|Eureka|etcd|ZooKeeper|Keycloak|S3|MinIO|"
    r"EventStore|EventStoreDB|Istio|Linkerd|Prometheus|Grafana|Qdrant))\b")
_VERBS: list[tuple[str, re.Pattern[str]]] = [
    ("publishes", re.compile(r"\b(publish(?:es|ed)?|emit(?:s|ted)?|produc(?:es|ed)|sends? (?:an? )?(?:\w+ )?events?|raises?|broadcasts?)\b", re.I)),
    ("subscribes", re.compile(r"\b(subscrib(?:es|ed)?|consum(?:es|ed)|listens?|reacts? to|handles? (?:the )?\w* ?events?)\b", re.I)),
    ("reads", re.compile(r"\b(reads?|quer(?:y|ies)|fetch(?:es)?|looks? up|loads?)\b", re.I)),
    ("writes", re.compile(r"\b(writes?|stores?|persists?|saves?|inserts?|appends?)\b", re.I)),
    ("routes", re.compile(r"\b(routes?|forwards?|proxies|dispatch(?:es)?)\b", re.I)),
    ("calls", re.compile(r"\b(calls?|invokes?|requests?|talks? to|sends?|uses?|queries)\b", re.I)),
    ("depends_on", re.compile(r"\b(depends? on|relies on|requires?)\b", re.I)),
]
_STOP_COMPONENTS = {"the service", "a service", "each service", "this service", "service", "api", "app", "the app",
                    "application", "the application", "client", "the client", "server", "the server", "store", "index",
                    "stream", "cluster", "the api", "an api", "the database", "a database", "database", "db", "queue",
                    "a queue", "the queue", "cache", "the cache", "a cache", "backend", "frontend", "ui", "worker",
                    "services", "every service", "one service", "other service", "another service", "its own database",
                    "own database", "the broker", "broker", "topic", "a topic", "the topic", "the gateway", "gateway",
                    "shared database", "a shared database"}
_SENT_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def add_prose(b: GraphBuilder, lines: list[str], first: int, in_fence: set[int]) -> None:
    for i, raw in enumerate(lines):
        ln = first + i
        if ln in in_fence:
            continue
        text = raw.strip().lstrip("#>*-+ 0123456789.").strip()
        if len(text) < 12:
            continue
        for sm in _SENT_RE.finditer(text):
            sent = sm.group(0).strip()
            if len(sent) < 12 or len(b.sentences) > 2000:
                continue
            b.sentences.append((ln, sent))
            comps = []
            for m in _COMP_RE.finditer(sent):
                name = next(g for g in m.groups() if g)
                low = name.lower().strip()
                if low in _STOP_COMPONENTS or low.startswith(("the ", "a ", "an ")) and low[4:].strip() in _STOP_COMPONENTS:
                    continue
                name = re.sub(r"^(?:the|a|an)\s+", "", name, flags=re.I)
                if len(name) < 2 or name.lower() in _STOP_COMPONENTS:
                    continue
                comps.append((m.start(), m.end(), name))
            if len(comps) < 2:
                for _, _, name in comps:
                    if b.g.number_of_nodes() < MAX_NODES and name.lower() in {n for n in b.g.nodes}:
                        pass
                continue
            last: tuple[str, str] | None = None  # (subject key, relation) for "X calls A, B and C"
            for (s1, e1, a), (s2, e2, c) in zip(comps, comps[1:]):
                between = sent[e1:s2]
                if last is not None and re.fullmatch(r"\s*(?:,|and|or|&|as well as|, and)\s*(?:the\s+|a\s+|an\s+)?", between, re.I):
                    kc = b.node(c, line=ln, source="prose")
                    b.edge(last[0], kc, last[1], line=ln, label=sent[:80])
                    continue
                rel = None
                for r, rx in _VERBS:
                    if rx.search(between):
                        rel = r
                        break
                if rel is None:
                    last = None
                    continue
                ka = b.node(a, line=ln, source="prose")
                kc = b.node(c, line=ln, source="prose")
                if ka is None or kc is None:
                    continue
                if rel == "subscribes" and b.g.nodes[ka]["kind"] == "broker":
                    ka, kc = kc, ka
                b.edge(ka, kc, rel, line=ln, label=sent[:80])
                last = (ka, rel)
