"""deploy/k8s cannot be applied here (no cluster): render each variant and check what matters.

A small renderer follows the kustomizations (``resources`` and JSON6902 ``patches``, the only
features they use). Core kinds are validated against the Kubernetes OpenAPI schemas
(kubernetes-validate, offline); then the fields Assay depends on are checked: commands the CLI
accepts, probes on the served port, env names that are real settings, requests, selectors and
labels that match, and KEDA triggers on the consumer groups the workers really use.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from infra.kafka.topics import POINTS_PENDING, SOURCES_RAW
from infra.settings import InferenceSettings, KafkaSettings, QdrantSettings, RedisSettings, Settings
from streams.app import app_id
from streams.cli import main

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
VARIANTS = ["indexer-edge", "indexer-qdrant", "gpu"]
KUBERNETES_VERSION = "1.30.0"
OTHER_ENV = {"HF_HUB_OFFLINE"}


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def _apply(doc: dict[str, Any], op: dict[str, Any]) -> None:
    *parents, last = _pointer(op["path"])
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]  # a missing parent is a broken patch
    if op["op"] == "add" and isinstance(node, list):
        node.insert(len(node) if last == "-" else int(last), op["value"])
    elif op["op"] in ("add", "replace"):
        if op["op"] == "replace":
            assert last in node, f"replace of a missing {op['path']}"
        node[last] = op["value"]
    elif op["op"] == "remove":
        del node[last]
    else:
        raise AssertionError(f"unsupported patch op {op['op']}")


def render(directory: Path) -> list[dict[str, Any]]:
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for res in kust.get("resources", []):
        target = directory / res
        docs += render(target) if target.is_dir() else copy.deepcopy(_load(target))
    for entry in kust.get("labels", []):
        for d in docs:
            d["metadata"].setdefault("labels", {}).update(entry["pairs"])
    for patch in kust.get("patches", []):
        t = patch["target"]
        hits = [d for d in docs if d["kind"] == t["kind"] and d["metadata"]["name"] == t["name"]]
        assert len(hits) == 1, f"patch target {t} matches {len(hits)} resources"
        for op in yaml.safe_load(patch["patch"]):
            _apply(hits[0], op)
    return docs


@pytest.fixture(scope="module", params=VARIANTS)
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / request.param)


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def containers(docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(w, c) for w in workloads(docs) for c in w["spec"]["template"]["spec"]["containers"]]


def known_env() -> set[str]:
    names = {f"ASSAY_{f.upper()}" for f in Settings.model_fields}
    for cls, prefix in ((KafkaSettings, "ASSAY_KAFKA_"), (QdrantSettings, "ASSAY_QDRANT_"),
                        (RedisSettings, "ASSAY_REDIS_"), (InferenceSettings, "ASSAY_INFERENCE_")):
        names |= {prefix + f.upper() for f in cls.model_fields}
    return names | OTHER_ENV


def config(docs: list[dict[str, Any]]) -> dict[str, str]:
    return next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "assay-config")["data"]


def test_every_document_is_a_named_resource_once(docs):
    keys = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert all(d.get("apiVersion") and d.get("kind") and d["metadata"].get("name") for d in docs)
    assert len(keys) == len(set(keys)), keys


def test_core_kinds_match_the_kubernetes_schemas(docs):
    kv = pytest.importorskip("kubernetes_validate")
    for d in docs:
        if d["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked field by field below
        kv.validate(d, KUBERNETES_VERSION, strict=True)


def test_commands_are_ones_the_cli_accepts(docs):
    for w, c in containers(docs):
        argv = c["command"]
        assert argv[0] == "assay", w["metadata"]["name"]
        ctx = main.make_context("assay", list(argv[1:]), resilient_parsing=False)
        with ctx:
            sub = main.get_command(ctx, argv[1])
            assert sub is not None
            if isinstance(sub, click.Group):
                assert sub.get_command(ctx, argv[2]) is not None
                sub.get_command(ctx, argv[2]).make_context(argv[2], list(argv[3:]), parent=ctx)
            else:
                sub.make_context(argv[1], list(argv[2:]), parent=ctx)


def test_every_env_name_is_a_real_setting_and_secrets_come_from_secrets(docs):
    known = known_env()
    assert set(config(docs)) <= known, set(config(docs)) - known
    for w, c in containers(docs):
        for e in c.get("env", []):
            assert e["name"] in known, f"{w['metadata']['name']}: {e['name']} is not a setting"
            if any(word in e["name"] for word in ("TOKEN", "PASSWORD", "API_KEY")):
                assert "secretKeyRef" in e.get("valueFrom", {}), f"{e['name']} must come from a Secret"


def test_the_config_is_valid_settings_with_an_exposed_api_that_needs_its_token(docs, monkeypatch):
    for key, value in config(docs).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ASSAY_WEB_TOKEN", "t")
    s = Settings()
    assert s.web_host == "0.0.0.0" and not s.web_allow_no_token and not s.kafka.create_topics
    for w, c in containers(docs):
        if c["command"][1] == "worker":
            assert "ASSAY_WEB_TOKEN" in {e["name"] for e in c["env"]}, w["metadata"]["name"]


def test_servers_have_probes_on_their_port_and_resource_requests(docs):
    cfg = config(docs)
    for w, c in containers(docs):
        res = c["resources"]
        assert {"cpu", "memory"} <= set(res["requests"]) and "memory" in res["limits"], w["metadata"]["name"]
        if w["kind"] == "Job":
            continue
        port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
        served = int(cfg["ASSAY_WEB_PORT"]) if c["command"][1] == "worker" else int(c["command"][c["command"].index("--port") + 1])
        assert port == served
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"]["port"] == "http"


def test_selectors_match_their_pods(docs):
    pods = {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in workloads(docs)}
    for w in workloads(docs):
        if w["kind"] != "Job":
            assert w["spec"]["selector"]["matchLabels"].items() <= pods[w["metadata"]["name"]].items()
    for d in docs:
        selector = d["spec"]["selector"].get("matchLabels") if d["kind"] == "PodDisruptionBudget" else (
            d["spec"]["selector"] if d["kind"] == "Service" else None)
        if selector:
            assert any(selector.items() <= labels.items() for labels in pods.values()), d["metadata"]["name"]


def test_keda_scales_on_the_consumer_groups_the_workers_use(docs):
    cfg = config(docs)
    kafka = KafkaSettings(topic_prefix=cfg["ASSAY_KAFKA_TOPIC_PREFIX"], partitions=int(cfg["ASSAY_KAFKA_PARTITIONS"]))
    targets = {w["metadata"]["name"]: w for w in workloads(docs)}
    scaled = [d for d in docs if d["kind"] == "ScaledObject"]
    assert scaled
    for so in scaled:
        assert so["apiVersion"] == "keda.sh/v1alpha1"
        target = targets[so["spec"]["scaleTargetRef"]["name"]]
        assert target["kind"] == "Deployment" == so["spec"]["scaleTargetRef"].get("kind", "Deployment")
        role = target["spec"]["template"]["spec"]["containers"][0]["command"][3]
        [trigger] = so["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka" and int(meta["lagThreshold"]) > 0
        assert meta["bootstrapServers"] == cfg["ASSAY_KAFKA_BOOTSTRAP_SERVERS"]
        assert meta["consumerGroup"] == app_id(Settings(kafka=kafka, worker_role=role))
        assert meta["topic"] == kafka.topic_prefix + (SOURCES_RAW if role == "compute" else POINTS_PENDING)
        assert so["spec"]["maxReplicaCount"] <= kafka.partitions  # more consumers than partitions idle


def test_the_edge_indexer_is_one_writer_with_a_volume_and_the_server_indexer_scales():
    edge = next(d for d in render(K8S / "indexer-edge") if d["metadata"]["name"] == "assay-indexer"
                and d["kind"] in ("StatefulSet", "Deployment"))
    assert edge["kind"] == "StatefulSet" and edge["spec"]["replicas"] == 1
    assert edge["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "ASSAY_QDRANT_URL" not in {e["name"] for e in edge["spec"]["template"]["spec"]["containers"][0]["env"]}
    server = next(d for d in render(K8S / "indexer-qdrant") if d["metadata"]["name"] == "assay-indexer"
                  and d["kind"] == "Deployment")
    assert server["spec"]["replicas"] > 1
    assert "ASSAY_QDRANT_URL" in {e["name"] for e in server["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_gpu_variant_asks_for_one_gpu_for_each_inference_pod_only():
    docs = render(K8S / "gpu")
    for w, c in containers(docs):
        gpus = c["resources"].get("limits", {}).get("nvidia.com/gpu")
        assert gpus == (1 if w["metadata"]["name"] == "assay-inference" else None), w["metadata"]["name"]
