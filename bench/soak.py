"""Soak: one worker at half its measured capacity for a long time; does memory, lag or latency drift?

1. Starts the embedded broker and one ``assay worker`` subprocess (as ``make demo`` does), on a
   fresh data dir under ``--out``.
2. **Capacity** (``--capacity-s``, default 120 s): keeps a backlog in front of the worker and counts
   the documents it finishes per second.
3. **Soak** (``--duration-s``, default 30 min): produces at ``--load`` (default 50 %) of that rate.
   The documents are real (stdlib functions and package docs, ``tests/integration/corpus.py``); a
   fixed set of ``--sources`` source ids is cycled, each produce a new revision of its source, so the
   store stays the same size and every produce is re-embedded, written and its old points replaced.
4. Every ``--sample-s`` it samples the worker's RSS (``/proc``), the pipeline's consumer lag
   (end offsets minus committed, ``sources.raw`` + ``points.pending``), and the produce→enriched
   latency of the documents finished in the window: from the input's Kafka timestamp to the Kafka
   timestamp of its last enriched event.

Writes ``soak.json`` (settings, capacity, samples, summary) and ``soak.png`` (lag, RSS and p99
latency over time) into ``--out`` (default ``bench/out/soak``). The summary compares RSS at the end
of the warm-up (``--warmup-s``, default 10 % of the duration, at least 60 s) with RSS at the end:
the target is less than 5 % growth, with bounded lag.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/soak.py                       # the full soak (~33 min)
    HF_HUB_OFFLINE=1 .venv/bin/python bench/soak.py --duration-s 180 --capacity-s 60   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from infra.kafka.admin import create_topics, group_lag  # noqa: E402
from infra.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from infra.kafka.topics import (PATTERNS_ENRICHED, PIPELINE_METRICS, POINTS_PENDING, SOURCES_RAW,  # noqa: E402
                                topic_specs)
from infra.settings import KafkaSettings  # noqa: E402
from processors.validate import content_version  # noqa: E402
from tests.integration.corpus import RealDoc, real_documents  # noqa: E402


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory: total, anonymous (the heaps: what a leak grows) and file-backed (mapped
    files, mostly the store's segments: page cache the kernel reclaims as needed)."""
    fields = {"VmRSS:": "rss_mb", "RssAnon:": "rss_anon_mb", "RssFile:": "rss_file_mb"}
    found = {name: float("nan") for name in fields.values()}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(maxsplit=1)[0] if line else ""
        if key in fields:
            found[fields[key]] = round(int(line.split()[1]) / 1024, 1)
    return found


def rss_mb(pid: int) -> float:
    return memory_mb(pid)["rss_mb"]


def revision(doc: RealDoc, n: int) -> tuple[str, bytes, str]:
    """(key, value, version) of revision ``n`` of a document: new content, same source id."""
    note = f"\n# soak revision {n}\n" if doc.fields.get("type") == "code" else f"\n\nRevision {n} of this section.\n"
    content = doc.fields["content"] + note
    return doc.source_id, doc.value(content=content), content_version(content)


@dataclass
class Tracker:
    """What was produced (input timestamps) and what came out (metrics, last enriched timestamp)."""

    produced_ts: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, version) → input ts ms
    enriched_ts: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, version) → last event ts ms
    done_at: dict[tuple[str, str], float] = field(default_factory=dict)  # (source, version) → monotonic seen
    outcomes: Counter[str] = field(default_factory=Counter)
    finished: int = 0
    produced: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def latencies(self, since: float, until: float) -> list[float]:
        """Produce → enriched seconds of the inputs whose result was seen in [since, until)."""
        with self.lock:
            keys = [k for k, t in self.done_at.items() if since <= t < until]
            return [(self.enriched_ts[k] - self.produced_ts[k]) / 1000 for k in keys
                    if k in self.enriched_ts and k in self.produced_ts]


