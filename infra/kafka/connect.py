"""Find the Kafka cluster to talk to: the configured one, else the running embedded broker."""

from __future__ import annotations

from infra.errors import BrokerError
from infra.kafka.broker import running_embedded_broker
from infra.settings import Settings


def resolve_bootstrap(settings: Settings) -> Settings:
    """Settings with ``kafka.bootstrap_servers`` set, or a BrokerError telling what to do."""
    if settings.kafka.bootstrap_servers:
        return settings
    addr = running_embedded_broker(settings.data_dir)
    if addr is None:
        raise BrokerError(
            "no Kafka cluster configured and no embedded broker running: start one with "
            "`assay broker` (or set ASSAY_KAFKA_BOOTSTRAP_SERVERS=host:port)"
        )
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": addr})
    return settings.model_copy(update={"kafka": kafka})
