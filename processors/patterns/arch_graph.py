"""Architecture documents → a component graph (networkx) → architectural styles and patterns.

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
(calls, publishes, subscribes, reads, writes, depends_on, routes). :func:`detect_styles` then looks for
API gateway, backend-for-frontend, publish–subscribe / event-driven, CQRS, event sourcing, saga,
database per service vs shared database, cache-aside, circuit breaker, sidecar, service registry,
layered, hexagonal, microservices vs monolith — each with a confidence and evidence (nodes, edges,
sentences). The graph is serialisable with :func:`graph_to_dict`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx
import yaml

from processors.patterns._common import split_lines

__all__ = ["ArchStyle", "build_graph", "detect_styles", "graph_to_dict", "infer_kind"]

MAX_NODES = 400
MAX_TEXT = 400_000

# --------------------------------------------------------------------------- kinds

_KIND_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("event_store", ("eventstore", "event-store", "event_store", "eventstoredb", "axon-server", "axonserver")),
    ("database", ("postgres", "postgis", "mysql", "mariadb", "mongo", "cassandra", "cockroach", "mssql", "sqlserver",
                  "oracle", "dynamodb", "couchdb", "couchbase", "neo4j", "clickhouse", "timescale", "influxdb",
                  "sqlite", "scylla", "qdrant", "weaviate", "milvus", "pgvector", "database", "-db", "_db", "db-",
                  "datastore", "rds", "aurora", "spanner", "firestore", "cosmos")),
    ("cache", ("redis", "memcache", "valkey", "keydb", "hazelcast", "dragonfly", "cache")),
    ("broker", ("kafka", "rabbitmq", "rabbit", "nats", "activemq", "pulsar", "redpanda", "mosquitto", "mqtt", "sqs",
                "sns", "kinesis", "pubsub", "eventbridge", "event-bus", "eventbus", "servicebus", "message-bus",
                "broker", "queue", "topic")),
    ("registry", ("consul", "eureka", "etcd", "zookeeper", "service-registry", "discovery", "registry")),
    ("gateway", ("api-gateway", "apigateway", "gateway", "kong", "traefik", "ingress", "zuul", "tyk", "krakend",
                 "apisix", "bff")),
    ("load_balancer", ("haproxy", "load-balancer", "loadbalancer", "load_balancer", "-lb", "lb-", "elb", "alb")),
    ("monitoring", ("prometheus", "grafana", "jaeger", "zipkin", "loki", "otel", "opentelemetry", "tempo", "kibana",
                    "alertmanager", "datadog", "statsd")),
    ("search", ("elasticsearch", "opensearch", "solr", "meilisearch", "typesense")),
    ("storage", ("minio", "s3", "blob", "gcs", "bucket", "storage")),
    ("identity", ("keycloak", "auth0", "oauth", "identity", "auth-service", "authservice", "okta", "dex")),
    ("ui", ("frontend", "front-end", "webapp", "web-app", "-ui", "ui-", "spa", "react", "angular", "vue", "nextjs",
            "next.js", "svelte", "dashboard", "portal", "mobile", "browser", "client")),
    ("worker", ("worker", "consumer", "processor", "scheduler", "cron", "job", "celery", "sidekiq")),
    ("config", ("configmap", "secret", "vault", "config-server", "configserver")),
]
_SIDECAR_IMAGES = ("envoy", "istio-proxy", "istio/proxy", "linkerd-proxy", "fluentd", "fluent-bit", "fluentbit",
                   "filebeat", "vault-agent", "cloudsql-proxy", "cloud-sql-proxy", "promtail", "otel-collector",
                   "oauth2-proxy", "dapr", "log-shipper", "logshipper", "sidecar")


_TOKEN_WORDS = {"db": "database", "rdbms": "database", "sql": "database", "lb": "load_balancer", "ui": "ui",
                "web": "ui", "spa": "ui", "bff": "gateway", "mq": "broker", "bus": "broker", "kv": "cache",
                "dwh": "database", "idp": "identity", "iam": "identity", "cdn": "gateway", "proxy": "gateway"}


def infer_kind(*hints: str | None) -> str:
    """Component kind from image names, names, labels (first rule that matches).

    >>> infer_kind("postgres:16"), infer_kind("order-service"), infer_kind("bitnami/kafka:3"), infer_kind("web", "Web UI")
    ('database', 'service', 'broker', 'ui')
    """
    blob = " ".join(h.lower() for h in hints if h)
    if not blob.strip():
        return "service"
    tokens = set(re.split(r"[^a-z0-9]+", blob))
    for kind, words in _KIND_RULES:
        for w in words:
            if w.strip("-_") != w:  # "-db", "lb-": word-ish affixes → token match
                if w.strip("-_") in tokens:
                    return kind
            elif len(w) <= 3:
                if w in tokens:
                    return kind
            elif w in blob:
                return kind
    for t, kind in _TOKEN_WORDS.items():
        if t in tokens:
            return kind
    if "nginx" in blob:
        return "gateway"
    return "service"


def _norm(name: str) -> str:
    name = name.strip().strip("\"'`[]()").strip()
    return re.sub(r"\s+", " ", name)[:80]


def _key(name: str) -> str:
    """Node id: lower case, separators unified (``Order Service`` = ``order-service`` = ``order_service``)."""
    return re.sub(r"[\s_\-]+", "-", _norm(name).lower()).strip("-")


# --------------------------------------------------------------------------- graph building

class _Builder:
    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.sentences: list[tuple[int, str]] = []
        self.config_evidence: list[tuple[int, str]] = []  # (line, "key: value") hints (circuit breaker, sidecar …)
        self.sources: set[str] = set()

    def node(self, name: str, *, kind: str | None = None, label: str | None = None, line: int = 1,
             hints: Iterable[str | None] = (), source: str = "") -> str | None:
        key = _key(name)
        if not key or len(key) > 80:
            return None
        if key not in self.g:
            if self.g.number_of_nodes() >= MAX_NODES:
                return None
            self.g.add_node(key, label=_norm(label or name), kind=kind or infer_kind(name, label, *hints), line=line,
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


def _relation_for(target_kind: str, hint: str = "") -> set[str]:
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


def _scalar(node: Any) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def _get(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if _scalar(k) == key:
                return v
    return None


def _items(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, yaml.MappingNode):
        return [(_scalar(k) or "", v) for k, v in node.value]
    return []


def _strings(node: Any, limit: int = 500) -> list[tuple[int, str, str]]:
    """``(line, key path, scalar)`` of every scalar under ``node``."""
    out: list[tuple[int, str, str]] = []
    stack: list[tuple[Any, str]] = [(node, "")]
    while stack and len(out) < limit:
        n, path = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            out.append((n.start_mark.line + 1, path, str(n.value)))
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                ks = _scalar(k) or ""
                stack.append((v, f"{path}.{ks}" if path else ks))
                if isinstance(v, yaml.ScalarNode):
                    pass
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                stack.append((v, path))
    return out


def _env_pairs(env: Any) -> list[tuple[int, str, str]]:
    """Environment entries as ``(line, NAME, value)`` from a mapping, ``K=V`` strings, or k8s ``name/value``."""
    out: list[tuple[int, str, str]] = []
    if isinstance(env, yaml.MappingNode):
        for k, v in env.value:
            val = _scalar(v)
            if val is not None:
                out.append((v.start_mark.line + 1, _scalar(k) or "", val))
    elif isinstance(env, yaml.SequenceNode):
        for item in env.value:
            s = _scalar(item)
            if s is not None and "=" in s:
                k, _, v = s.partition("=")
                out.append((item.start_mark.line + 1, k, v))
            elif isinstance(item, yaml.MappingNode):
                n, v = _scalar(_get(item, "name")), _get(item, "value")
                if n and _scalar(v) is not None:
                    out.append((v.start_mark.line + 1, n, _scalar(v)))
    return out


def _refs(value: str, names: Iterable[str]) -> list[str]:
    """Service names used as host names in ``value`` (``db:5432``, ``http://orders/``, ``orders.svc``)."""
    out = []
    low = value.lower()
    for n in names:
        if len(n) < 2:
            continue
        if re.search(r"(?:^|[/@=,\s])" + re.escape(n) + r"(?:$|[:/.,\s?])", low):
            out.append(n)
    return out


_CB_KEYS = re.compile(r"circuit.?breaker|resilience4j|hystrix|outlier.?detection|polly|sentinel|breaker", re.I)


def _compose(b: _Builder, root: Any) -> None:
    services = _get(root, "services")
    if not isinstance(services, yaml.MappingNode):
        return
    b.sources.add("docker-compose")
    names = []
    for name, svc in _items(services):
        if not name:
            continue
        image = _scalar(_get(svc, "image")) or ""
        build = _get(svc, "build")
        labels = " ".join(v for _, _, v in _strings(_get(svc, "labels"), 50)) if _get(svc, "labels") is not None else ""
        cmd = _scalar(_get(svc, "command")) or ""
        key = b.node(name, line=svc.start_mark.line + 1, hints=(image, labels if "traefik" in labels else "", cmd),
                     source="docker-compose")
        if key is None:
            continue
        b.g.nodes[key]["extra"].update({"image": image, "build": build is not None})
        if build is not None or b.g.nodes[key]["kind"] in ("service", "worker"):
            b.g.nodes[key]["extra"]["app"] = True
        names.append((name, key, svc))
    keys = {n.lower(): k for n, k, _ in names}
    for name, key, svc in names:
        deps = _get(svc, "depends_on")
        dep_names = []
        if isinstance(deps, yaml.SequenceNode):
            dep_names = [(_scalar(d), d.start_mark.line + 1) for d in deps.value]
        elif isinstance(deps, yaml.MappingNode):
            dep_names = [(_scalar(k), k.start_mark.line + 1) for k, _ in deps.value]
        links = _get(svc, "links")
        if isinstance(links, yaml.SequenceNode):
            dep_names += [((_scalar(d) or "").split(":")[0], d.start_mark.line + 1) for d in links.value]
        for d, line in dep_names:
            t = keys.get((d or "").lower())
            if t:
                b.edge(key, t, "depends_on", line=line)
                for rel in _relation_for(b.g.nodes[t]["kind"]):
                    if rel != "depends_on":
                        b.edge(key, t, rel, line=line)
        for line, var, val in _env_pairs(_get(svc, "environment")):
            for ref in _refs(val, keys):
                t = keys[ref]
                for rel in _relation_for(b.g.nodes[t]["kind"], var):
                    b.edge(key, t, rel, line=line, label=var)
            if _CB_KEYS.search(var) or _CB_KEYS.search(val):
                b.config_evidence.append((line, f"{name}: {var}={val}"[:120]))
        nm = _scalar(_get(svc, "network_mode")) or ""
        if nm.startswith("service:"):
            t = keys.get(nm.split(":", 1)[1].lower())
            if t:
                b.g.nodes[key]["extra"]["sidecar_of"] = t
                b.edge(key, t, "depends_on", line=svc.start_mark.line + 1, label="network_mode")
        for line, path, val in _strings(svc, 200):
            if _CB_KEYS.search(path) or _CB_KEYS.search(val):
                b.config_evidence.append((line, f"{name}: {path}={val}"[:120]))


_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet", "DeploymentConfig",
              "Rollout", "KnativeService"}