def follow(conf: dict[str, Any], topic: str, partitions: int, stop: threading.Event, handle: Any) -> None:
    c = Consumer({**conf, "group.id": f"soak-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    try:
        while not stop.is_set():
            for msg in c.consume(1000, 0.5):
                if not msg.error() and msg.value() is not None:
                    handle(msg)
    finally:
        c.close()


class Pipeline:
    """The embedded broker, topics with a fresh prefix, one worker subprocess, and the followers."""

    def __init__(self, out: Path, partitions: int) -> None:
        self.data_dir = out / "data"
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        self.broker = EmbeddedBroker(log_path=out / "broker.log").start()
        try:
            self._start(out, partitions)
        except BaseException:
            self.broker.stop()
            raise

    def _start(self, out: Path, partitions: int) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=self.broker.bootstrap_servers,
                                   topic_prefix=f"soak{uuid.uuid4().hex[:6]}.", partitions=partitions)
        self.conf = self.kafka.librdkafka_config()
        self.specs = topic_specs(self.kafka)
        create_topics(self.conf, self.specs.values())
        self.port = free_port()
        env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
               "ASSAY_KAFKA_TOPIC_PREFIX": self.kafka.topic_prefix, "ASSAY_KAFKA_PARTITIONS": str(partitions),
               "ASSAY_DATA_DIR": str(self.data_dir), "ASSAY_MODEL_CACHE_DIR": str(REPO / ".assay" / "models"),
               "ASSAY_WEB_PORT": str(self.port), "HF_HUB_OFFLINE": "1"}
        self.worker_log = open(out / "worker.log", "wb")
        self.worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, cwd=REPO,
                                       stdout=self.worker_log, stderr=subprocess.STDOUT, start_new_session=True)
        self.tracker = Tracker()
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=follow, args=(self.conf, self.specs[PIPELINE_METRICS].name, 1, self.stop_event,
                                                  self._on_metric), daemon=True),
            threading.Thread(target=follow, args=(self.conf, self.specs[PATTERNS_ENRICHED].name, partitions,
                                                  self.stop_event, self._on_enriched), daemon=True),
        ]
        for t in self.threads:
            t.start()
        self.producer = Producer({**self.conf, "acks": "all", "linger.ms": 5})

    def _on_metric(self, msg: Any) -> None:
        ev = orjson.loads(msg.value())
        if ev["type"] != "document":
            return
        t = self.tracker
        with t.lock:
            t.outcomes[ev["outcome"]] += 1
            t.finished += 1
            if ev.get("source_version"):
                t.done_at.setdefault((ev["source_id"], ev["source_version"]), time.monotonic())

    def _on_enriched(self, msg: Any) -> None:
        ev = orjson.loads(msg.value())
        if ev["event"] != "upsert":
            return
        key = (ev["source_id"], ev["source_version"])
        ts = msg.timestamp()[1]
        with self.tracker.lock:
            if ts > self.tracker.enriched_ts.get(key, 0):
                self.tracker.enriched_ts[key] = ts

    def produce(self, key: str, value: bytes, version: str) -> None:
        t = self.tracker

        def delivered(err: Any, msg: Any) -> None:
            with t.lock:
                if err is not None:
                    t.errors.append(str(err))
                else:
                    t.produced_ts[(key, version)] = msg.timestamp()[1]
                    t.produced += 1

        self.producer.produce(self.specs[SOURCES_RAW].name, key=key.encode(), value=value, on_delivery=delivered)
        self.producer.poll(0)

    def lag(self) -> dict[str, int]:
        group = f"{self.kafka.topic_prefix}{self.kafka.consumer_group}"
        return {role: sum(group_lag(self.conf, group, self.specs[role].name, self.specs[role].partitions).values())
                for role in (SOURCES_RAW, POINTS_PENDING)}

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise SystemExit(f"worker exited with code {self.worker.returncode}; see its log")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).json().get("ready"):
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.5)
        raise SystemExit("worker not ready in time")

    def close(self) -> int | None:
        self.producer.flush(30)
        del self.producer  # before the broker goes: librdkafka would log its reconnects
        code = None
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                code = self.worker.wait(60)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        self.stop_event.set()
        for t in self.threads:
            t.join(10)
        self.broker.stop()
        return code


