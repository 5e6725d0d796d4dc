"""``make demo``: the main job end to end on the embedded default, then a summary and a search.

Starts the embedded broker and one worker (a subprocess, as in production), produces a real
corpus (this repository plus modules of the running Python's standard library, plus a few
deliberately bad inputs), waits for one metric event per produced message, prints what
happened, runs sample searches through the worker's HTTP API, and stops everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from infra.kafka.broker import EmbeddedBroker, free_port
from infra.kafka.provision import provision_topics
from infra.kafka.topics import PIPELINE_METRICS, SOURCES_RAW, topic_specs
from infra.settings import Settings
from streams.produce import ProduceReport, documents_from_paths, produce

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_QUERIES = [
    ("retry with exponential backoff", None),
    ("parse command line arguments into options", "code"),
    ("create every topic before starting the worker", "documentation"),
    ("design patterns used across the files of this code set", None),
]
SET_SETTLE_S = 5.0  # after the last document: wait this long without a set event
BAD_INPUTS: list[tuple[str | None, bytes]] = [
    ("demo-bad-json", b'{"id": "demo-bad-json", "content": '),
    ("demo-empty", b'{"id": "demo-empty", "type": "general", "content": "   "}'),
    ("demo-wrong-type", b'{"id": "demo-wrong-type", "content": 42}'),
    ("demo-not-utf8", b"\xff\xfe\x00binary\x00"),
    ("demo-junk", b'{"id": "demo-junk", "type": "general", "content": "asdf asdf asdf"}'),  # under the quality gate
]


def stdlib_sample(n: int) -> list[Path]:
    """``n`` top-level stdlib modules, spread evenly over the alphabet, same choice every run."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if not p.name.startswith("_") and p.stat().st_size > 2000)
    if n >= len(files):
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


def repo_paths() -> list[Path]:
    return [REPO_ROOT / d for d in ("streams", "processors", "schemas", "inference", "infra")] + [
        p for p in (REPO_ROOT / "README.md", REPO_ROOT / "docker-compose.streaming.yml") if p.exists()]


