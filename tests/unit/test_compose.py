"""docker-compose.streaming.yml cannot run here (no Docker engine): check its structure instead."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from infra.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.streaming.yml").read_text())


def worker_settings(compose: dict, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in compose["services"]["worker"]["environment"].items():
        monkeypatch.setenv(key, str(value))
    return Settings()


def test_all_services_are_defined(compose):
    assert {"kafka", "qdrant", "redis", "prometheus", "grafana", "worker", "topics"} <= set(compose["services"])


def test_worker_settings_point_at_the_compose_services(compose, monkeypatch):
    s = worker_settings(compose, monkeypatch)
    services = compose["services"]
    host, port = s.kafka.bootstrap_servers.split(":")
    assert host == "kafka"
    assert f"INTERNAL://:{port}" in services["kafka"]["environment"]["KAFKA_LISTENERS"]
    qdrant = urlparse(s.qdrant.url)
    assert qdrant.hostname == "qdrant" and f"{qdrant.port}:{qdrant.port}" in services["qdrant"]["ports"]
    redis = urlparse(s.redis.url)
    assert redis.hostname == "redis" and f"{redis.port}:{redis.port}" in services["redis"]["ports"]
    assert f"{s.web_port}:{s.web_port}" in services["worker"]["ports"]
    assert s.web_host == "0.0.0.0"  # reachable by Prometheus inside the compose network


def test_prometheus_scrapes_the_worker_metrics_port(compose, monkeypatch):
    s = worker_settings(compose, monkeypatch)
    prom = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert f"worker:{s.web_port}" in targets
    mount = compose["services"]["prometheus"]["volumes"][0].split(":")[0]
    assert (REPO / mount).resolve() == (REPO / "deploy" / "prometheus.yml").resolve()


def test_topics_are_provisioned_before_the_worker_starts(compose):
    services = compose["services"]
    assert services["topics"]["command"] == ["assay", "topics", "create"]
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_image_contains_every_package(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("streams", "processors", "schemas", "inference", "infra", "models"):
        assert f"COPY {package} {package}" in dockerfile