def _k8s(b: _Builder, docs: list[Any]) -> None:
    objs = []
    for root in docs:
        if not isinstance(root, yaml.MappingNode):
            continue
        kind = _scalar(_get(root, "kind"))
        if kind == "List":
            items = _get(root, "items")
            if isinstance(items, yaml.SequenceNode):
                objs.extend(i for i in items.value if isinstance(i, yaml.MappingNode))
            continue
        if kind and _get(root, "metadata") is not None:
            objs.append(root)
    if not objs:
        return
    b.sources.add("kubernetes")
    services: dict[str, tuple[str, dict[str, str], int]] = {}  # name → (node, selector, line)
    workloads: list[tuple[str, dict[str, str], Any]] = []
    for o in objs:
        kind = _scalar(_get(o, "kind")) or ""
        meta = _get(o, "metadata")
        name = _scalar(_get(meta, "name")) or ""
        line = o.start_mark.line + 1
        if not name:
            continue
        if kind in _WORKLOADS:
            spec = _get(o, "spec")
            tmpl = _get(spec, "template") if kind != "Pod" else o
            if kind == "CronJob":
                tmpl = _get(_get(_get(_get(spec, "jobTemplate"), "spec"), "template"), "spec") and _get(_get(_get(spec, "jobTemplate"), "spec"), "template")
            pod_meta = _get(tmpl, "metadata")
            labels = {k: _scalar(v) or "" for k, v in _items(_get(pod_meta, "labels"))}
            annotations = {k: _scalar(v) or "" for k, v in _items(_get(pod_meta, "annotations"))}
            pod_spec = _get(tmpl, "spec")
            containers = _get(pod_spec, "containers")
            images = []
            cnodes = containers.value if isinstance(containers, yaml.SequenceNode) else []
            for cn in cnodes:
                images.append((_scalar(_get(cn, "name")) or "", _scalar(_get(cn, "image")) or "", cn))
            main_img = images[0][1] if images else ""
            key = b.node(name, line=line, hints=(main_img, kind if kind in ("Job", "CronJob") else ""),
                         source="kubernetes")
            if key is None:
                continue
            b.g.nodes[key]["extra"].update({"k8s_kind": kind, "app": True, "image": main_img})
            if kind == "StatefulSet" and b.g.nodes[key]["kind"] == "service":
                b.g.nodes[key]["kind"] = infer_kind(name, main_img)
            sidecars = [f"{cname} ({img})" for cname, img, _ in images[1:] if any(s in (img + cname).lower() for s in _SIDECAR_IMAGES)]
            if annotations.get("sidecar.istio.io/inject", "").lower() == "true" or "linkerd.io/inject" in annotations:
                sidecars.append("service mesh proxy (injected)")
            if sidecars:
                b.g.nodes[key]["extra"]["sidecars"] = sidecars
                b.config_evidence.append((line, f"{name}: sidecar {', '.join(sidecars)}"))
            workloads.append((key, labels, o))
            for cname, img, cn in images:
                for eline, var, val in _env_pairs(_get(cn, "env")):
                    b.g.nodes[key]["extra"].setdefault("env", []).append((eline, var, val))
                ef = _get(cn, "envFrom")
                for ln, path, val in _strings(ef, 20) if ef is not None else []:
                    if path.endswith("name"):
                        t = b.node(val, kind="config", line=ln, source="kubernetes")
                        b.edge(key, t, "reads", line=ln)
            for ln, path, val in _strings(o, 400):
                if _CB_KEYS.search(path) or _CB_KEYS.search(val):
                    b.config_evidence.append((ln, f"{name}: {path}={val}"[:120]))
                if path.endswith(("configMapKeyRef.name", "configMap.name", "secretKeyRef.name", "secret.secretName")):
                    t = b.node(val, kind="config", line=ln, source="kubernetes")
                    b.edge(key, t, "reads", line=ln)
        elif kind == "Service":
            spec = _get(o, "spec")
            selector = {k: _scalar(v) or "" for k, v in _items(_get(spec, "selector"))}
            stype = _scalar(_get(spec, "type")) or ""
            services[name] = (name, selector, line)
            if stype == "LoadBalancer":
                b.config_evidence.append((line, f"Service {name} type LoadBalancer"))
        elif kind in ("Ingress", "Gateway", "HTTPRoute", "VirtualService", "IngressRoute"):
            key = b.node(name, kind="gateway", line=line, source="kubernetes")
            b.g.nodes[key]["extra"]["k8s_kind"] = kind
            for ln, path, val in _strings(o, 300):
                if path.endswith(("service.name", "serviceName", "backendRefs.name", "destination.host", "services.name")):
                    b.g.nodes[key]["extra"].setdefault("routes", []).append((ln, val.split(".")[0]))
        elif kind in ("ConfigMap", "Secret"):
            b.node(name, kind="config", line=line, source="kubernetes")
        elif kind == "DestinationRule":
            for ln, path, val in _strings(o, 200):
                if _CB_KEYS.search(path) or "connectionPool" in path:
                    b.config_evidence.append((ln, f"DestinationRule {name}: {path}"[:120]))
        elif kind == "HorizontalPodAutoscaler":
            b.config_evidence.append((line, f"HorizontalPodAutoscaler {name}"))
    # Services select workloads: map service name → workload node
    svc_target: dict[str, str] = {}
    for sname, (_, selector, line) in services.items():
        for wkey, labels, _ in workloads:
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                svc_target[sname.lower()] = wkey
        if sname.lower() not in svc_target:
            k = b.node(sname, line=line, source="kubernetes")
            if k:
                svc_target[sname.lower()] = k
    for node in list(b.g.nodes):
        for ln, target in b.g.nodes[node]["extra"].get("routes", []):
            t = svc_target.get(target.lower()) or b.node(target, line=ln, source="kubernetes")
            b.edge(node, t, "routes", line=ln)
    for wkey, _, _ in workloads:
        svc_target.setdefault(wkey, wkey)
    names = set(svc_target)
    for wkey, _, _ in workloads:
        for ln, var, val in b.g.nodes[wkey]["extra"].get("env", []):
            for ref in _refs(val, names):
                t = svc_target[ref]
                for rel in _relation_for(b.g.nodes[t]["kind"], var):
                    b.edge(wkey, t, rel, line=ln, label=var)


