"""What every ``assay`` command shares: the settings, read once, and the resolved Kafka connection."""

from __future__ import annotations

from typing import Any

from infra.settings import Settings, get_settings


def settings() -> Settings:
    return get_settings()


def kafka_conf(s: Settings | None = None) -> dict[str, Any]:
    """librdkafka settings of the configured cluster, else of the running embedded broker."""
    from infra.kafka.connect import resolve_bootstrap

    return resolve_bootstrap(s or settings()).kafka.librdkafka_config()
