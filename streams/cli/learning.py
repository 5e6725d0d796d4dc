"""``assay feedback``, ``assay learner`` and ``assay experiment``: the online-learning loop."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import orjson

from streams.cli.common import kafka_conf, settings

__all__ = ["experiment_group", "feedback", "learner"]


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text-col", default="text", show_default=True, help="Column with the document text")
@click.option("--label-col", default="rating", show_default=True, help="Values LQ_CLOSE | LQ_EDIT | HQ")
@click.option("--source-id-col", default=None, help="Column naming a source produced earlier (then no text needed)")
@click.option("--doc-type", default="general", show_default=True, help="Document type of the labelled texts")
@click.option("--limit", type=int, default=None, help="Only the first N rows")
@click.option("--offset", "skip", type=int, default=0, help="Skip the first N rows")
@click.option("--quiet", is_flag=True, help="No progress bar")
def feedback(path: Path, text_col: str, label_col: str, source_id_col: str | None, doc_type: str, limit: int | None,
             skip: int, quiet: bool) -> None:
    """Produce labelled rows from a parquet/csv/jsonl file to quality.feedback."""
    import pandas as pd
    from tqdm import tqdm

    from infra.kafka.topics import QUALITY_FEEDBACK, topic_specs
    from schemas.feedback import Feedback
    from streams.produce import ProduceReport, produce

    s = settings()
    suffix = path.suffix.lower()
    df = (pd.read_parquet(path) if suffix in (".parquet", ".pq") else
          pd.read_json(path, lines=True) if suffix in (".jsonl", ".ndjson") else pd.read_csv(path))
    df = df.iloc[skip: None if limit is None else skip + limit]
    missing = [c for c in (label_col, source_id_col or text_col) if c not in df.columns]
    if missing:
        raise click.UsageError(f"{path.name} has no column(s) {missing}; columns: {list(df.columns)}")

    def records():
        for _, row in df.iterrows():
            sid = str(row[source_id_col]) if source_id_col else None
            fb = Feedback(source_id=sid, content=None if sid else str(row[text_col]), doc_type=doc_type,
                          label=str(row[label_col]))
            yield sid, orjson.dumps(fb.model_dump(mode="json", exclude_none=True))

    topic = topic_specs(s.kafka)[QUALITY_FEEDBACK].name
    report = ProduceReport()
    with tqdm(total=len(df), unit="label", disable=quiet, desc=f"→ {topic}") as bar:
        produce(kafka_conf(s), topic, records(), report, on_sent=bar.update)
    click.echo(f"produced {report.delivered} of {report.sent} labels to {topic} ({report.failed} failed)")
    sys.exit(1 if report.failed else 0)


@click.command()
@click.option("--loglevel", default="info")
def learner(loglevel: str) -> None:
    """Learn the quality model online from quality.feedback; cut, A/B-test and roll out versions.

    Exit codes as for the worker: 0 stopped, 2 configuration error, 3 stalled, 4 forced stop.
    """
    from streams.learner.app import run_learner
    from streams.web_auth import check_web_exposure

    s = settings()
    check_web_exposure(s)
    sys.exit(run_learner(s, loglevel=loglevel))


@click.group("experiment")
def experiment_group() -> None:
    """The running model experiment: status, or start one with a registered version."""


def _latest(timeout_s: float = 5.0) -> dict | None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    from infra.kafka.topics import EXPERIMENTS, topic_specs

    s = settings()
    topic = topic_specs(s.kafka)[EXPERIMENTS].name
    consumer = Consumer({**kafka_conf(s), "group.id": "assay-experiment-status", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    latest = None
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.3)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    break
                continue
            if msg.value() is not None:
                latest = orjson.loads(msg.value())
    finally:
        consumer.close()
    return latest


@experiment_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_cmd(as_json: bool) -> None:
    """The latest experiment: phase, ramp step, confidence bounds and the decision so far."""
    latest = _latest()
    if as_json:
        click.echo(orjson.dumps(latest).decode() if latest else "null")
        return
    if latest is None:
        click.echo("no experiment has run")
        return
    t = latest["test"]
    bound = (f"[{t['low']:+.4f}, {t['high']:+.4f}]" if t.get("low") is not None and t.get("high") is not None
             else "(not enough labels yet)")
    click.echo(f"experiment {latest['experiment_id']}  ({latest['origin']})")
    click.echo(f"  control {latest['control_version']}  vs  candidate {latest['candidate_version']}")
    click.echo(f"  phase   {latest['phase']}  candidate serves {latest['share'] * 100:.0f} % "
               f"(ramp {' → '.join(f'{r * 100:g} %' for r in latest['ramp'])})")
    click.echo(f"  test    {t['n']} labelled pairs, mean log-loss gain {t['mean']:+.4f}, bounds {bound}, "
               f"decision: {t['decision']}")
    if latest.get("reason"):
        click.echo(f"  reason  {latest['reason']}")


@experiment_group.command("start")
@click.option("--candidate", required=True, help="A registered quality-model version")
@click.option("--reason", default="requested by an operator", show_default=True)
def start_cmd(candidate: str, reason: str) -> None:
    """Ask the learner to A/B-test CANDIDATE against the current version (shadow, then the ramp)."""
    from processors.quality.registry import Registry
    from schemas.experiments import ExperimentRecord

    s = settings()
    reg = Registry(s.quality_registry_dir)
    reg.path(candidate)  # refuses an unknown version with the known ones
    now = time.time()
    record = ExperimentRecord(experiment_id=f"request-{int(now)}", control_version=reg.current() or "",
                              candidate_version=candidate, phase="requested", reason=reason, origin="operator",
                              started_at=now, updated_at=now)
    _publish(record)
    click.echo(f"requested: {candidate} against {record.control_version}; the learner starts it in shadow")


def _publish(record: object) -> None:
    from confluent_kafka import Producer

    from infra.errors import BrokerError
    from infra.kafka.topics import EXPERIMENTS, topic_specs

    s = settings()
    producer = Producer({**kafka_conf(s), "acks": "all"})
    errors: list[object] = []
    producer.produce(topic_specs(s.kafka)[EXPERIMENTS].name, key=b"quality",
                     value=orjson.dumps(record.model_dump(mode="json")),  # type: ignore[attr-defined]
                     on_delivery=lambda err, _m: errors.append(err) if err else None)
    if producer.flush(30) or errors:
        raise BrokerError(f"could not publish the experiment request: {errors or 'timeout'}")