class Revisions:
    """Cycles through the sources, each time a new revision."""

    def __init__(self, docs: list[RealDoc]) -> None:
        self.docs = docs
        self.n = 0

    def next(self) -> tuple[str, bytes, str]:
        doc = self.docs[self.n % len(self.docs)]
        rev = revision(doc, self.n // len(self.docs))
        self.n += 1
        return rev


def measure_capacity(p: Pipeline, revs: Revisions, seconds: float, backlog: int = 150) -> float:
    """Documents finished per second while a backlog of at least ``backlog`` waits (after a short ramp)."""
    print(f"[soak] measuring capacity for {seconds:.0f}s", flush=True)
    started = time.monotonic()
    ramp = min(20.0, seconds / 4)
    mark: tuple[float, int] | None = None
    while time.monotonic() - started < seconds:
        with p.tracker.lock:
            waiting = p.tracker.produced + len(p.producer) - p.tracker.finished
            finished = p.tracker.finished
        if mark is None and time.monotonic() - started >= ramp:
            mark = (time.monotonic(), finished)
        for _ in range(max(0, backlog - waiting)):
            p.produce(*revs.next())
        p.producer.poll(0.1)
        time.sleep(0.2)
    assert mark is not None
    with p.tracker.lock:
        finished = p.tracker.finished
    rate = (finished - mark[1]) / (time.monotonic() - mark[0])
    print(f"[soak] capacity {rate:.2f} documents/s; draining the backlog", flush=True)
    p.producer.flush(60)  # serves the delivery reports: every produced document is counted
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with p.tracker.lock:
            if p.tracker.finished >= p.tracker.produced:
                break
        time.sleep(1)
    else:
        raise SystemExit("the backlog did not drain within 10 minutes; see the worker log")
    return rate


def soak(p: Pipeline, revs: Revisions, rate: float, seconds: float, sample_s: float) -> list[dict[str, Any]]:
    print(f"[soak] producing {rate:.2f} documents/s for {seconds:.0f}s", flush=True)
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    with p.tracker.lock:
        finished_before = p.tracker.finished
    next_sample = started
    sent = 0
    last_window = started
    while True:
        now = time.monotonic()
        elapsed = now - started
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) - sent
        for _ in range(due):
            p.produce(*revs.next())
            sent += 1
        p.producer.poll(0)
        if now >= next_sample:
            lags = p.lag()
            lat = p.tracker.latencies(last_window, now)
            last_window = now
            with p.tracker.lock:
                finished = p.tracker.finished - finished_before
            sample = {"t_s": round(elapsed, 1), **memory_mb(p.worker.pid), "lag": lags,
                      "lag_total": sum(lags.values()), "produced": sent, "finished": finished,
                      "latency_p50_s": round(float(np.percentile(lat, 50)), 3) if lat else None,
                      "latency_p99_s": round(float(np.percentile(lat, 99)), 3) if lat else None,
                      "latency_n": len(lat)}
            samples.append(sample)
            print(f"[soak] t={elapsed:6.0f}s rss={sample['rss_mb']:.0f}MB (anon {sample['rss_anon_mb']:.0f}) lag={lags} "
                  f"p99={sample['latency_p99_s']}s finished={finished}/{sent}", flush=True)
            next_sample += sample_s
            if p.worker.poll() is not None:
                raise SystemExit(f"worker exited with code {p.worker.returncode} during the soak")
        time.sleep(0.05)
    return samples


