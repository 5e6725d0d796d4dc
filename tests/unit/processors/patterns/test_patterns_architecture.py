"""Architecture documents: component graph (compose, Kubernetes, Mermaid, PlantUML, DOT, prose) and the
architectural styles detected from it, with precision/recall over small fixtures written for each style."""

from __future__ import annotations

import json

import pytest

from processors.patterns import extract_patterns
from processors.patterns.architecture.graph import build_graph, graph_to_dict
from processors.patterns.architecture.styles import detect_styles
from schemas.documents import Document

# (name, language, uri, content, styles that are really there)
FIXTURES: list[tuple[str, str, str, str, set[str]]] = [
    ("gateway-compose", "yaml", "docker-compose.yml", """services:
  gateway:
    image: kong:3.6
    ports: ["8000:8000"]
    depends_on: [catalog, checkout]
  catalog:
    build: ./catalog
  checkout:
    build: ./checkout
""", {"api_gateway"}),
    ("gateway-mermaid", "mermaid", "edge.mmd", """flowchart LR
  client[Browser] --> gw[API Gateway]
  gw --> a[Accounts Service]
  gw --> b[Orders Service]
  gw --> c[Search Service]
""", {"api_gateway", "microservices"}),
    ("bff-compose", "yaml", "docker-compose.yml", """services:
  web-ui:
    build: ./web
    depends_on: [web-bff]
  mobile-bff:
    build: ./bff/mobile
    depends_on: [orders, profile]
  web-bff:
    build: ./bff/web
    depends_on: [orders, profile]
  orders:
    build: ./orders
  profile:
    build: ./profile
""", {"backend_for_frontend", "api_gateway", "microservices"}),
    ("bff-mermaid", "mermaid", "bff.mmd", """graph TD
  W[Web App] --> WB[Web BFF]
  M[Mobile App] --> MB[Mobile BFF]
  WB --> O[Order Service]
  MB --> O
  WB --> P[Profile Service]
""", {"backend_for_frontend", "api_gateway"}),
    ("pubsub-compose", "yaml", "docker-compose.yml", """services:
  orders:
    build: ./orders
    environment:
      KAFKA_PRODUCER_BROKERS: kafka:9092
  email:
    build: ./email
    environment:
      KAFKA_CONSUMER_BROKERS: kafka:9092
  analytics:
    build: ./analytics
    environment:
      KAFKA_CONSUMER_BROKERS: kafka:9092
  kafka:
    image: bitnami/kafka:3.7
""", {"publish_subscribe", "event_driven", "microservices"}),
    ("pubsub-prose", "markdown", "events.md", """# Events

The order service publishes OrderPlaced events to RabbitMQ.
The email-service subscribes to RabbitMQ and sends a confirmation.
The analytics-service also consumes these events from RabbitMQ.
""", {"publish_subscribe", "event_driven"}),
    ("cqrs-compose", "yaml", "docker-compose.yml", """services:
  order-command-service:
    build: ./command
    environment:
      DB_URL: postgres://orders-write-db:5432/orders
      KAFKA_PRODUCER: kafka:9092
  order-query-service:
    build: ./query
    environment:
      MONGO_URL: mongodb://orders-read-db:27017
  projector:
    build: ./projector
    environment:
      KAFKA_CONSUMER: kafka:9092
      MONGO_URL: mongodb://orders-read-db:27017
  orders-write-db:
    image: postgres:16
  orders-read-db:
    image: mongo:7
  kafka:
    image: apache/kafka:3.7.0
""", {"cqrs", "publish_subscribe", "event_driven", "microservices"}),
    ("cqrs-prose", "markdown", "cqrs.md", """# Reads and writes

We apply CQRS in the billing domain. Commands update the write model in PostgreSQL,
while a separate read model in Elasticsearch serves all queries.
""", {"cqrs"}),
    ("event-sourcing-compose", "yaml", "docker-compose.yml", """services:
  accounts:
    build: ./accounts
    environment:
      EVENTSTORE_CONNECTION: esdb://eventstore:2113
  balance-projection:
    build: ./projection
    environment:
      EVENTSTORE_CONNECTION: esdb://eventstore:2113
  eventstore:
    image: eventstore/eventstore:23.10
""", {"event_sourcing"}),
    ("event-sourcing-prose", "markdown", "es.md", """# Persistence

Accounts are event sourced: every change is appended to an append-only stream of events,
and the current balance is rebuilt by replaying the events.
""", {"event_sourcing"}),
    ("saga-compose", "yaml", "docker-compose.yml", """services:
  order-saga-orchestrator:
    build: ./orchestrator
    environment:
      PAYMENT_URL: http://payment:8080
      INVENTORY_URL: http://inventory:8080
      SHIPPING_URL: http://shipping:8080
  payment:
    build: ./payment
  inventory:
    build: ./inventory
  shipping:
    build: ./shipping
""", {"saga", "microservices"}),
    ("saga-prose", "markdown", "saga.md", """# Placing an order

Placing an order is a choreographed saga: each step publishes an event, and when payment fails
the inventory service runs a compensating transaction to release the reserved stock.
""", {"saga"}),
    ("db-per-service-compose", "yaml", "docker-compose.yml", """services:
  users:
    build: ./users
    environment:
      DATABASE_URL: postgres://users-db/users
  orders:
    build: ./orders
    environment:
      DATABASE_URL: postgres://orders-db/orders
  catalog:
    build: ./catalog
    environment:
      MONGO_URL: mongodb://catalog-db:27017
  users-db:
    image: postgres:16
  orders-db:
    image: postgres:16
  catalog-db:
    image: mongo:7
""", {"database_per_service"}),
    ("db-per-service-mermaid", "mermaid", "data.mmd", """graph LR
  U[User Service] --> UDB[(Users DB)]
  O[Order Service] --> ODB[(Orders DB)]
  O -->|REST| U
""", {"database_per_service"}),
    ("shared-db-compose", "yaml", "docker-compose.yml", """services:
  billing:
    build: ./billing
    depends_on: [db]
  reporting:
    build: ./reporting
    depends_on: [db]
  db:
    image: mysql:8.4
""", {"shared_database"}),
    ("shared-db-dot", "dot", "legacy.dot", """digraph legacy {
  db [shape=cylinder, label="Oracle"];
  crm -> db;
  erp -> db;
  portal -> db;
}
""", {"shared_database"}),
    ("cache-aside-compose", "yaml", "docker-compose.yml", """services:
  catalog:
    build: ./catalog
    environment:
      REDIS_URL: redis://cache:6379/0
      DATABASE_URL: postgres://db:5432/catalog
  cache:
    image: redis:7-alpine
  db:
    image: postgres:16
""", {"cache_aside", "monolith"}),
    ("cache-aside-prose", "markdown", "caching.md", """# Caching

The catalog service checks the cache first; on a cache miss it loads the product from PostgreSQL
and stores it in Redis with a TTL of five minutes.
""", {"cache_aside"}),
    ("circuit-breaker-compose", "yaml", "docker-compose.yml", """services:
  checkout:
    build: ./checkout
    environment:
      RESILIENCE4J_CIRCUITBREAKER_INSTANCES_PAYMENTS_FAILURE_RATE_THRESHOLD: "50"
      PAYMENTS_URL: http://payments:8080
  payments:
    build: ./payments
""", {"circuit_breaker"}),
    ("circuit-breaker-prose", "markdown", "resilience.md", """# Resilience

Calls from the checkout service to the payment provider go through a circuit breaker that opens
after five consecutive failures and half-opens after thirty seconds.
""", {"circuit_breaker"}),
    ("sidecar-k8s", "yaml", "deploy.yaml", """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: acme/api:1.4
        - name: log-shipper
          image: fluent/fluent-bit:3.0
""", {"sidecar"}),
    ("sidecar-compose", "yaml", "docker-compose.yml", """services:
  app:
    build: .
  proxy:
    image: envoyproxy/envoy:v1.30
    network_mode: "service:app"
""", {"sidecar"}),
    ("registry-compose", "yaml", "docker-compose.yml", """services:
  consul:
    image: hashicorp/consul:1.18
  orders:
    build: ./orders
    environment:
      CONSUL_HTTP_ADDR: consul:8500
  payments:
    build: ./payments
    environment:
      CONSUL_HTTP_ADDR: consul:8500
""", {"service_registry"}),
    ("registry-prose", "markdown", "discovery.md", """# Discovery

Each service registers itself with Eureka at startup, and clients find instances through service discovery
instead of hard-coded addresses.
""", {"service_registry"}),
    ("layered-mermaid", "mermaid", "layers.mmd", """flowchart TB
  subgraph Presentation Layer
    UI[Web Controllers]
  end
  subgraph Business Layer
    SVC[Order Logic]
  end
  subgraph Data Layer
    REPO[Repositories]
  end
  UI --> SVC
  SVC --> REPO
""", {"layered"}),
    ("layered-prose", "markdown", "layers.md", """# Structure

The application follows a layered architecture: the presentation layer talks only to the business layer,
and the business layer reaches the database through the data access layer.
""", {"layered"}),
    ("hexagonal-prose", "markdown", "hex.md", """# Design

The core follows ports and adapters (hexagonal architecture). Inbound adapters (REST, CLI) call driving ports;
outbound adapters implement the repository and payment ports.
""", {"hexagonal"}),
    ("hexagonal-plantuml", "plantuml", "hex.puml", """@startuml
component [REST Adapter] as rest
component [Order Port] as port
component [Order Core] as core
component [Postgres Adapter] as pg
rest --> port
port --> core
core --> pg
@enduml
""", {"hexagonal"}),
    ("microservices-compose", "yaml", "docker-compose.yml", """services:
  gateway:
    image: traefik:v3.0
    depends_on: [users, orders, payments, notifications]
  users:
    build: ./users
  orders:
    build: ./orders
    environment:
      PAYMENTS_URL: http://payments:8080
      BROKER: nats://nats:4222
  payments:
    build: ./payments
  notifications:
    build: ./notifications
    environment:
      BROKER: nats://nats:4222
  nats:
    image: nats:2.10
""", {"microservices", "api_gateway", "publish_subscribe", "event_driven"}),
    ("monolith-compose", "yaml", "docker-compose.yml", """services:
  app:
    build: .
    ports: ["8000:8000"]
    depends_on: [db]
  db:
    image: postgres:16
""", {"monolith"}),
    ("monolith-prose", "markdown", "overview.md", """# Overview

Shopfront is a modular monolith: a single Django application deployed as one unit,
backed by one PostgreSQL database.
""", {"monolith"}),
]