# Mermaid ------------------------------------------------------------------------------------------------

_MM_NODE = r"([A-Za-z_][\w.-]*)(\[\(.*?\)\]|\(\[.*?\]\)|\[\[.*?\]\]|\[/.*?/\]|\[\\.*?\\\]|\(\(.*?\)\)|\{\{.*?\}\}|\[.*?\]|\(.*?\)|\{.*?\}|>.*?\])?"
_MM_SIMPLE = re.compile(r"^\s*" + _MM_NODE + r"\s*(?P<arrow><?(?:--+>?|==+>?|-\.+->?|~~~)[ox]?)\s*(?:\|(?P<label>[^|]*)\|)?\s*(?P<rest>.*)$")
_MM_SEQ = re.compile(r"^\s*([\w .-]+?)\s*(->>|-->>|->|-->|-x|--x|-\)|--\))\s*([\w .-]+?)\s*:\s*(.*)$")


def _mm_shape_kind(shape: str | None) -> str | None:
    """Kind implied by a Mermaid node: its label first, then the cylinder shape (a database)."""
    if not shape:
        return None
    label = _mm_label(shape)
    kind = infer_kind(label) if label else "service"
    if kind == "service" and shape.startswith("[("):
        return "database"
    return kind if kind != "service" else None


def _mm_label(shape: str | None) -> str | None:
    if not shape:
        return None
    return shape.strip("[](){}/\\>\"' ") or None


