"""``assay broker`` (the embedded broker) and ``assay topics create | list``."""

from __future__ import annotations

import signal
import sys

import click

from streams.cli.common import kafka_conf, settings

__all__ = ["broker", "topics"]


@click.command()
@click.option("--port", default=9092, show_default=True, help="Loopback port to listen on (0 = a free one)")
def broker(port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, in memory) in the foreground."""
    from infra.kafka.broker import EmbeddedBroker

    # SIGTERM ends the command like Ctrl-C does, so the broker process is always stopped with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    b = EmbeddedBroker(port=port, state_dir=settings().data_dir).start()
    click.echo(f"embedded broker listening on {b.bootstrap_servers} (data in memory; Ctrl-C stops it)")
    click.echo(f"  other terminals: ASSAY_KAFKA_BOOTSTRAP_SERVERS={b.bootstrap_servers} or just run assay commands here")
    try:
        b.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()


@click.group()
def topics() -> None:
    """Create or list Assay's topics."""


@topics.command("create")
def topics_create() -> None:
    """Create every topic with its partitions, replication and configs (idempotent)."""
    from infra.kafka.connect import resolve_bootstrap
    from infra.kafka.provision import provision_topics

    for st in provision_topics(resolve_bootstrap(settings()).kafka, create=True):
        click.echo(f"{st.name:30s} partitions={st.partitions} {'created' if st.created else 'exists'}")


@topics.command("list")
def topics_list() -> None:
    """Every Assay topic and its partition count on the broker."""
    from infra.kafka.admin import partition_counts
    from infra.kafka.topics import topic_specs

    counts = partition_counts(kafka_conf())
    for spec in topic_specs(settings().kafka).values():
        click.echo(f"{spec.name:30s} {counts.get(spec.name, 'missing')}  {spec.description}")
