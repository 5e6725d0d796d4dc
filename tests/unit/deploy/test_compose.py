"""docker-compose.streaming.yml cannot run here (no Docker engine): check its structure instead."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import pytest
import yaml

from infra.settings import Settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.streaming.yml").read_text())


def worker_settings(compose: dict, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in compose["services"]["worker"]["environment"].items():
        monkeypatch.setenv(key, str(value))
    return Settings()


def test_all_services_are_defined(compose):
    assert {"kafka", "qdrant", "redis", "prometheus", "grafana", "worker", "topics", "inference"} <= set(
        compose["services"])


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


def mounts(service: dict) -> dict[Path, str]:
    """Host path (resolved) → container path of a service's bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("."):
            out[(REPO / host).resolve()] = container
    return out


def test_prometheus_scrapes_the_worker_the_inference_server_and_qdrant(compose, monkeypatch):
    s = worker_settings(compose, monkeypatch)
    prom = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]] for job in prom["scrape_configs"]}
    remote = urlparse(s.inference.remote_url)
    assert jobs["assay-worker"] == [f"worker:{s.web_port}"]
    assert jobs["assay-inference"] == [f"{remote.hostname}:{remote.port}"]
    assert jobs["qdrant"] == [f"qdrant:{urlparse(s.qdrant.url).port}"]
    assert remote.hostname == "inference" and f"{remote.port}:{remote.port}" in compose["services"]["inference"]["ports"]
    assert str(remote.port) in compose["services"]["inference"]["command"]


def test_prometheus_loads_the_alert_rules(compose):
    prom = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    rules_in_container = mounts(compose["services"]["prometheus"])[(REPO / "deploy" / "prometheus-rules.yml").resolve()]
    [pattern] = prom["rule_files"]
    assert PurePosixPath(rules_in_container).match(pattern)


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboards(compose):
    grafana = mounts(compose["services"]["grafana"])
    provider = yaml.safe_load((REPO / "deploy" / "grafana-dashboards.yml").read_text())["providers"][0]
    assert grafana[(REPO / "deploy" / "dashboards").resolve()] == provider["options"]["path"]
    assert grafana[(REPO / "deploy" / "grafana-dashboards.yml").resolve()].startswith(
        "/etc/grafana/provisioning/dashboards/")
    assert grafana[(REPO / "deploy" / "grafana-datasource.yml").resolve()].startswith(
        "/etc/grafana/provisioning/datasources/")
    assert list((REPO / "deploy" / "dashboards").glob("*.json"))


def test_healthchecks_probe_the_readiness_of_the_worker_and_the_inference_server(compose, monkeypatch):
    s = worker_settings(compose, monkeypatch)
    services = compose["services"]
    worker_probe = services["worker"]["healthcheck"]["test"]
    assert worker_probe[:4] == ["CMD", "python", "-m", "infra.healthcheck"]
    assert worker_probe[4] == f"http://127.0.0.1:{s.web_port}/ready"
    remote = urlparse(s.inference.remote_url)
    assert services["inference"]["healthcheck"]["test"][4] == f"http://127.0.0.1:{remote.port}/ready"
    assert services["worker"]["depends_on"]["inference"]["condition"] == "service_healthy"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'HEALTHCHECK' in dockerfile and '"infra.healthcheck"' in dockerfile
    from infra.healthcheck import DEFAULT_URL

    assert DEFAULT_URL == f"http://127.0.0.1:{Settings().web_port}/ready"
