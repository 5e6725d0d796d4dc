"""Component kinds (database, cache, broker, gateway …) from image names, names and labels; node ids."""

from __future__ import annotations

import re

__all__ = ["CIRCUIT_BREAKER_KEYS", "SIDECAR_IMAGES", "infer_kind", "node_key", "normalize_name"]

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
SIDECAR_IMAGES = ("envoy", "istio-proxy", "istio/proxy", "linkerd-proxy", "fluentd", "fluent-bit", "fluentbit",
                   "filebeat", "vault-agent", "cloudsql-proxy", "cloud-sql-proxy", "promtail", "otel-collector",
                   "oauth2-proxy", "dapr", "log-shipper", "logshipper", "sidecar")

#: configuration keys and values that mean a circuit breaker
CIRCUIT_BREAKER_KEYS = re.compile(r"circuit.?breaker|resilience4j|hystrix|outlier.?detection|polly|sentinel|breaker", re.I)

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


def normalize_name(name: str) -> str:
    name = name.strip().strip("\"'`[]()").strip()
    return re.sub(r"\s+", " ", name)[:80]


def node_key(name: str) -> str:
    """Node id: lower case, separators unified (``Order Service`` = ``order-service`` = ``order_service``)."""
    return re.sub(r"[\s_\-]+", "-", normalize_name(name).lower()).strip("-")
