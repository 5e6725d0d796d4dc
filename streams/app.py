"""The Faust app: one per worker process, configured from typed settings.

``build_worker_app`` wires the app, its topics, the document agent and the HTTP API around a
ready ``PipelineRuntime``; nothing here decides anything about documents.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from infra.kafka import lenient_records
from infra.settings import KafkaSettings, Settings


def faust_broker_url(kafka: KafkaSettings) -> str:
    assert kafka.bootstrap_servers, "bootstrap servers must be resolved before the app is built"
    return ";".join(f"kafka://{h.strip()}" for h in kafka.bootstrap_servers.split(",") if h.strip())


def faust_credentials(kafka: KafkaSettings) -> Any:
    """Kafka SASL/SSL settings passed through to Faust (aiokafka)."""
    proto = (kafka.security_protocol or "PLAINTEXT").upper()
    if proto == "PLAINTEXT":
        return None
    context = None
    if "SSL" in proto:
        context = ssl.create_default_context(cafile=kafka.ssl_cafile)
        if kafka.ssl_certfile:
            context.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile)
    if proto.startswith("SASL"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    return faust.SSLCredentials(context)


def app_id(settings: Settings, suffix: str | None = None) -> str:
    """Faust's app id is the consumer group: one per topic prefix, so test runs never collide.

    ``all`` and ``compute`` workers share the pipeline's group (they consume ``sources.raw``);
    ``index`` workers have a group of their own (they consume only ``points.pending``), and so does
    the learner (``-learner``): Faust's assignor expects every member of a group to subscribe to
    the same topics.
    """
    if suffix is None:
        suffix = "-index" if settings.worker_role == "index" else ""
    return f"{settings.kafka.topic_prefix}{settings.kafka.consumer_group}{suffix}"


def create_app(settings: Settings, suffix: str | None = None) -> faust.App:
    lenient_records.install()  # a record whose header names are not UTF-8 must not crash the consumer
    session_ms = settings.kafka.session_timeout_s
    return faust.App(
        app_id(settings, suffix),
        broker=faust_broker_url(settings.kafka),
        broker_credentials=faust_credentials(settings.kafka),
        store="memory://",
        datadir=str(settings.data_dir / ("faust" + (suffix or ""))),
        autodiscover=False,
        # Topics are created by `assay topics create` with their partitions and configs.
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=settings.kafka.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=session_ms,
        broker_heartbeat_interval=max(session_ms / 5, 0.5),
        broker_request_timeout=max(session_ms * 3, 40.0),
        broker_rebalance_timeout=max(session_ms * 3, 30.0),
        broker_commit_interval=1.0,
        broker_commit_every=1000,
        # A points.pending record (a source's vectors) may be larger than Faust's 4 MB default fetch.
        consumer_max_fetch_size=settings.kafka.internal_max_message_bytes + 1024 * 1024,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
    )