def _mermaid(b: _Builder, lines: list[str], first: int) -> None:
    b.sources.add("mermaid")
    ids: dict[str, str] = {}  # mermaid id → node key (labelled nodes are keyed by their label)

    def mnode(mid: str, shape: str | None, ln: int) -> str | None:
        label = _mm_label(shape)
        if mid in ids and not label:
            return ids[mid]
        key = b.node(label or mid, label=label or mid, kind=_mm_shape_kind(shape), line=ln, hints=(mid,), source="mermaid")
        if key:
            ids[mid] = key
        return key

    seq = any(l.strip().startswith("sequenceDiagram") for l in lines[:3])
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("%%", 1)[0].rstrip().rstrip(";")
        if not line.strip() or line.strip().startswith(("graph", "flowchart", "subgraph", "end", "classDef", "class ",
                                                         "style", "linkStyle", "click", "direction", "sequenceDiagram",
                                                         "participant", "actor", "note", "Note", "loop", "alt", "else",
                                                         "opt", "par", "and", "rect", "autonumber", "activate",
                                                         "deactivate", "title")):
            m = re.match(r"\s*(participant|actor)\s+([\w.-]+)(?:\s+as\s+(.+))?", line)
            if m:
                b.node(m.group(2), label=m.group(3) or m.group(2), line=ln, hints=(m.group(3), m.group(1)), source="mermaid")
            m = re.match(r"\s*subgraph\s+(.+)$", line)
            if m:
                b.g.graph.setdefault("groups", []).append((ln, m.group(1).strip()))
            continue
        if seq:
            m = _MM_SEQ.match(line)
            if m:
                a = b.node(m.group(1), line=ln, source="mermaid")
                c = b.node(m.group(3), line=ln, source="mermaid")
                msg = m.group(4).strip()
                rel = "publishes" if re.search(r"publish|emit|event", msg, re.I) else "calls"
                if not m.group(2).startswith("--"):
                    b.edge(a, c, rel, line=ln, label=msg[:60])
            continue
        # chains: A --> B --> C, with optional |labels| and shapes
        rest = line
        prev = None
        guard = 0
        while rest.strip() and guard < 20:
            guard += 1
            m = _MM_SIMPLE.match(rest)
            if not m:
                m2 = re.match(r"^\s*" + _MM_NODE + r"\s*$", rest)
                if m2 and prev is not None:
                    key = mnode(m2.group(1), m2.group(2), ln)
                    b.edge(prev[0], key, prev[1], line=ln, label=prev[2])
                elif m2:
                    mnode(m2.group(1), m2.group(2), ln)
                break
            key = mnode(m.group(1), m.group(2), ln)
            if prev is not None:
                b.edge(prev[0], key, prev[1], line=ln, label=prev[2])
            label = (m.group("label") or "").strip()
            arrow = m.group("arrow")
            rest = m.group("rest")
            # inline text form: A -- text --> B
            m3 = re.match(r"^([^->=|]+?)\s*(--+>|==+>|-\.+->)\s*(.*)$", rest) if arrow in ("--", "==", "-.") else None
            if m3:
                label, rest = m3.group(1).strip(), m3.group(3)
            rel = _label_relation(label) if (">" in arrow or m3) else "depends_on"
            prev = (key, rel, label)


