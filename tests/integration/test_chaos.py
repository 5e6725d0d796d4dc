"""Chaos on the real broker: workers killed, the inference server and Redis stopped, mid-stream.

After each run the end state is audited (:mod:`tests.integration.pipeline_audit`): every input has
its result, the store holds exactly the live points announced on ``patterns.enriched``, each
source holds the points of its last message, nothing was dead-lettered, and the consumer group
has committed every offset.

Sizes: each test has a short variant in ``make test`` and a long one marked ``chaos``
(``pytest -m chaos``), whose number of documents is ``ASSAY_CHAOS_DOCS`` (default 1,200).
``ASSAY_CHAOS_SEED`` replays a run's choices (which documents change, when kills land).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import orjson
import pytest

from infra.kafka.broker import free_port
from tests.integration.conftest import MODELS_DIR, REPO, Topics, WorkerProcess, wait_for
from tests.integration.corpus import real_documents
from tests.integration.pipeline_audit import Ledger, ResultWatcher, audit, chaos_plan, produce, wait_for_zero_lag

pytestmark = pytest.mark.integration

SHORT_DOCS = int(os.environ.get("ASSAY_CHAOS_SHORT_DOCS", "240"))
LONG_DOCS = int(os.environ.get("ASSAY_CHAOS_DOCS", "1200"))
SIZES = [pytest.param(SHORT_DOCS, id="short", marks=pytest.mark.timeout(600)),
         pytest.param(LONG_DOCS, id="long", marks=[pytest.mark.chaos, pytest.mark.timeout(1800)])]


def seeded() -> random.Random:
    seed = int(os.environ.get("ASSAY_CHAOS_SEED") or random.SystemRandom().randrange(1 << 30))
    print(f"ASSAY_CHAOS_SEED={seed}")
    return random.Random(seed)


class Stream:
    """Produces a plan in a background thread, as a stream (chunks with pauses), into a ledger."""

    def __init__(self, topics: Topics, plan: list[tuple[str, bytes | None]], chunk: int = 40,
                 pause_s: float = 0.3) -> None:
        self.ledger = Ledger()
        self.size = len(plan)
        self.error: BaseException | None = None

        def run() -> None:
            try:
                produce(topics, plan, self.ledger, chunk=chunk, pause_s=pause_s)
            except BaseException as exc:  # noqa: BLE001 - re-raised by finish()
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def finish(self) -> Ledger:
        self._thread.join(300)
        if self.error is not None:
            raise self.error
        assert len(self.ledger.items) == self.size
        return self.ledger


class Workers:
    """The current worker of a run and every one before it (their logs are checked at the end)."""

    def __init__(self, start: Callable[..., WorkerProcess], topics: Topics, data_dir: Path, **env: str) -> None:
        self._start, self.topics, self.data_dir, self.env = start, topics, data_dir, env
        self.all: list[WorkerProcess] = []
        self.current = self.restart()

    def restart(self) -> WorkerProcess:
        self.current = self._start(self.topics, data_dir=self.data_dir, **self.env)
        self.all.append(self.current)
        return self.current

    def alive(self) -> None:
        code = self.current.proc.poll()
        if code is not None:
            raise AssertionError(f"worker exited {code}:\n{self.current.log()}")

    def metric(self, name: str) -> float:
        """Sum of a Prometheus counter's samples on the current worker's /metrics."""
        text = httpx.get(f"{self.current.url}/metrics", timeout=10).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def finish(self) -> dict[str, float]:
        """Stop the current worker with SIGTERM (it must exit 0) and return its failure counters."""
        counters = {name: self.metric(name) for name in
                    ("assay_batch_failures_total", "assay_watchdog_stalls_total", "assay_dead_letters_total")}
        code = self.current.stop(signal.SIGTERM)
        assert code == 0, f"SIGTERM exit code {code}:\n{self.current.log()}"
        for w in self.all:
            text = w.log_path.read_text(errors="replace")
            assert "crashed" not in text and "Traceback" not in text, f"{w.log_path.name}:\n{text[-4000:]}"
        return counters


def settle_and_audit(topics: Topics, stream: Stream, watcher: ResultWatcher, workers: Workers,
                     timeout_s: float) -> dict[str, Any]:
    ledger = stream.finish()
    watcher.wait_for_all(ledger, timeout_s, alive=workers.alive)
    wait_for_zero_lag(topics)
    counters = workers.finish()
    watcher.close()
    result = audit(topics, ledger, watcher, workers.data_dir)
    summary = {**result.summary(), **counters}
    print(summary)
    problems = result.problems()
    assert not problems, "\n".join(problems)
    assert counters["assay_batch_failures_total"] == 0 and counters["assay_watchdog_stalls_total"] == 0, counters
    return summary


@pytest.mark.parametrize("n_docs", SIZES)
def test_kill_9_during_a_stream_loses_and_duplicates_nothing(topics, start_worker, tmp_path, n_docs):
    """Four kill -9s at random moments of a stream of real documents with renames, tombstones and repeats.

    One kill lands right after a restart, while the new worker joins the group and reads back its
    set state. The last worker finishes; the audit finds every result and exactly the live points.
    """
    rng = seeded()
    plan = chaos_plan(real_documents(n_docs), rng)
    workers = Workers(start_worker, topics, tmp_path / "store")
    watcher = ResultWatcher(topics)
    stream = Stream(topics, plan)
    started = time.monotonic()
    for share in (0.2, 0.45, 0.7):
        watcher.wait_for(int(share * len(plan)), timeout_s=600, alive=workers.alive)
        time.sleep(rng.uniform(0, 1.5))  # land anywhere in a batch: computing, writing, publishing, acking
        workers.current.stop(signal.SIGKILL)
        workers.restart()
        if share == 0.45:
            time.sleep(rng.uniform(0.2, 2.0))
            workers.current.stop(signal.SIGKILL)
            workers.restart()
    summary = settle_and_audit(topics, stream, watcher, workers, timeout_s=900)
    print(f"{n_docs} documents, {len(plan)} inputs, 4 kills: {time.monotonic() - started:.0f}s")
    assert len(workers.all) == 5 and summary["stored"] > 0


class Service:
    """A server subprocess this test owns, stopped and started again on the same port."""

    def __init__(self, name: str, argv: Callable[[int], list[str]], ready: Callable[[int], bool], log_dir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.ready, self.log_dir = name, argv, ready, log_dir
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 90.0) -> "Service":
        self.starts += 1
        print(f"{time.strftime('%H:%M:%S')} {self.name}: starting")
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(self.argv(self.port), env=self.env, cwd=REPO, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while not self.ready(self.port):
            assert self.proc.poll() is None, f"{self.name} exited {self.proc.returncode}"
            assert time.monotonic() < deadline, f"{self.name} not ready in {timeout_s:.0f}s"
            time.sleep(0.2)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        print(f"{time.strftime('%H:%M:%S')} {self.name}: stopping with {signal.Signals(sig).name}")
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def pause(self, seconds: float) -> None:
        """SIGSTOP for ``seconds``, then SIGCONT: a server that hangs instead of refusing."""
        self.hang()
        try:
            time.sleep(seconds)
        finally:
            self.resume()

    def hang(self) -> None:
        """SIGSTOP: the server keeps its port open and answers nothing."""
        assert self.proc is not None
        print(f"{time.strftime('%H:%M:%S')} {self.name}: hung (SIGSTOP)")
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        print(f"{time.strftime('%H:%M:%S')} {self.name}: resumed (SIGCONT)")
        self.proc.send_signal(signal.SIGCONT)


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def inference_server(tmp_path: Path, embedder: Any) -> Any:
    server = Service(
        "inference", lambda port: [sys.executable, "-m", "streams.cli", "inference", "serve", "--port", str(port)],
        lambda port: http_ok(f"http://127.0.0.1:{port}/health"), tmp_path,
        {"ASSAY_MODEL_CACHE_DIR": str(MODELS_DIR), "HF_HUB_OFFLINE": "1", "ASSAY_INFERENCE_BACKEND": "auto"})
    yield server.start()
    server.stop(signal.SIGKILL)


OUTAGE_S = float(os.environ.get("ASSAY_CHAOS_OUTAGE_S", "6"))


@pytest.mark.parametrize("n_docs", SIZES)
def test_an_inference_server_outage_is_waited_out(topics, start_worker, tmp_path, inference_server, n_docs):
    """The worker embeds through `assay inference serve`; the server is stopped twice mid-stream.

    Once with SIGTERM (connections refused while it is down), once with kill -9; each time it comes
    back on the same port after a while. Batches wait and retry; nothing is dead-lettered.
    """
    rng = seeded()
    plan = chaos_plan(real_documents(n_docs), rng)
    workers = Workers(start_worker, topics, tmp_path / "store", ASSAY_INFERENCE_BACKEND="remote",
                      ASSAY_INFERENCE_REMOTE_URL=f"http://127.0.0.1:{inference_server.port}",
                      ASSAY_RETRY_MAX_BACKOFF_S="2")
    watcher = ResultWatcher(topics)
    stream = Stream(topics, plan)
    for share, sig in ((0.25, signal.SIGTERM), (0.6, signal.SIGKILL)):
        watcher.wait_for(int(share * len(plan)), timeout_s=600, alive=workers.alive)
        inference_server.stop(sig)
        time.sleep(OUTAGE_S)
        inference_server.start()
    retries = workers.metric("assay_retries_total")
    settle_and_audit(topics, stream, watcher, workers, timeout_s=900)
    assert retries > 0, "the outages were not noticed: stop the server earlier or for longer"


def redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Any:
    """A redis-server of this test on a free port: no persistence, so a restart starts empty."""
    server = Service("redis", lambda port: ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                            "--appendonly", "no", "--dir", str(tmp_path)],
                     redis_ping, tmp_path)
    yield server.start()
    server.stop(signal.SIGKILL)


@pytest.mark.parametrize("n_docs", SIZES)
def test_a_redis_outage_only_costs_the_cache(topics, start_worker, tmp_path, own_redis, n_docs):
    """The embedding cache's Redis is killed, later hung (SIGSTOP), mid-stream; the pipeline goes on.

    Every input has its result, nothing is dead-lettered, and the restarted Redis is written again.
    """
    import redis

    rng = seeded()
    plan = chaos_plan(real_documents(n_docs), rng)
    workers = Workers(start_worker, topics, tmp_path / "store", ASSAY_REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0",
                      ASSAY_REDIS_RETRY_S="1")
    watcher = ResultWatcher(topics)
    stream = Stream(topics, plan)
    def cache_log(what: str) -> int:
        return workers.current.log_path.read_text(errors="replace").count(f"/0 {what}")

    watcher.wait_for(int(0.2 * len(plan)), timeout_s=600, alive=workers.alive)
    own_redis.stop(signal.SIGKILL)
    time.sleep(OUTAGE_S)
    own_redis.start()
    probes, last_probe = 0, 0.0

    def probing(noticed: Callable[[], bool]) -> Callable[[], bool]:
        # Keep new texts coming while we wait: a backlog drained during an outage would leave the
        # cache nothing to try Redis with, and the test would wait for traffic, not for Redis.
        def check() -> bool:
            nonlocal probes, last_probe
            if noticed():
                return True
            if time.monotonic() - last_probe >= 2.0:
                last_probe = time.monotonic()
                text = f"Cache probe {probes}: validate every input at the boundary of a service before using it."
                produce(topics, [(f"probe-{probes}", orjson.dumps({"type": "general", "content": text}))],
                        stream.ledger)
                stream.size += 1
                probes += 1
            return False
        return check

    wait_for(probing(lambda: cache_log("reachable again") >= 1), 120, "the cache to use the restarted Redis")
    own_redis.hang()
    hung_at = time.monotonic()
    try:
        wait_for(probing(lambda: cache_log("unavailable") >= 2), 120, "the cache to notice the hung Redis")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - hung_at)))
    finally:
        own_redis.resume()
    settle_and_audit(topics, stream, watcher, workers, timeout_s=900)
    assert redis.Redis(port=own_redis.port).dbsize() > 0, "the restarted Redis was never written"
    assert cache_log("unavailable") == 2, "both outages should be noticed: refused, then timed out"
