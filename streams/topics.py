"""Faust topic objects for every Assay topic (raw bytes in and out: the JSON is ours)."""

from __future__ import annotations

import faust

from infra.kafka.topics import topic_specs
from infra.settings import KafkaSettings


def faust_topics(app: faust.App, kafka: KafkaSettings) -> dict[str, faust.TopicT]:
    """Role → Faust topic. Values stay bytes so the agent sees undecodable input, not an error."""
    return {
        role: app.topic(
            spec.name, partitions=spec.partitions, key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
        )
        for role, spec in topic_specs(kafka).items()
    }