def _label_relation(label: str) -> str:
    l = label.lower()
    if re.search(r"publish|emit|produce|send event|event", l):
        return "publishes"
    if re.search(r"subscri|consume|listen", l):
        return "subscribes"
    if re.search(r"\bread|query|fetch|get\b|lookup|select", l):
        return "reads"
    if re.search(r"write|store|persist|save|insert|update", l):
        return "writes"
    if re.search(r"route|proxy|forward", l):
        return "routes"
    return "calls"


# PlantUML -------------------------------------------------------------------------------------------------

_PU_DECL = re.compile(r'^\s*(component|database|queue|node|actor|interface|rectangle|cloud|storage|frame|package|'
                      r'collections|boundary|control|entity|usecase|agent|artifact|card|file|folder|stack|person|'
                      r'Container|ContainerDb|ContainerQueue|System|System_Ext|Component|ComponentDb|Person)'
                      r'(?:\s*\(\s*(\w+)\s*,\s*"([^"]*)")?\s*(?:"([^"]+)"|\[([^\]]+)\]|([\w.-]+))?(?:\s+as\s+([\w.-]+))?')
_PU_EDGE = re.compile(r'^\s*(\[[^\]]+\]|"[^"]+"|[\w.-]+)\s*(<?[-.]+(?:\w+[-.]+)?>?|<?=+>?)\s*(\[[^\]]+\]|"[^"]+"|[\w.-]+)\s*(?::\s*(.*))?$')
_PU_REL = re.compile(r'^\s*(Rel|Rel_D|Rel_U|Rel_L|Rel_R|Rel_Back|BiRel)\s*\(\s*([\w.-]+)\s*,\s*([\w.-]+)\s*,\s*"([^"]*)"')