NEGATIVES: list[tuple[str, str, str, str]] = [
    ("static-site", "yaml", "docker-compose.yml", "services:\n  site:\n    image: nginx:1.27\n    ports: ['80:80']\n"),
    ("install-readme", "markdown", "README.md", "# Install\n\nRun `pip install foo`. Then call `foo --help` to see the options.\n"),
    ("business-flow", "mermaid", "flow.mmd", "flowchart TD\n  Start --> Check{Valid?}\n  Check -->|yes| Approve\n  Check -->|no| Reject\n"),
]


def _styles(lang: str, uri: str, src: str) -> set[str]:
    g, sents, cfg = build_graph(src, language=lang, uri=uri)
    return {s.name for s in detect_styles(g, sents, cfg)}


@pytest.mark.parametrize(("name", "lang", "uri", "src", "expected"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_style_fixture(name, lang, uri, src, expected):
    found = _styles(lang, uri, src)
    primary = name.rsplit("-", 1)[0].replace("-", "_").replace("db_per_service", "database_per_service") \
        .replace("shared_db", "shared_database").replace("gateway", "api_gateway").replace("registry", "service_registry") \
        .replace("bff", "backend_for_frontend").replace("pubsub", "publish_subscribe")
    assert primary in found, (name, found)


@pytest.mark.parametrize(("name", "lang", "uri", "src"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_no_styles_without_architecture(name, lang, uri, src):
    assert _styles(lang, uri, src) == set()


def test_precision_recall_over_style_fixtures(capsys):
    tp = fp = fn = 0
    rows = []
    for name, lang, uri, src, expected in FIXTURES:
        found = _styles(lang, uri, src)
        tp += len(found & expected)
        fn += len(expected - found)
        fp += len(found - expected)
        if found != expected:
            rows.append(f"  {name}: missing {sorted(expected - found)} extra {sorted(found - expected)}")
    for name, lang, uri, src in NEGATIVES:
        found = _styles(lang, uri, src)
        fp += len(found)
        if found:
            rows.append(f"  negative {name}: {sorted(found)}")
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    with capsys.disabled():
        print(f"\nArchitecture styles over {len(FIXTURES)} fixtures + {len(NEGATIVES)} negatives: "
              f"precision {precision:.2f}, recall {recall:.2f} (tp {tp}, fp {fp}, fn {fn})")
        for r in rows:
            print(r)
    assert precision >= 0.8 and recall >= 0.8


def test_component_graph_from_compose():
    src = FIXTURES[6][3]  # cqrs-compose
    g, _, _ = build_graph(src, language="yaml", uri="docker-compose.yml")
    d = graph_to_dict(g)
    json.dumps(d)
    kinds = {n["id"]: n["kind"] for n in d["nodes"]}
    assert kinds["orders-write-db"] == "database" and kinds["kafka"] == "broker" and kinds["order-query-service"] == "service"
    rel = {(e["source"], e["target"]): set(e["relations"]) for e in d["edges"]}
    assert rel[("order-command-service", "kafka")] == {"publishes"}
    assert rel[("projector", "kafka")] == {"subscribes"}
    assert rel[("order-command-service", "orders-write-db")] == {"reads", "writes"}


def test_kubernetes_graph_services_ingress_sidecars():
    src = """apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  template:
    metadata: {labels: {app: orders}}
    spec:
      containers:
        - name: orders
          image: acme/orders
          env:
            - {name: PAYMENTS_URL, value: "http://payments:8080"}
        - name: envoy
          image: envoyproxy/envoy:v1.30
---
apiVersion: v1
kind: Service
metadata: {name: orders}
spec: {selector: {app: orders}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments}
spec:
  template:
    metadata: {labels: {app: payments}}
    spec: {containers: [{name: payments, image: acme/payments}]}
---
apiVersion: v1
kind: Service
metadata: {name: payments}
spec: {selector: {app: payments}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: edge}
spec:
  rules:
    - http:
        paths:
          - {path: /orders, backend: {service: {name: orders}}}
          - {path: /pay, backend: {service: {name: payments}}}
"""
    g, sents, cfg = build_graph(src, language="yaml", uri="k8s.yaml")
    assert g.nodes["edge"]["kind"] == "gateway"
    assert g.has_edge("edge", "orders") and g.has_edge("edge", "payments") and g.has_edge("orders", "payments")
    assert {s.name for s in detect_styles(g, sents, cfg)} >= {"api_gateway", "sidecar"}


def test_extractor_emits_architecture_and_component_records():
    name, lang, uri, src, _ = FIXTURES[1]  # gateway-mermaid
    records = extract_patterns(Document(id="a", type="architecture", content=src, version="v", language=lang, uri=uri)).patterns
    arch = [r for r in records if r.kind == "architecture"]
    assert len(arch) == 1 and arch[0].key == "architecture:edge.mmd"
    tags = {t.name: t for t in arch[0].tags}
    assert "arch:api_gateway" in tags and tags["arch:api_gateway"].confidence >= 0.7
    assert any("API Gateway" in e for e in tags["arch:api_gateway"].evidence)
    comps = {r.key: r for r in records if r.kind == "component"}
    assert "component:api-gateway" in comps
    gw = comps["component:api-gateway"]
    assert "kind gateway" in gw.text and "→ Orders Service" in gw.text
    assert gw.span.start_line == 2
    assert any(t.name == "component_kind:gateway" for t in gw.tags)


def test_compose_components_get_kinds_and_relations():
    name, lang, uri, src, _ = FIXTURES[4]  # pubsub-compose
    records = {r.key: r for r in extract_patterns(Document(id="a", type="architecture", content=src, version="v",
                                                          language=lang, uri=uri)).patterns}
    orders = records["component:orders"]
    assert orders.span.start_line == 2 and "relations: → kafka (publishes)" in orders.text
    assert any(t.name == "component_kind:broker" for t in records["component:kafka"].tags)
    arch = records["architecture:docker-compose.yml"]
    assert {"arch:publish_subscribe", "arch:event_driven"} <= {t.name for t in arch.tags}


def test_markdown_with_embedded_diagram_and_prose():
    md = """# Platform

All traffic enters through the API gateway, which routes requests to the order-service and the user-service.

```mermaid
graph LR
  O[order-service] --> K[(Kafka)]
  K --> N[notification-service]
```
"""
    records = extract_patterns(Document(id="m", type="architecture", content=md, version="v", language="markdown",
                                        uri="ARCHITECTURE.md")).patterns
    kinds = [r.kind for r in records]
    assert "section" in kinds and "architecture" in kinds
    comps = {r.key for r in records if r.kind == "component"}
    assert {"component:api-gateway", "component:order-service", "component:kafka", "component:notification-service"} <= comps
