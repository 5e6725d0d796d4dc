"""Topics on a real cluster: replication from the cluster's size, created or only checked.

Defaults follow the cluster: on the embedded broker (one Tansu process) every topic has one
replica; anywhere else three, with ``min.insync.replicas`` two, so an acknowledged write (Assay
produces with ``acks=all``) survives the loss of a broker. A cluster with fewer brokers than the
replication factor is refused with what to set, instead of failing topic by topic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from infra.errors import BrokerError, ConfigError
from infra.kafka.admin import TopicState, create_topics
from infra.kafka.topics import topic_specs
from infra.settings import KafkaSettings

log = logging.getLogger(__name__)

#: The cluster id Tansu reports unless told otherwise: the embedded broker.
EMBEDDED_CLUSTER_ID = "tansu_cluster"
PRODUCTION_REPLICATION = (3, 2)
EMBEDDED_REPLICATION = (1, 1)


@dataclass(frozen=True)
class Cluster:
    cluster_id: str | None
    brokers: int
    replicas: dict[str, int]  # topic → replicas of its first partition

    @property
    def embedded(self) -> bool:
        return self.cluster_id == EMBEDDED_CLUSTER_ID


@dataclass(frozen=True)
class Replication:
    factor: int
    min_insync: int


def describe_cluster(conf: dict, timeout_s: float = 10.0) -> Cluster:
    """The cluster id, its broker count (from metadata) and each topic's replica count."""
    try:
        md = AdminClient(conf).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise BrokerError(f"broker unreachable: {exc.args[0]}") from exc
    replicas = {name: len(next(iter(t.partitions.values())).replicas) for name, t in md.topics.items()
                if t.error is None and t.partitions}
    return Cluster(md.cluster_id, len(md.brokers), replicas)


def replication_for(kafka: KafkaSettings, cluster: Cluster) -> Replication:
    """The configured replication, else the cluster's default; refused when the cluster is too small.

    >>> replication_for(KafkaSettings(), Cluster("prod", 3, {}))
    Replication(factor=3, min_insync=2)
    >>> replication_for(KafkaSettings(), Cluster(EMBEDDED_CLUSTER_ID, 1, {}))
    Replication(factor=1, min_insync=1)
    >>> replication_for(KafkaSettings(replication_factor=2), Cluster("prod", 5, {}))
    Replication(factor=2, min_insync=2)
    >>> replication_for(KafkaSettings(), Cluster("dev", 1, {}))
    Traceback (most recent call last):
    ...
    infra.errors.ConfigError: replication factor 3 needs at least 3 brokers, but the cluster (id dev) has 1; \
for a single-broker cluster set ASSAY_KAFKA_REPLICATION_FACTOR=1 and ASSAY_KAFKA_MIN_INSYNC_REPLICAS=1
    """
    default_factor, default_isr = EMBEDDED_REPLICATION if cluster.embedded else PRODUCTION_REPLICATION
    factor = kafka.replication_factor or default_factor
    min_insync = kafka.min_insync_replicas or min(default_isr, factor)
    if factor > cluster.brokers:
        raise ConfigError(
            f"replication factor {factor} needs at least {factor} brokers, but the cluster (id {cluster.cluster_id}) "
            f"has {cluster.brokers}; for a single-broker cluster set ASSAY_KAFKA_REPLICATION_FACTOR=1 and "
            "ASSAY_KAFKA_MIN_INSYNC_REPLICAS=1")
    if min_insync > factor:
        raise ConfigError(f"ASSAY_KAFKA_MIN_INSYNC_REPLICAS={min_insync} is more than the replication factor "
                          f"{factor}: no write could succeed")
    return Replication(factor, min_insync)


def provision_topics(kafka: KafkaSettings, *, create: bool | None = None) -> list[TopicState]:
    """Create Assay's topics (``create``, default ``kafka.create_topics``), or check that they exist.

    Raises:
        ConfigError: the cluster is smaller than the replication factor, or (not creating) a topic
            is missing or has another partition count.
        BrokerError: the broker is unreachable or refused a topic.
    """
    conf = kafka.librdkafka_config()
    specs = topic_specs(kafka)
    cluster = describe_cluster(conf)
    if not (kafka.create_topics if create is None else create):
        return verify_topics(conf, kafka, cluster)
    rep = replication_for(kafka, cluster)
    states = create_topics(conf, specs.values(), rep.factor, min_insync_replicas=rep.min_insync)
    _warn_underreplicated(kafka, cluster, rep.factor)
    return states


def verify_topics(conf: dict, kafka: KafkaSettings, cluster: Cluster | None = None) -> list[TopicState]:
    """Every topic exists with its partition count; fewer replicas than configured is only a warning."""
    from infra.kafka.admin import partition_counts

    counts = partition_counts(conf)
    problems = []
    for spec in topic_specs(kafka).values():
        have = counts.get(spec.name)
        if have is None:
            problems.append(f"{spec.name} is missing")
        elif have != spec.partitions:
            problems.append(f"{spec.name} has {have} partitions, expected {spec.partitions}")
    if problems:
        raise ConfigError("ASSAY_KAFKA_CREATE_TOPICS=false and the topics are not as Assay needs them: "
                          + "; ".join(problems) + ". Create them (`assay topics create`, or your provisioning, "
                          "with these partition counts), or set ASSAY_KAFKA_PARTITIONS to match")
    cluster = cluster or describe_cluster(conf)
    wanted = kafka.replication_factor or (EMBEDDED_REPLICATION if cluster.embedded else PRODUCTION_REPLICATION)[0]
    _warn_underreplicated(kafka, cluster, min(wanted, cluster.brokers))
    return [TopicState(s.name, s.partitions, False) for s in topic_specs(kafka).values()]


def _warn_underreplicated(kafka: KafkaSettings, cluster: Cluster, factor: int) -> None:
    few = [f"{s.name} ({cluster.replicas[s.name]})" for s in topic_specs(kafka).values()
           if s.name in cluster.replicas and cluster.replicas[s.name] < factor]
    if few:
        log.warning("existing topics have fewer replicas than the replication factor %d: %s (Assay never changes "
                    "an existing topic's replication)", factor, ", ".join(few))