def _plantuml(b: _Builder, lines: list[str], first: int) -> None:
    b.sources.add("plantuml")
    alias: dict[str, str] = {}
    kinds = {"database": "database", "ContainerDb": "database", "ComponentDb": "database", "queue": "broker",
             "ContainerQueue": "broker", "actor": "ui", "Person": "ui", "person": "ui", "storage": "storage",
             "collections": None, "System_Ext": "external"}
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("'", 1)[0].rstrip() if not raw.strip().startswith("'") else ""
        if not line.strip() or line.strip().startswith(("@start", "@end", "skinparam", "title", "left to right", "!", "}")):
            continue
        m = _PU_REL.match(line)
        if m:
            a = b.node(alias.get(m.group(2), m.group(2)), line=ln, source="plantuml")
            c = b.node(alias.get(m.group(3), m.group(3)), line=ln, source="plantuml")
            b.edge(a, c, _label_relation(m.group(4)), line=ln, label=m.group(4))
            continue
        m = _PU_EDGE.match(line)
        if m and any(ch in m.group(2) for ch in "-.=") and len(m.group(2)) >= 2:
            l, arrow, r, label = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip()
            ln_name = alias.get(l.strip("[]\""), l.strip("[]\""))
            rn_name = alias.get(r.strip("[]\""), r.strip("[]\""))
            a = b.node(ln_name, line=ln, source="plantuml")
            c = b.node(rn_name, line=ln, source="plantuml")
            if arrow.startswith("<") and not arrow.endswith(">"):
                a, c = c, a
            b.edge(a, c, _label_relation(label) if label else ("calls" if ">" in arrow else "depends_on"), line=ln, label=label)
            continue
        m = _PU_DECL.match(line)
        if m:
            kw = m.group(1)
            if kw in ("package", "frame", "folder", "rectangle", "cloud", "node", "boundary") and line.rstrip().endswith("{"):
                b.g.graph.setdefault("groups", []).append((ln, (m.group(4) or m.group(5) or m.group(6) or "").strip()))
                continue
            c4_alias, c4_label = m.group(2), m.group(3)
            label = c4_label or m.group(4) or m.group(5) or m.group(6)
            name = c4_alias or m.group(7) or label
            if not name:
                continue
            key = b.node(name, label=label, kind=kinds.get(kw), line=ln, hints=(label, kw if kw not in ("component", "node") else ""),
                         source="plantuml")
            if m.group(7) and label:
                alias[label] = m.group(7)
            alias[name] = name
            _ = key


