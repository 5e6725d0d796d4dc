"""Every Assay topic, its partition count and configs — defined once.

Names carry the configurable prefix (``ASSAY_KAFKA_TOPIC_PREFIX``). Topics are created
explicitly (``assay topics create``) before a worker starts: auto-created topics get the
broker's default partition count, which Faust refuses for tables and which would silently
change key → partition routing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.settings import KafkaSettings


@dataclass(frozen=True)
class TopicSpec:
    """A topic's logical role, physical name and how it must be created."""

    role: str
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


# Logical roles → base names. The role is what code refers to; the name is what is on the wire.
SOURCES_RAW = "sources.raw"
PATTERNS_ENRICHED = "patterns.enriched"
PIPELINE_METRICS = "pipeline.metrics"
SOURCES_DLQ = "sources.dlq"
MODELS = "models"
SET_MEMBERS = "sets.members"
SET_STATE = "sets.state"
POINTS_PENDING = "points.pending"
ALERTS = "alerts"
QUALITY_FEEDBACK = "quality.feedback"
EXPERIMENTS = "experiments"
METRICS_AGGREGATED = "metrics.aggregated"
CAPACITY_FORECASTS = "capacity.forecasts"

ROLES = (SOURCES_RAW, PATTERNS_ENRICHED, PIPELINE_METRICS, SOURCES_DLQ, MODELS, SET_MEMBERS, SET_STATE,
         POINTS_PENDING, ALERTS, QUALITY_FEEDBACK, EXPERIMENTS, METRICS_AGGREGATED, CAPACITY_FORECASTS)

_WEEK_MS = str(7 * 24 * 3600 * 1000)


def topic_specs(settings: KafkaSettings) -> dict[str, TopicSpec]:
    """All topics keyed by role, with the prefix applied."""
    p = settings.topic_prefix
    n = settings.partitions
    return {
        SOURCES_RAW: TopicSpec(
            SOURCES_RAW, p + SOURCES_RAW, n,
            # Latest version of every source survives compaction; tombstones delete.
            {"cleanup.policy": "compact", "retention.ms": _WEEK_MS},
            "Input documents keyed by source id; null value = source deleted",
        ),
        PATTERNS_ENRICHED: TopicSpec(
            PATTERNS_ENRICHED, p + PATTERNS_ENRICHED, n,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS},
            "One event per indexed or deleted pattern, keyed by point id",
        ),
        PIPELINE_METRICS: TopicSpec(
            PIPELINE_METRICS, p + PIPELINE_METRICS, 1,
            {"cleanup.policy": "delete", "retention.ms": str(24 * 3600 * 1000)},
            "Per-document and per-batch metric events",
        ),
        SOURCES_DLQ: TopicSpec(
            SOURCES_DLQ, p + SOURCES_DLQ, 1,
            {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * 3600 * 1000)},
            "Every rejected input with its original bytes and the reason",
        ),
        MODELS: TopicSpec(
            MODELS, p + MODELS, 1,
            # Compacted: the latest promotion per model kind is always there for a starting worker.
            {"cleanup.policy": "compact"},
            "Model promotions and rollbacks, keyed by model kind; every worker follows them",
        ),
        SET_MEMBERS: TopicSpec(
            SET_MEMBERS, p + SET_MEMBERS, n,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS},
            "Internal: code documents joining, changing or leaving a set, keyed by set id",
        ),
        SET_STATE: TopicSpec(
            SET_STATE, p + SET_STATE, n,
            # Partition i holds the state of sets.members partition i; compaction keeps the latest.
            {"cleanup.policy": "compact"},
            "Internal: the set agent's changelog (set id + source id → compressed member summary)",
        ),
        POINTS_PENDING: TopicSpec(
            POINTS_PENDING, p + POINTS_PENDING, n,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS,
             "max.message.bytes": str(settings.internal_max_message_bytes)},
            "Internal: one source's complete computed points with vectors, from compute to indexing, keyed by source id",
        ),
        ALERTS: TopicSpec(
            ALERTS, p + ALERTS, 1,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS},
            "Alerts: stalls, crashes, configuration errors and other conditions an operator must see",
        ),
        QUALITY_FEEDBACK: TopicSpec(
            # One partition: one active learner applies the labels in order (see streams/learner).
            QUALITY_FEEDBACK, p + QUALITY_FEEDBACK, 1,
            {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * 3600 * 1000)},
            "Labelled feedback on document quality (source id or content, label or score)",
        ),
        EXPERIMENTS: TopicSpec(
            EXPERIMENTS, p + EXPERIMENTS, 1,
            # Compacted: the latest state of the experiment is always there for a starting worker.
            {"cleanup.policy": "compact"},
            "The running model experiment (shadow, ramp, promoted, rolled back), keyed by model kind",
        ),
        METRICS_AGGREGATED: TopicSpec(
            METRICS_AGGREGATED, p + METRICS_AGGREGATED, 1,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS},
            "Per-minute aggregates of pipeline.metrics, keyed by the window's start (UTC, ISO 8601)",
        ),
        CAPACITY_FORECASTS: TopicSpec(
            CAPACITY_FORECASTS, p + CAPACITY_FORECASTS, 1,
            {"cleanup.policy": "delete", "retention.ms": _WEEK_MS},
            "The capacity advisor's forecast and recommendation after each aggregated window, keyed like it",
        ),
    }
