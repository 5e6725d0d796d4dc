"""Settings that reach librdkafka and the HTTP services, and credentials that never reach output or logs."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from infra.kafka.provision import EMBEDDED_CLUSTER_ID, Cluster, Replication, replication_for
from infra.errors import ConfigError
from infra.redact import install_log_redaction, redact_url
from infra.settings import KafkaSettings, Settings


def test_extra_librdkafka_properties_come_from_json_and_apply_last(monkeypatch):
    monkeypatch.setenv("ASSAY_KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("ASSAY_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("ASSAY_KAFKA_EXTRA", '{"compression.type": "zstd", "security.protocol": "SASL_SSL", '
                                            '"socket.keepalive.enable": true}')
    conf = KafkaSettings().librdkafka_config()
    assert conf["compression.type"] == "zstd" and conf["socket.keepalive.enable"] is True
    assert conf["security.protocol"] == "SASL_SSL"  # explicit extra wins


def test_extra_must_be_a_json_object(monkeypatch):
    monkeypatch.setenv("ASSAY_KAFKA_EXTRA", '["compression.type"]')
    with pytest.raises(ValidationError):
        KafkaSettings()


def test_min_insync_above_the_replication_factor_is_refused():
    with pytest.raises(ValidationError, match="no write could succeed"):
        KafkaSettings(replication_factor=2, min_insync_replicas=3)


@pytest.mark.parametrize(("settings", "cluster", "expected"), [
    (KafkaSettings(), Cluster("prod", 5, {}), Replication(3, 2)),
    (KafkaSettings(), Cluster(EMBEDDED_CLUSTER_ID, 1, {}), Replication(1, 1)),
    (KafkaSettings(replication_factor=1), Cluster("dev", 1, {}), Replication(1, 1)),
    (KafkaSettings(replication_factor=5, min_insync_replicas=3), Cluster("prod", 5, {}), Replication(5, 3)),
])
def test_replication_defaults_follow_the_cluster(settings, cluster, expected):
    assert replication_for(settings, cluster) == expected


def test_a_cluster_smaller_than_the_replication_factor_is_refused_with_what_to_set():
    with pytest.raises(ConfigError, match="has 2; for a single-broker cluster set ASSAY_KAFKA_REPLICATION_FACTOR=1"):
        replication_for(KafkaSettings(), Cluster("prod", 2, {}))
    with pytest.raises(ConfigError, match="more than the replication factor 1"):
        replication_for(KafkaSettings(replication_factor=1, min_insync_replicas=None).model_copy(
            update={"min_insync_replicas": 2}), Cluster("prod", 3, {}))


def test_web_token_is_secret_and_defaults_keep_the_api_on_loopback(monkeypatch):
    monkeypatch.setenv("ASSAY_WEB_TOKEN", "t0ken")
    s = Settings()
    assert s.web_host == "127.0.0.1" and not s.web_allow_no_token
    assert "t0ken" not in repr(s) and s.web_token.get_secret_value() == "t0ken"


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
    ("rediss://default:pw@cache:6380", "rediss://default:***@cache:6380"),
    ("http://qdrant:6333?api_key=k1&x=1", "http://qdrant:6333?api_key=***&x=1"),
    ("http://qdrant:6333", "http://qdrant:6333"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_log_records_are_redacted_whatever_logs_them(caplog):
    install_log_redaction()
    install_log_redaction()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("connecting to %s", "redis://user:hunter2@cache:6379/0")
    assert "hunter2" not in caplog.text and "redis://user:***@cache:6379/0" in caplog.text