# Graphviz DOT ---------------------------------------------------------------------------------------------

_DOT_EDGE = re.compile(r'("[^"]+"|[\w.]+)\s*(->|--)\s*("[^"]+"|[\w.]+)(?:\s*\[([^\]]*)\])?')
_DOT_NODE = re.compile(r'^\s*("[^"]+"|[\w.]+)\s*\[([^\]]*)\]\s*;?\s*$')
_DOT_ATTR = re.compile(r'(\w+)\s*=\s*("[^"]*"|[\w.]+)')


def _dot(b: _Builder, lines: list[str], first: int) -> None:
    b.sources.add("graphviz")
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("//", 1)[0]
        if re.match(r"\s*(di)?graph\b|\s*(node|edge|graph)\s*\[|\s*subgraph|\s*[{}]\s*$|\s*rankdir", line):
            m = re.match(r'\s*subgraph\s+("?[^"{]+"?)', line)
            if m:
                b.g.graph.setdefault("groups", []).append((ln, m.group(1).strip('" ')))
            continue
        m = _DOT_NODE.match(line)
        if m and "->" not in line and "--" not in line:
            attrs = {k: v.strip('"') for k, v in _DOT_ATTR.findall(m.group(2))}
            shape = attrs.get("shape", "")
            kind = "database" if shape in ("cylinder",) else ("broker" if shape in ("cds",) else None)
            b.node(m.group(1).strip('"'), label=attrs.get("label"), kind=kind, line=ln, hints=(attrs.get("label"),), source="graphviz")
            continue
        for m in _DOT_EDGE.finditer(line):
            attrs = {k: v.strip('"') for k, v in _DOT_ATTR.findall(m.group(4) or "")}
            a = b.node(m.group(1).strip('"'), line=ln, source="graphviz")
            c = b.node(m.group(3).strip('"'), line=ln, source="graphviz")
            label = attrs.get("label", "")
            b.edge(a, c, _label_relation(label) if label else "calls", line=ln, label=label)


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


def _prose(b: _Builder, lines: list[str], first: int, in_fence: set[int]) -> None:
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


# --------------------------------------------------------------------------- entry point

_FENCE_RE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")