def summarize(samples: list[dict[str, Any]], p: Pipeline, warmup_s: float, soak_started: float,
              soak_ended: float) -> dict[str, Any]:
    after = [s for s in samples if s["t_s"] >= warmup_s] or samples
    # Means over a minute at each end: the file-backed part saws up and down as segments are
    # written and merged, and one sample at each end would measure where the saw happened to be.
    def level(window: list[dict[str, Any]], what: str) -> float:
        return round(float(np.mean([s[what] for s in window])), 1)

    span = max(1, int(60 // max(1.0, samples[1]["t_s"] - samples[0]["t_s"]))) if len(samples) > 1 else 1
    first, last = after[:span], samples[-span:]
    rss_start, rss_end = level(first, "rss_mb"), level(last, "rss_mb")
    anon_start, anon_end = level(first, "rss_anon_mb"), level(last, "rss_anon_mb")
    lat = p.tracker.latencies(soak_started, soak_ended + 1)
    lags = [s["lag_total"] for s in samples]
    half = len(lags) // 2
    return {
        "rss_mb_after_warmup": rss_start, "rss_mb_end": rss_end,
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 2),
        "rss_mb_max": max(s["rss_mb"] for s in samples),
        "rss_anon_mb_after_warmup": anon_start, "rss_anon_mb_end": anon_end,
        "rss_anon_growth_pct": round(100 * (anon_end - anon_start) / anon_start, 2),
        "rss_file_mb_range": [min(s["rss_file_mb"] for s in after), max(s["rss_file_mb"] for s in after)],
        "lag_max": max(lags), "lag_end": lags[-1],
        "lag_mean_first_half": round(float(np.mean(lags[:half])), 1) if half else None,
        "lag_mean_second_half": round(float(np.mean(lags[half:])), 1),
        "latency_p50_s": round(float(np.percentile(lat, 50)), 3) if lat else None,
        "latency_p99_s": round(float(np.percentile(lat, 99)), 3) if lat else None,
        "latency_max_s": round(max(lat), 3) if lat else None,
        "latency_inputs": len(lat),
        "outcomes": dict(p.tracker.outcomes), "produce_errors": len(p.tracker.errors),
        "targets": {"rss_growth_below_5pct": (rss_end - rss_start) / rss_start < 0.05,
                    "anon_growth_below_5pct": (anon_end - anon_start) / anon_start < 0.05,
                    "lag_bounded": lags[-1] <= max(10, 2 * (float(np.mean(lags[:half])) if half else lags[-1]))},
    }


def chart(samples: list[dict[str, Any]], warmup_s: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t_s"] / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(t, [s["lag"][SOURCES_RAW] for s in samples], label="sources.raw")
    axes[0].plot(t, [s["lag"][POINTS_PENDING] for s in samples], label="points.pending")
    axes[0].set_ylabel("consumer lag (messages)")
    axes[0].legend()
    axes[1].plot(t, [s["rss_mb"] for s in samples], color="tab:red", label="RSS")
    axes[1].plot(t, [s["rss_anon_mb"] for s in samples], color="tab:purple", label="anonymous (heaps)")
    axes[1].set_ylabel("worker memory (MB)")
    axes[1].legend()
    nan = float("nan")
    axes[2].plot(t, [s["latency_p99_s"] if s["latency_p99_s"] is not None else nan for s in samples],
                 color="tab:green", label="p99")
    axes[2].plot(t, [s["latency_p50_s"] if s["latency_p50_s"] is not None else nan for s in samples],
                 color="tab:olive", label="p50")
    axes[2].set_ylabel("produce → enriched (s)")
    axes[2].set_xlabel("minutes into the soak")
    axes[2].legend()
    for ax in axes:
        ax.axvline(warmup_s / 60, color="grey", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
    fig.suptitle("Assay soak: one worker at a fixed share of its capacity (dotted: end of warm-up)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration-s", type=float, default=1800.0)
    ap.add_argument("--capacity-s", type=float, default=120.0)
    ap.add_argument("--load", type=float, default=0.5, help="share of the measured capacity to produce")
    ap.add_argument("--sources", type=int, default=500, help="source ids cycled (the store's steady size)")
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--warmup-s", type=float, default=None)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "soak")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the worker and the broker on the way out
    warmup_s = args.warmup_s if args.warmup_s is not None else max(60.0, args.duration_s / 10)
    args.out.mkdir(parents=True, exist_ok=True)
    revs = Revisions(real_documents(args.sources))
    p = Pipeline(args.out, args.partitions)
    code = None
    try:
        p.wait_ready()
        print(f"[soak] worker pid {p.worker.pid} ready, RSS {rss_mb(p.worker.pid):.0f} MB", flush=True)
        capacity = measure_capacity(p, revs, args.capacity_s)
        started = time.monotonic()
        samples = soak(p, revs, args.load * capacity, args.duration_s, args.sample_s)
        summary = summarize(samples, p, warmup_s, started, time.monotonic())
    finally:
        code = p.close()
    result = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
              | {"warmup_s": warmup_s},
              "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version(),
                          "date": time.strftime("%Y-%m-%d %H:%M:%S")},
              "capacity_docs_per_s": round(capacity, 3), "target_docs_per_s": round(args.load * capacity, 3),
              "worker_exit_code": code, "summary": summary, "samples": samples}
    (args.out / "soak.json").write_text(json.dumps(result, indent=2))
    chart(samples, warmup_s, args.out / "soak.png")
    print(json.dumps({"capacity_docs_per_s": result["capacity_docs_per_s"], **summary}, indent=2))
    print(f"[soak] wrote {args.out / 'soak.json'} and {args.out / 'soak.png'}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
