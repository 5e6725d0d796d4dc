"""The ``assay`` command line: broker, topics, worker, produce, search, tail, status, schemas, demo."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import click
import orjson

from streams.cli_errors import AssayGroup
from infra.settings import Settings, get_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings() -> Settings:
    return get_settings()


def _kafka_conf(settings: Settings) -> dict:
    from infra.kafka.connect import resolve_bootstrap

    return resolve_bootstrap(settings).kafka.librdkafka_config()


@click.group(cls=AssayGroup)
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING …")
def main(log_level: str | None) -> None:
    """Assay: streaming knowledge extraction from Kafka into Qdrant."""
    level = (log_level or _settings().log_level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


@main.command()
@click.option("--port", default=9092, show_default=True, help="Loopback port to listen on (0 = a free one)")
def broker(port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, in memory) in the foreground."""
    from infra.kafka.broker import EmbeddedBroker

    settings = _settings()
    # SIGTERM ends the command like Ctrl-C does, so the broker process is always stopped with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    b = EmbeddedBroker(port=port, state_dir=settings.data_dir).start()
    click.echo(f"embedded broker listening on {b.bootstrap_servers} (data in memory; Ctrl-C stops it)")
    click.echo(f"  other terminals: ASSAY_KAFKA_BOOTSTRAP_SERVERS={b.bootstrap_servers} or just run assay commands here")
    try:
        b.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()


@main.group()
def topics() -> None:
    """Create or list Assay's topics."""


@topics.command("create")
def topics_create() -> None:
    """Create every topic with its partitions and configs (idempotent)."""
    from infra.kafka.admin import create_topics
    from infra.kafka.topics import topic_specs

    settings = _settings()
    for st in create_topics(_kafka_conf(settings), topic_specs(settings.kafka).values(),
                            settings.kafka.replication_factor):
        click.echo(f"{st.name:30s} partitions={st.partitions} {'created' if st.created else 'exists'}")


@topics.command("list")
def topics_list() -> None:
    """Every Assay topic and its partition count on the broker."""
    from infra.kafka.admin import partition_counts
    from infra.kafka.topics import topic_specs

    settings = _settings()
    counts = partition_counts(_kafka_conf(settings))
    for spec in topic_specs(settings.kafka).values():
        click.echo(f"{spec.name:30s} {counts.get(spec.name, 'missing')}  {spec.description}")


@main.command()
@click.option("--loglevel", default="info")
@click.option("--role", type=click.Choice(["all", "compute", "index"]), default=None,
              help="all (default): compute and index in one process; compute: validate, score, extract, embed "
                   "(run several); index: the one store writer [env ASSAY_WORKER_ROLE]")
def worker(loglevel: str, role: str | None) -> None:
    """Run the stream worker (Faust) until Ctrl-C / SIGTERM.

    Exit codes: 0 stopped, 2 configuration error, 3 stalled or crashed (watchdog), 4 forced stop.
    """
    from streams.worker import run_worker

    settings = _settings()
    if role is not None:
        settings = settings.model_copy(update={"worker_role": role})
    sys.exit(run_worker(settings, loglevel=loglevel))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar")
def produce(paths: tuple[str, ...], quiet: bool) -> None:
    """Produce files, folders (recursively) or JSON Lines from stdin ('-') to sources.raw."""
    from tqdm import tqdm

    from infra.kafka.topics import SOURCES_RAW, topic_specs
    from streams.produce import ProduceReport, documents_from_jsonl, documents_from_paths, produce as do_produce

    settings = _settings()
    report = ProduceReport()
    if paths == ("-",):
        docs = documents_from_jsonl(sys.stdin)
    else:
        docs = documents_from_paths([Path(p) for p in paths], settings.max_document_bytes, report)
    topic = topic_specs(settings.kafka)[SOURCES_RAW].name
    with tqdm(unit="doc", disable=quiet, desc=f"→ {topic}") as bar:
        do_produce(_kafka_conf(settings), topic, docs, report, on_sent=bar.update)
    for path, why in report.skipped:
        click.echo(f"skipped {path}: {why}", err=True)
    click.echo(f"produced {report.delivered} of {report.sent} documents to {topic}"
               f" ({report.failed} failed, {len(report.skipped)} skipped)")
    if report.failed:
        for err in report.errors[:5]:
            click.echo(f"  delivery error: {err}", err=True)
        sys.exit(1)