def _blocks(lines: list[str]) -> tuple[list[tuple[str, int, list[str]]], set[int]]:
    """Fenced diagram blocks ``(language, first line, lines)`` and the set of fenced line numbers."""
    out: list[tuple[str, int, list[str]]] = []
    fenced: set[int] = set()
    i = 0
    n = len(lines)
    while i < n:
        m = _FENCE_RE.match(lines[i])
        if m:
            lang = m.group(2).lower()
            j = i + 1
            while j < n and not lines[j].strip().startswith(m.group(1)):
                j += 1
            fenced.update(range(i + 1, min(j, n - 1) + 2))
            out.append((lang, i + 2, lines[i + 1 : j]))
            i = j + 1
            continue
        i += 1
    return out, fenced


def _diagram_kind(lang: str, body: list[str]) -> str | None:
    head = "\n".join(l.strip() for l in body[:5])
    if lang in ("mermaid", "mmd") or re.match(r"(graph|flowchart)\s+(TD|TB|BT|LR|RL)\b|sequenceDiagram", head):
        return "mermaid"
    if lang in ("plantuml", "puml", "uml") or "@startuml" in head or re.search(r"^(component|database|queue)\s", head, re.M):
        return "plantuml"
    if lang in ("dot", "graphviz") or re.match(r"(strict\s+)?(di)?graph\s*[\w\"]*\s*\{", head):
        return "dot"
    return None


def build_graph(content: str, *, language: str | None = None, uri: str | None = None) -> tuple[nx.DiGraph, list[tuple[int, str]], list[tuple[int, str]]]:
    """``(graph, sentences, config evidence)`` of an architecture document (YAML, diagrams, prose)."""
    b = _Builder()
    if not content or not content.strip():
        return b.g, [], []
    content = content[:MAX_TEXT]
    lines = split_lines(content)
    lang = (language or "").lower()
    low_uri = (uri or "").lower().split("?", 1)[0]
    is_yaml = lang in ("yaml", "yml") or low_uri.endswith((".yaml", ".yml"))
    if is_yaml:
        try:
            from processors.patterns.architecture import _loader  # same depth guard as the YAML extractor

            docs = [d for d in yaml.compose_all(content, Loader=_loader(content)) if d is not None]
        except (yaml.YAMLError, RecursionError):
            docs = []
        for d in docs:
            if _get(d, "services") is not None:
                _compose(b, d)
        _k8s(b, docs)
    else:
        whole = _diagram_kind(lang if lang not in ("markdown", "md") else "", lines)
        if whole == "mermaid" or low_uri.endswith((".mmd", ".mermaid")):
            _mermaid(b, lines, 1)
        elif whole == "plantuml" or low_uri.endswith((".puml", ".plantuml", ".pu")):
            _plantuml(b, lines, 1)
        elif whole == "dot" or low_uri.endswith((".dot", ".gv")):
            _dot(b, lines, 1)
        else:
            blocks, fenced = _blocks(lines)
            for blang, first, body in blocks:
                kind = _diagram_kind(blang, body)
                if kind == "mermaid":
                    _mermaid(b, body, first)
                elif kind == "plantuml":
                    _plantuml(b, body, first)
                elif kind == "dot":
                    _dot(b, body, first)
                elif blang in ("yaml", "yml"):
                    try:
                        sub = "\n".join(body)
                        docs = [d for d in yaml.compose_all(sub, Loader=yaml.SafeLoader) if d is not None]
                    except (yaml.YAMLError, RecursionError):
                        docs = []
                    sb = _Builder()
                    for d in docs:
                        if _get(d, "services") is not None:
                            _compose(sb, d)
                    _k8s(sb, docs)
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
            _prose(b, lines, 1, fenced)
            if b.sentences:
                b.sources.add("prose")
    for u, v, data in b.g.edges(data=True):
        if data["relations"] == {"calls"} and not data.get("label"):
            data["relations"] = set(_relation_for(b.g.nodes[v]["kind"])) - {"depends_on"} or {"calls"}
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


# --------------------------------------------------------------------------- styles

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
    cb_cfg = [f"line {ln}: {t}" for ln, t in config if _CB_KEYS.search(t)]
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
