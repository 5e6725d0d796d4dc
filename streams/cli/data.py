"""The commands that move and look at data: ``produce``, ``search``, ``tail`` and ``status``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from streams.cli.common import kafka_conf, settings

__all__ = ["produce", "search", "status", "tail"]


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar")
def produce(paths: tuple[str, ...], quiet: bool) -> None:
    """Produce files, folders (recursively) or JSON Lines from stdin ('-') to sources.raw."""
    from tqdm import tqdm

    from infra.kafka.topics import SOURCES_RAW, topic_specs
    from streams.produce import ProduceReport, documents_from_jsonl, documents_from_paths, produce as do_produce

    s = settings()
    report = ProduceReport()
    if paths == ("-",):
        docs = documents_from_jsonl(sys.stdin)
    else:
        docs = documents_from_paths([Path(p) for p in paths], s.max_document_bytes, report)
    topic = topic_specs(s.kafka)[SOURCES_RAW].name
    with tqdm(unit="doc", disable=quiet, desc=f"→ {topic}") as bar:
        do_produce(kafka_conf(s), topic, docs, report, on_sent=bar.update)
    for path, why in report.skipped:
        click.echo(f"skipped {path}: {why}", err=True)
    click.echo(f"produced {report.delivered} of {report.sent} documents to {topic}"
               f" ({report.failed} failed, {len(report.skipped)} skipped)")
    if report.failed:
        for err in report.errors[:5]:
            click.echo(f"  delivery error: {err}", err=True)
        sys.exit(1)


@click.command()
@click.argument("text")
@click.option("--type", "type_", type=click.Choice(["code", "documentation", "architecture", "general"]))
@click.option("--min-quality", type=float, default=None)
@click.option("--language", default=None)
@click.option("--set-id", default=None, help="Only patterns of this set (its files' and the set's own)")
@click.option("--kind", default=None, help="Only this pattern kind, e.g. design_pattern, set, function")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--ef", type=click.IntRange(1, 10_000), default=None,
              help="HNSW beam width for this search (default: the store's); wider finds more, costs more")
@click.option("--exact", is_flag=True, help="Scan every vector instead of the index (recall 1, slow on big stores)")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON hits")
def search(text: str, type_: str | None, min_quality: float | None, language: str | None, set_id: str | None,
           kind: str | None, k: int, ef: int | None, exact: bool, as_json: bool) -> None:
    """Semantic search over the indexed patterns."""
    from infra.qdrant.base import SearchParams
    from streams.search import search_patterns

    params = SearchParams(hnsw_ef=ef, exact=exact) if ef is not None or exact else None
    hits = search_patterns(settings(), text, k=k, type_=type_, min_quality=min_quality, language=language,
                           set_id=set_id, kind=kind, params=params)
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


class _OffsetParam(click.ParamType):
    name = "beginning|end|N|-N"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        from streams.tail import parse_offset

        try:
            return parse_offset(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command()
@click.argument("topic")
@click.option("-n", "--max-messages", type=click.IntRange(1), default=None, help="Stop after N messages")
@click.option("-p", "--partition", "partitions", type=click.IntRange(0), multiple=True,
              help="Only this partition (repeatable); default all")
@click.option("-o", "--offset", "start", type=_OffsetParam(), default="beginning", show_default=True,
              help="Where to start in each partition: beginning, end, an absolute offset N, or -N (the last N)")
@click.option("--from-end", is_flag=True, help="Only new messages (same as --offset end)")
@click.option("-e", "--exit", "exit_at_end", is_flag=True, help="Exit when every partition's end is reached")
@click.option("-k", "--key", default=None, help="Only messages with this key (UTF-8)")
@click.option("--headers", is_flag=True, help="Include each message's headers")
@click.option("--timestamps", is_flag=True, help="Include each message's timestamp (ms) and its type")
@click.option("--timeout", type=float, default=None, help="Stop after this many idle seconds")
def tail(topic: str, max_messages: int | None, partitions: tuple[int, ...], start: object, from_end: bool,
         exit_at_end: bool, key: str | None, headers: bool, timestamps: bool, timeout: float | None) -> None:
    """Print messages of an Assay topic (role like patterns.enriched, or a full name) as JSON lines."""
    from streams.tail import END, TailOptions, tail_topic

    opts = TailOptions(max_messages=max_messages, start=END if from_end else start,  # type: ignore[arg-type]
                       partitions=partitions, exit_at_end=exit_at_end, key=key, headers=headers,
                       timestamps=timestamps, idle_timeout_s=timeout)
    s = settings()
    tail_topic(s, kafka_conf(s), topic, opts, click.echo)


@click.command()
def status() -> None:
    """Broker, topics and partitions, consumer-group lag, Qdrant collection size, Redis."""
    from streams.status import collect_status

    ok = True
    for line, good in collect_status(settings()):
        ok &= good
        click.echo(("  ok   " if good else "  FAIL ") + line)
    sys.exit(0 if ok else 1)