def run_demo(settings: Settings, *, stdlib_modules: int = 150, timeout_s: float = 900.0) -> int:
    data_dir = settings.data_dir / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    models_dir = settings.models_dir.resolve()
    external = settings.kafka.bootstrap_servers
    broker = None if external else EmbeddedBroker(state_dir=data_dir, log_path=data_dir / "broker.log").start()
    bootstrap = external or broker.bootstrap_servers  # type: ignore[union-attr]
    prefix = f"demo-{uuid.uuid4().hex[:6]}." if external else ""
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap, "topic_prefix": prefix})
    conf = kafka.librdkafka_config()
    specs = topic_specs(kafka)
    worker = None
    try:
        print(f"[demo] broker {bootstrap} ({'configured' if external else 'embedded Tansu, in memory'})")
        provision_topics(kafka, create=True)
        port = free_port()
        env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "ASSAY_KAFKA_TOPIC_PREFIX": prefix,
               "ASSAY_DATA_DIR": str(data_dir.resolve()), "ASSAY_MODEL_CACHE_DIR": str(models_dir),
               "ASSAY_WEB_PORT": str(port), "HF_HUB_OFFLINE": "1"}
        log = open(data_dir / "worker.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
        print(f"[demo] worker pid {worker.pid}, log {data_dir / 'worker.log'}, API http://127.0.0.1:{port}")

        report = ProduceReport()
        paths = repo_paths() + stdlib_sample(stdlib_modules)
        docs = list(documents_from_paths(paths, settings.max_document_bytes, report)) + BAD_INPUTS
        started = time.monotonic()
        produce(conf, specs[SOURCES_RAW].name, docs, report)
        print(f"[demo] produced {report.delivered} documents ({len(BAD_INPUTS)} deliberately bad or junk) "
              f"from this repository and {stdlib_modules} stdlib modules")
        if report.failed:
            print(f"[demo] {report.failed} failed to produce: {report.errors[:3]}")
            return 1

        events = wait_for_metrics(conf, specs[PIPELINE_METRICS].name, report.delivered, started, timeout_s, worker)
        elapsed = time.monotonic() - started
        print_summary(events, elapsed)
        print_searches(f"http://127.0.0.1:{port}")
        docs_seen = len([e for e in events if e["type"] == "document"])
        return 0 if docs_seen >= report.delivered else 1
    finally:
        if worker is not None:
            stop_process(worker)
        if broker is not None:
            broker.stop()


def wait_for_metrics(conf: dict[str, Any], topic: str, expected: int, started: float, timeout_s: float,
                     worker: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    """Metric events until one document event per produced message was seen (by offset), then the set
    agent's re-detections until it has been quiet for a few seconds (it works after the documents)."""
    consumer = Consumer({**conf, "group.id": f"assay-demo-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])  # pipeline.metrics has one partition
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    batches: list[dict[str, Any]] = []
    last_print = 0.0
    quiet_since: float | None = None
    try:
        while len(seen) < expected or (quiet_since is not None and time.monotonic() - quiet_since < SET_SETTLE_S):
            if time.monotonic() - started > timeout_s:
                print(f"[demo] timed out after {timeout_s:.0f} s with {len(seen)}/{expected} documents done")
                break
            if worker.poll() is not None:
                print(f"[demo] worker exited with code {worker.returncode}; see its log")
                break
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error() and msg.value():
                ev = orjson.loads(msg.value())
                if ev["type"] == "document":
                    seen[(ev["partition"], ev["offset"])] = ev
                else:
                    batches.append(ev)
                if ev["type"] == "set":
                    quiet_since = time.monotonic()
            if len(seen) >= expected and quiet_since is None:
                quiet_since = time.monotonic()
            now = time.monotonic()
            if now - last_print > 10:
                last_print = now
                print(f"[demo] {len(seen)}/{expected} documents processed ({now - started:.0f} s)", flush=True)
    finally:
        consumer.close()
    return list(seen.values()) + batches


def print_summary(events: list[dict[str, Any]], elapsed: float) -> None:
    docs = [e for e in events if e["type"] == "document"]
    batches = [e for e in events if e["type"] == "batch"]
    sets = [e for e in events if e["type"] == "set"]
    outcomes = Counter(e["outcome"] for e in docs)
    patterns = sum(e["patterns"] for e in docs)
    embedded = sum(b["texts_embedded"] for b in batches)
    print("\n=== Assay demo summary ===")
    print(f"documents in:        {len(docs)}  ({', '.join(f'{k} {v}' for k, v in outcomes.most_common())})")
    rejected = Counter((e.get("reason") or "").split(":")[0] for e in docs if e["outcome"] == "rejected")
    for reason, n in rejected.most_common():
        example = next(e for e in docs if e["outcome"] == "rejected" and (e.get("reason") or "").startswith(reason))
        print(f"  rejected {n} × {reason}: e.g. {example['source_id'] or '(no id)'} — {example['reason']}")
    gated = [e for e in docs if e["outcome"] == "gated"]
    if gated:
        print(f"  under the quality gate (counted, not indexed): {len(gated)}, e.g. {gated[0]['source_id']}")
    print(f"patterns indexed:    {patterns}  ({embedded} texts embedded)")
    print(f"throughput:          {len(docs) / elapsed:.1f} documents/s, {patterns / elapsed:.1f} patterns/s "
          f"over {elapsed:.1f} s (produce → last result)")
    if sets:
        latest = {e["set_id"]: e for e in sets}  # the last re-detection of each set
        cross = sum(e["detections"] for e in latest.values())
        print(f"sets:                {len(latest)} folders re-detected {len(sets)} times; "
              f"{cross} cross-file design patterns, "
              f"{sum(1 for e in latest.values() if e['patterns'])} set overviews")
    labels = Counter(e["quality_label"] for e in docs if e.get("quality_label"))
    order = ["poor", "fair", "good", "very_good", "excellent"]
    print("quality:             " + ", ".join(f"{lab} {labels.get(lab, 0)}" for lab in order))
    types = Counter(e["doc_type"] for e in docs if e.get("doc_type"))
    print("document types:      " + ", ".join(f"{k} {v}" for k, v in types.most_common()))
    stage_totals: Counter[str] = Counter()
    for b in batches:
        stage_totals.update({k: v for k, v in b["stage_ms"].items() if k != "total"})
    if batches:
        print("time by stage:       " + ", ".join(f"{k} {v / 1000:.1f} s" for k, v in stage_totals.most_common())
              + f"  ({len(batches)} micro-batches)")
        print(f"model versions:      {batches[-1]['model_versions']}")


def print_searches(api: str) -> None:
    for query, type_ in SAMPLE_QUERIES:
        params: dict[str, Any] = {"q": query, "k": 3}
        if type_:
            params["type"] = type_
        try:
            hits = httpx.get(f"{api}/search", params=params, timeout=60).json()["hits"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            print(f"\nsearch {query!r}: worker API failed: {exc}")
            continue
        print(f"\nsearch: {query!r}" + (f" (type={type_})" if type_ else ""))
        for h in hits:
            p = h["payload"]
            uri = (p.get("uri") or "").replace(REPO_ROOT.as_uri() + "/", "")
            span = p.get("span") or {}
            print(f"  {h['score']:.3f}  {p.get('kind')} {p.get('name')}  — {uri}:{span.get('start_line')}"
                  f"  (quality {p.get('quality'):.1f})")


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


