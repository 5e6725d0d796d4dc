"""End-to-end pipeline speed against the inference ceiling and sentence-transformers, in one run.

What a new user would measure, scripted:

1. an embedded broker and real ``assay worker`` processes (``--compute N``: N compute workers and
   one indexer; default: one worker doing both);
2. a corpus produced by an independent Kafka client (kafka-python): the top-level modules of the
   running Python's standard library (``--corpus stdlib``, 168+ files) or all of it
   (``--corpus stdlib-all``);
3. end to end: patterns/s and documents/s from the first record produced to the last result,
   produce→indexed latency per document (p50/p99, from the input's Kafka timestamp), time per
   stage, peak worker RSS;
4. the same pattern texts (read back from ``patterns.enriched``) sent to ``assay inference serve``
   by 8 concurrent clients: the inference-only ceiling;
5. sentence-transformers fp32, batch 32, on a sample of the same texts: the baseline.

    .venv/bin/python bench/pipeline.py [--corpus stdlib|stdlib-all] [--compute N] [--out bench/out/pipeline]

Writes ``pipeline.json`` and ``pipeline.png`` and prints a table. A benchmark, not a test: the
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infra.kafka.admin import create_topics  # noqa: E402
from infra.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from infra.kafka.topics import PATTERNS_ENRICHED, PIPELINE_METRICS, SOURCES_RAW, topic_specs  # noqa: E402
from infra.settings import KafkaSettings  # noqa: E402

SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "tkinter", "turtledemo", "ensurepip"}


def corpus(kind: str, max_bytes: int = 400_000) -> list[tuple[str, bytes]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(root.glob("*.py")) if kind == "stdlib" else sorted(
        p for p in root.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(root).parts[:-1]))
    docs = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if 200 <= len(text.encode()) <= max_bytes:
            rel = str(path.relative_to(root))
            docs.append((f"stdlib/{rel}", orjson.dumps({"id": f"stdlib/{rel}", "type": "code", "language": "python",
                                                        "uri": f"file://{path}", "content": text})))
    return docs


class RssSampler(threading.Thread):
    """Samples the resident set size of some processes every half second."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.samples: list[tuple[float, dict[int, float]]] = []
        self.stop_event = threading.Event()

    @staticmethod
    def rss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            self.samples.append((time.time(), {pid: self.rss_mb(pid) for pid in self.pids}))

    def peak(self, pid: int) -> float:
        return max((s[pid] for _, s in self.samples if pid in s), default=0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_worker(env: dict[str, str], role: str, data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--role", role],
                            env={**env, "ASSAY_DATA_DIR": str(data_dir), "ASSAY_WEB_PORT": str(port)}, cwd=REPO,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).json().get("ready"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit("worker not ready in time")


def consume(conf: dict[str, Any], topic: str, partitions: int, until, timeout_s: float) -> list[dict[str, Any]]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({**conf, "group.id": f"bench-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not until(out):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out on {topic} with {len(out)} messages")
            for msg in c.consume(500, 0.5):
                if msg.error() is None and msg.value() is not None:
                    out.append(orjson.loads(msg.value()))
    finally:
        c.close()
    return out


async def serve_load(url: str, texts: list[str], clients: int, request_size: int) -> float:
    """texts/s when ``clients`` concurrent callers send all ``texts`` in requests of ``request_size``."""
    requests = [texts[i: i + request_size] for i in range(0, len(texts), request_size)]
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:
            while not queue.empty():
                batch = queue.get_nowait()
                r = await http.post("/v1/embeddings", json={"input": batch})
                r.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(texts) / (time.perf_counter() - started)


def inference_ceiling(texts: list[str], env: dict[str, str], clients: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "inference", "serve", "--port", str(port)],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        asyncio.run(serve_load(url, texts[:200], clients, 16))  # warm-up
        return asyncio.run(serve_load(url, texts, clients, 16))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def sentence_transformers_rate(texts: list[str]) -> tuple[float, float]:
    """Texts/s and CPU ms per text of sentence-transformers fp32 (all threads of this process)."""
    from sentence_transformers import SentenceTransformer

    from inference.factory import default_model_path

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=32)
    started, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    return len(texts) / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / len(texts)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = corpus(args.corpus)[: args.limit or None]
    broker = EmbeddedBroker(state_dir=out_dir / "state", log_path=out_dir / "broker.log").start()
    workers: list[tuple[subprocess.Popen, str]] = []
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic_prefix=prefix,
                              partitions=args.partitions)
        conf = kafka.librdkafka_config()
        specs = topic_specs(kafka)
        create_topics(conf, specs.values())
        env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
               "ASSAY_KAFKA_TOPIC_PREFIX": prefix, "ASSAY_KAFKA_PARTITIONS": str(args.partitions),
               "ASSAY_MODEL_CACHE_DIR": str((REPO / ".assay" / "models").resolve()), "HF_HUB_OFFLINE": "1",
               "ASSAY_KAFKA_SESSION_TIMEOUT_S": "6"}
        roles = ["all"] if args.compute == 0 else ["index"] + ["compute"] * args.compute
        for i, role in enumerate(roles):
            shutil.rmtree(out_dir / f"w{i}", ignore_errors=True)  # a fresh store: every source is written
            workers.append(start_worker(env, role, out_dir / f"w{i}", out_dir / f"worker{i}.log"))
        for proc, url in workers:
            wait_ready(url, proc)
        sampler = RssSampler([p.pid for p, _ in workers])
        sampler.start()

        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=5,
                                 max_request_size=2_000_000)
        started = time.time()
        cpu_at_start = {p.pid: cpu_seconds(p.pid) for p, _ in workers}
        for sid, value in docs:
            producer.send(specs[SOURCES_RAW].name, key=sid.encode(), value=value)
        producer.flush(120)
        produced = time.time()
        wanted = {sid for sid, _ in docs}

        def done(msgs: list[dict[str, Any]]) -> bool:
            return {m.get("source_id") for m in msgs if m.get("type") == "document"} >= wanted

        metrics = consume(conf, specs[PIPELINE_METRICS].name, 1, done, args.timeout)
        finished = time.time()
        worker_cpu_s = sum(cpu_seconds(pid) - c for pid, c in cpu_at_start.items())
        sampler.stop_event.set()
        documents = [m for m in metrics if m.get("type") == "document"]
        last = {m["source_id"]: m for m in documents}
        patterns = sum(m["patterns"] for m in last.values() if m["outcome"] in ("indexed", "unchanged"))
        end = max(m["emitted_at"] for m in documents)
        latency = [m["emitted_at"] - m["input_timestamp"] for m in documents if m.get("input_timestamp")]
        stage_s: dict[str, float] = {}
        for m in metrics:
            if m.get("type") == "batch":
                for k, v in m["stage_ms"].items():
                    stage_s[f"compute.{k}"] = stage_s.get(f"compute.{k}", 0.0) + v / 1000
        for m in documents:
            for k in ("lookup", "store"):
                if k in m["stage_ms"]:
                    stage_s[f"index.{k}"] = stage_s.get(f"index.{k}", 0.0) + m["stage_ms"][k] / 1000
        enriched = consume(conf, specs[PATTERNS_ENRICHED].name, args.partitions,
                           lambda ms: len([e for e in ms if e.get("event") == "upsert"]) >= patterns, 300)
        texts = [e["text"] for e in enriched if e.get("event") == "upsert" and e.get("text")]
    finally:
        for proc, _ in workers:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()

    e2e = patterns / (end - started)
    result: dict[str, Any] = {
        "corpus": args.corpus, "documents": len(docs), "patterns": patterns, "roles": roles,
        "produce_s": round(produced - started, 2), "wall_s": round(finished - started, 2),
        "e2e_patterns_per_s": round(e2e, 1), "e2e_documents_per_s": round(len(docs) / (end - started), 2),
        "latency_p50_s": round(pct(latency, 50), 2), "latency_p99_s": round(pct(latency, 99), 2),
        "stage_s": {k: round(v, 2) for k, v in sorted(stage_s.items())},
        # CPU per pattern moves far less with the neighbours' load than patterns/s does
        "worker_cpu_s": round(worker_cpu_s, 1), "worker_cpu_ms_per_pattern": round(1000 * worker_cpu_s / max(patterns, 1), 2),
        "worker_rss_peak_mb": {f"{role}{i}": round(sampler.peak(p.pid), 1) for i, ((p, _), role) in
                               enumerate(zip(workers, roles))},
        "outcomes": {o: sum(1 for m in last.values() if m["outcome"] == o) for o in
                     sorted({m["outcome"] for m in last.values()})},
    }
    rng = np.random.default_rng(0)
    if not args.skip_ceiling:
        result["inference_server_texts_per_s"] = round(inference_ceiling(texts, env, args.clients), 1)
    if not args.skip_st:
        sample = [texts[i] for i in rng.choice(len(texts), size=min(args.st_sample, len(texts)), replace=False)]
        rate, cpu_ms = sentence_transformers_rate(sample)
        result["sentence_transformers_texts_per_s"] = round(rate, 1)
        result["sentence_transformers_cpu_ms_per_text"] = round(cpu_ms, 2)
        # at equal CPU: how many patterns the whole pipeline indexes per text ST embeds
        result["cpu_ratio_vs_sentence_transformers"] = round(cpu_ms / result["worker_cpu_ms_per_pattern"], 2)
        result["e2e_vs_sentence_transformers"] = round(e2e / result["sentence_transformers_texts_per_s"], 2)
    if "inference_server_texts_per_s" in result:
        result["e2e_share_of_ceiling"] = round(e2e / result["inference_server_texts_per_s"], 3)
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                         "date": time.strftime("%Y-%m-%d %H:%M")}
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [("pipeline end to end", result["e2e_patterns_per_s"])]
    if "inference_server_texts_per_s" in result:
        bars.append(("inference server alone", result["inference_server_texts_per_s"]))
    if "sentence_transformers_texts_per_s" in result:
        bars.append(("sentence-transformers fp32", result["sentence_transformers_texts_per_s"]))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=["#2a6", "#68c", "#999"][: len(bars)])
    for i, (_, v) in enumerate(bars):
        ax.text(v, i, f" {v:.0f}", va="center")
    if "sentence_transformers_texts_per_s" in result:
        ax.axvline(4 * result["sentence_transformers_texts_per_s"], color="r", ls="--", label="4× sentence-transformers")
        ax.legend(loc="lower right")
    ax.set_xlabel("pattern texts per second")
    ax.set_title(f"{result['corpus']}: {result['documents']} documents, {result['patterns']} patterns, "
                 f"roles {'+'.join(result['roles'])}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["stdlib", "stdlib-all"], default="stdlib")
    parser.add_argument("--compute", type=int, default=0, help="compute workers (+1 indexer); 0 = one worker")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents (a smoke run)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients against the inference server")
    parser.add_argument("--st-sample", type=int, default=1500, help="texts embedded by sentence-transformers")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-st", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "pipeline"))
    args = parser.parse_args(argv)
    result = run(args)
    out = Path(args.out)
    name = f"pipeline-{args.corpus}-c{args.compute}"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    plot(result, out / f"{name}.png")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