@main.command()
@click.argument("text")
@click.option("--type", "type_", type=click.Choice(["code", "documentation", "architecture", "general"]))
@click.option("--min-quality", type=float, default=None)
@click.option("--language", default=None)
@click.option("--set-id", default=None, help="Only patterns of this set (its files' and the set's own)")
@click.option("--kind", default=None, help="Only this pattern kind, e.g. design_pattern, set, function")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON hits")
def search(text: str, type_: str | None, min_quality: float | None, language: str | None, set_id: str | None,
           kind: str | None, k: int, as_json: bool) -> None:
    """Semantic search over the indexed patterns."""
    from streams.search import search_patterns

    hits = search_patterns(_settings(), text, k=k, type_=type_, min_quality=min_quality, language=language,
                           set_id=set_id, kind=kind)
    if as_json:
        for h in hits:
            click.echo(orjson.dumps(h))
        return
    if not hits:
        click.echo("no hits")
    for i, h in enumerate(hits, 1):
        p = h["payload"]
        span = p.get("span") or {}
        click.echo(f"{i:2d}. {h['score']:.3f}  [{p.get('doc_type')}/{p.get('kind')}] {p.get('name')}  "
                   f"q={p.get('quality')} ({p.get('quality_label')})")
        click.echo(f"     {p.get('uri')}:{span.get('start_line')}-{span.get('end_line')}")


@main.command()
@click.argument("topic")
@click.option("-n", "--max-messages", type=int, default=None, help="Stop after N messages")
@click.option("--from-end", is_flag=True, help="Only new messages")
@click.option("--timeout", type=float, default=None, help="Stop after this many idle seconds")
def tail(topic: str, max_messages: int | None, from_end: bool, timeout: float | None) -> None:
    """Print messages of an Assay topic (role like patterns.enriched, or a full name) as JSON lines."""
    from streams.tail import tail_topic

    settings = _settings()
    tail_topic(settings, _kafka_conf(settings), topic, max_messages, from_end, timeout, click.echo)


@main.command()
def status() -> None:
    """Broker, topics and partitions, consumer-group lag, Qdrant collection size, Redis."""
    from streams.status import collect_status

    ok = True
    for line, good in collect_status(_settings()):
        ok &= good
        click.echo(("  ok   " if good else "  FAIL ") + line)
    sys.exit(0 if ok else 1)


@main.group()
def schemas() -> None:
    """JSON Schemas of every topic's messages."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schemas_export(directory: Path) -> None:
    """Write one JSON Schema per topic into DIRECTORY."""
    from schemas.export import export_schemas

    for path in export_schemas(directory):
        click.echo(str(path))


@main.command()
@click.option("--stdlib-modules", default=150, show_default=True, help="How many stdlib modules to add to the corpus")
@click.option("--timeout", default=900.0, show_default=True, help="Give up after this many seconds")
def demo(stdlib_modules: int, timeout: float) -> None:
    """Start the embedded default, process a real corpus end to end, print a summary, stop everything."""
    from streams.demo import run_demo

    started = time.monotonic()
    code = run_demo(_settings(), stdlib_modules=stdlib_modules, timeout_s=timeout)
    click.echo(f"demo finished in {time.monotonic() - started:.0f} s")
    sys.exit(code)


def _register_groups() -> None:
    from inference.cli import inference_group
    from streams.quality_cli import model_group, quality_group

    main.add_command(inference_group)
    main.add_command(quality_group)
    main.add_command(model_group)


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    main()
