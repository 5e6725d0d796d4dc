"""``assay dlq list | show | replay``: what was rejected, why, and sending it through again."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import click
import orjson

from streams.cli.common import settings

__all__ = ["dlq"]


class _Moment(click.ParamType):
    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from processors.replay import parse_moment

        try:
            return parse_moment(str(value), time.time())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _filters(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every dlq command that selects letters shares."""
    for opt in reversed([
        click.option("--error-class", "error_classes", multiple=True, help="Only this error class (repeatable)"),
        click.option("--stage", "stages", multiple=True, help="Only this stage (repeatable): decode, validate, …"),
        click.option("--since", type=_Moment(), default=None, help="Rejected at or after: 2h, 7d, or ISO time (UTC)"),
        click.option("--until", type=_Moment(), default=None, help="Rejected before: 30m, or ISO time (UTC)"),
        click.option("--limit", type=click.IntRange(1), default=None, help="At most N letters (oldest first)"),
    ]):
        f = opt(f)
    return f


def _select(error_classes: tuple[str, ...], stages: tuple[str, ...], since: float | None, until: float | None,
            limit: int | None, include_replayed: bool) -> tuple[dict[str, Any], Any, list[Any]]:
    from infra.kafka.connect import resolve_bootstrap
    from processors.replay import DeadLetterFilter
    from streams.dlq import read_dead_letters, select

    kafka = resolve_bootstrap(settings()).kafka
    conf = kafka.librdkafka_config()
    flt = DeadLetterFilter(error_classes, stages, since, until, include_replayed)

    def unreadable(partition: int, offset: int, why: str) -> None:
        click.echo(f"skipped {partition}:{offset}: not a dead letter ({why})", err=True)

    def excluded_replay(stored: Any) -> None:
        click.echo(f"skipped {stored.replay_id}: a replay of {stored.letter.replay_of} that was rejected again "
                   "(--include-replayed replays it)", err=True)

    letters = read_dead_letters(conf, kafka, on_unreadable=unreadable)
    return conf, kafka, select(letters, flt, limit, on_excluded_replay=excluded_replay)


@click.group()
def dlq() -> None:
    """The dead-letter topic: list, show and replay rejected inputs."""


@dlq.command("list")
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter (the dead letter plus its position)")
def dlq_list(error_classes: tuple[str, ...], stages: tuple[str, ...], since: float | None, until: float | None,
             limit: int | None, as_json: bool) -> None:
    """Dead letters, oldest first: position, time, stage, error class, original size and reason."""
    _conf, _kafka, letters = _select(error_classes, stages, since, until, limit, True)
    for s in letters:
        dl = s.letter
        if as_json:
            click.echo(orjson.dumps({"dlq_partition": s.partition, "dlq_offset": s.offset, **dl.model_dump(mode="json")}))
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(dl.rejected_at))
        size = "tombstone" if dl.value_size is None else f"{dl.value_size} B"
        marks = "".join(f" [{m}]" for m in (("truncated",) if dl.truncated else ()) +
                        ((f"replay of {dl.replay_of}",) if dl.replay_of else ()))
        click.echo(f"{s.replay_id:>8s}  {when}Z  {dl.stage}/{dl.error_class}  {size}{marks}  {dl.reason[:120]}")
    if not as_json:
        click.echo(f"{len(letters)} dead letters", err=True)


@dlq.command("show")
@click.argument("offset", type=click.IntRange(0))
@click.option("--partition", type=click.IntRange(0), default=0, show_default=True, help="DLQ partition")
@click.option("--json", "as_json", is_flag=True, help="The dead letter as stored")
def dlq_show(offset: int, partition: int, as_json: bool) -> None:
    """One dead letter: the reason, and the original key, value and headers decoded."""
    from infra.kafka.connect import resolve_bootstrap
    from processors.replay import kept_original
    from streams.dlq import find_dead_letter
    from streams.tail import header_text

    kafka = resolve_bootstrap(settings()).kafka
    stored = find_dead_letter(kafka.librdkafka_config(), kafka, partition, offset)
    dl = stored.letter
    if as_json:
        click.echo(orjson.dumps(dl.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
        return
    original = kept_original(dl)
    click.echo(f"dead letter {stored.replay_id}: {dl.stage}/{dl.error_class}")
    click.echo(f"reason:   {dl.reason}")
    click.echo(f"original: {dl.topic}[{dl.partition}]@{dl.offset}, rejected by {dl.worker} at "
               f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(dl.rejected_at))}Z")
    if dl.replay_of:
        click.echo(f"replay:   this record was a replay of dead letter {dl.replay_of}, rejected again")
    if dl.truncated:
        click.echo(f"TRUNCATED: {', '.join(dl.truncated)} cut to fit the DLQ (below: prefixes); the whole "
                   f"original is {dl.value_size} bytes, sha256 {dl.value_sha256 or 'unknown'}; "
                   "`assay dlq replay` reads it back from its topic")
    click.echo(f"key ({dl.key_size if dl.key_size is not None else 'null'} B): {_text(original.key)}")
    click.echo(f"headers ({dl.headers_count}): "
               + (", ".join(f"{n}={header_text(v)}" for n, v in original.headers) or "none"))
    click.echo(f"value ({'tombstone' if dl.value_size is None else f'{dl.value_size} B'}):")
    click.echo(_text(original.value))


def _text(data: bytes | None) -> str:
    if data is None:
        return "null"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(data)} bytes, not UTF-8: {data[:64]!r}…>"


@dlq.command("replay")
@_filters
@click.option("--include-replayed", is_flag=True,
              help="Also replay letters of records that were themselves replays (skipped by default: no loops)")
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; produce nothing")
def dlq_replay(error_classes: tuple[str, ...], stages: tuple[str, ...], since: float | None, until: float | None,
               limit: int | None, include_replayed: bool, dry_run: bool) -> None:
    """Re-produce the selected letters' original key, value and headers to sources.raw."""
    from streams.dlq import replay

    conf, kafka, letters = _select(error_classes, stages, since, until, limit, include_replayed)
    report = replay(conf, kafka, letters, dry_run=dry_run, say=click.echo)
    for rid, why in report.skipped:
        click.echo(f"skipped {rid}: {why}", err=True)
    for rid, why in report.failed:
        click.echo(f"failed {rid}: {why}", err=True)
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"{verb} {len(report.replayed)} of {len(letters)} dead letters "
               f"({len(report.skipped)} skipped, {len(report.failed)} failed)")
    if report.failed:
        sys.exit(1)
