"""RemoteEmbedder against a real server on a loopback port; CachedEmbedder against the real Redis.

Nothing is mocked: HTTP goes over sockets to aiohttp servers running in background threads,
and the cache talks to the Redis at 127.0.0.1:6379 (db 15, keys of a unique variant per test).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

import httpx
import numpy as np
import pytest
import redis
from aiohttp import web
from prometheus_client import CollectorRegistry

from inference.base import Embedder, ModelVariant
from inference.batcher import EmbeddingBatcher
from inference.cache import KEY_PREFIX, CachedEmbedder, wrap_with_cache
from inference.remote import RemoteEmbedder, RemoteInferenceError
from inference.server import create_server_app
from infra.kafka.broker import free_port
from infra.settings import InferenceSettings, RedisSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REDIS_URL = "redis://127.0.0.1:6379/15"
REPO = Path(__file__).resolve().parents[2]
TEXTS = ["Kafka keeps per-partition order.", "Vectors live in Qdrant.", "héllo ✓", ""]
DIM = 16


def hash_vec(text: str) -> np.ndarray:
    raw = np.frombuffer(hashlib.sha256(text.encode()).digest()[: DIM * 2], dtype=np.uint16).astype(np.float32)
    v = raw - 32768.0
    return (v / np.linalg.norm(v)).astype(np.float32)


class CountingEmbedder(Embedder):
    """Model double with a unique variant; records what the model was asked to embed."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.variant = ModelVariant(f"hash-{uuid.uuid4().hex[:12]}", "0", "fp32", "test", DIM)
        self.max_tokens = 64
        self.calls: list[list[str]] = []
        self.gate = gate

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.gate is not None:
            assert self.gate.wait(20)
        return np.stack([hash_vec(t) for t in texts]) if texts else np.empty((0, DIM), np.float32)


class BackgroundServer:
    """An aiohttp app served for real on a free loopback port, from its own thread and loop."""

    def __init__(self, app: web.Application) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._app = app
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        assert self._ready.wait(20), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        self._loop.close()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# ---------------------------------------------------------------------------------- remote


def test_remote_matches_local_over_both_apis(embedder: Embedder) -> None:
    expected = embedder.embed(TEXTS)
    app = create_server_app(embedder, InferenceSettings(), token="tok-123", registry=CollectorRegistry())
    with BackgroundServer(app) as srv:
        for api, max_inputs in (("openai", None), ("tei", None), ("openai", 3)):
            remote = RemoteEmbedder(srv.url, token="tok-123", api=api, max_inputs=max_inputs)
            try:
                assert remote.variant == embedder.variant  # discovered via /info: same vectors, same id
                assert remote.max_tokens == embedder.max_tokens
                got = remote.embed(TEXTS)
                assert got.dtype == np.float32 and got.shape == expected.shape
                assert cosines(got, expected).min() > 0.9999, api
                assert remote.embed([]).shape == (0, embedder.variant.dim)
            finally:
                remote.close()
        wrong = RemoteEmbedder(srv.url, token="nope")
        with pytest.raises(RemoteInferenceError) as exc_info:
            wrong.discover()
        assert exc_info.value.status == 401 and exc_info.value.retry_after is None
        wrong.close()


def test_remote_overload_and_outage_carry_retry_after() -> None:
    gate = threading.Event()
    model = CountingEmbedder(gate=gate)
    app = create_server_app(model, InferenceSettings(max_queue=1, max_batch_size=1), registry=CollectorRegistry(),
                            retry_after_s=3)
    with BackgroundServer(app) as srv:
        remote = RemoteEmbedder(srv.url, timeout_s=20)
        assert remote.variant == model.variant
        results: list[Any] = []
        workers = [threading.Thread(target=lambda t=t: results.append(remote.embed([t]))) for t in ("a", "b")]
        try:
            workers[0].start()
            deadline = time.monotonic() + 10
            while not model.calls:  # "a" blocks the model ...
                assert time.monotonic() < deadline
                time.sleep(0.01)
            workers[1].start()
            while httpx.get(f"{srv.url}/health").json()["queue_depth"] < 1:  # ... "b" fills the queue
                assert time.monotonic() < deadline
                time.sleep(0.01)
            with pytest.raises(RemoteInferenceError) as exc_info:
                remote.embed(["c"])
            assert exc_info.value.status == 429 and exc_info.value.retry_after == 3.0
        finally:
            gate.set()
            for w in workers:
                w.join(20)
        assert len(results) == 2
        remote.close()
    down = RemoteEmbedder(f"http://127.0.0.1:{free_port()}", timeout_s=2)  # nothing listens there
    with pytest.raises(RemoteInferenceError) as exc_info:
        down.discover()
    assert exc_info.value.retry_after == 1.0
    down.close()


def foreign_openai_app() -> web.Application:
    """Another vendor's OpenAI-style server: no /info, unnormalized vectors, reversed data order."""
    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        data = [{"object": "embedding", "index": i, "embedding": (3.0 * hash_vec(t)).tolist()}
                for i, t in enumerate(body["input"])]
        return web.json_response({"object": "list", "data": data[::-1], "model": body.get("model", "m")})

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    return app


def test_remote_foreign_server_without_info() -> None:
    with BackgroundServer(foreign_openai_app()) as srv:
        remote = RemoteEmbedder(srv.url + "/v1", model="vendor-model")  # a ".../v1" base URL works too
        try:
            assert remote.variant == ModelVariant("vendor-model", "unknown", "unknown", "remote", DIM)
            got = remote.embed(["x", "y", "z"])
            np.testing.assert_allclose(got, np.stack([hash_vec(t) for t in "xyz"]), atol=1e-6)  # re-normalized
        finally:
            remote.close()


# ---------------------------------------------------------------------------------- cache


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    client.close()


def drop_keys(client: redis.Redis, variant: ModelVariant) -> None:
    keys = list(client.scan_iter(f"{KEY_PREFIX}{variant.id}:*"))
    if keys:
        client.delete(*keys)


def test_cache_second_call_hits(redis_client: redis.Redis) -> None:
    model = CountingEmbedder()
    registry = CollectorRegistry()
    cached = CachedEmbedder(model, REDIS_URL, ttl_s=600, registry=registry)
    try:
        first = cached.embed(TEXTS + [TEXTS[0]])  # a duplicate inside one call is embedded once
        assert model.calls == [TEXTS]
        second = cached.embed(TEXTS)
        assert model.calls == [TEXTS]  # all hits: the model was not called again
        assert np.array_equal(second, first[:4]) and second.dtype == np.float32
        assert np.array_equal(second, np.stack([hash_vec(t) for t in TEXTS]))
        cached.embed(["new text", TEXTS[1]])
        assert model.calls[-1] == ["new text"]
        assert cached.stats() == {"hits": 5, "misses": 6, "errors": 0, "hit_ratio": 5 / 11, "available": True}
        assert registry.get_sample_value("assay_inference_cache_hits_total") == 5
        assert registry.get_sample_value("assay_inference_cache_misses_total") == 6
        key = cached.key(TEXTS[0])
        assert key == f"assay:emb:{model.variant.id}:{hashlib.sha256(TEXTS[0].encode()).hexdigest()}"
        assert 0 < redis_client.ttl(key) <= 600
        assert np.array_equal(np.frombuffer(redis_client.get(key), "<f4"), hash_vec(TEXTS[0]))
    finally:
        drop_keys(redis_client, model.variant)
        cached.close()


def test_cache_in_front_of_the_server(embedder: Embedder, redis_client: redis.Redis) -> None:
    model = CountingEmbedder()
    cached = wrap_with_cache(model, RedisSettings(url=REDIS_URL, ttl_s=60), registry=CollectorRegistry())
    assert isinstance(cached, CachedEmbedder)
    assert wrap_with_cache(model, RedisSettings(url=None)) is model
    app = create_server_app(cached, InferenceSettings(), registry=CollectorRegistry())
    try:
        with BackgroundServer(app) as srv:
            remote = RemoteEmbedder(srv.url, api="tei")
            a = remote.embed(TEXTS)
            calls_after_first = len(model.calls)  # the server's batcher may split the texts by length
            b = remote.embed(TEXTS)
            assert np.array_equal(a, b) and calls_after_first >= 1
            assert len(model.calls) == calls_after_first  # second request: all from the cache
            assert httpx.get(f"{srv.url}/health").json()["cache"]["hits"] == len(TEXTS)
            remote.close()
    finally:
        drop_keys(redis_client, model.variant)


def test_batcher_answers_cache_hits_before_its_queue(redis_client: redis.Redis) -> None:
    """The worker's wiring (a CachedEmbedder behind a batcher): hits never reach the queue."""
    model = CountingEmbedder()
    cached = CachedEmbedder(model, REDIS_URL, ttl_s=60, registry=CollectorRegistry())

    async def scenario() -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        async with EmbeddingBatcher(cached, registry=CollectorRegistry()) as b:
            first = await b.embed(TEXTS)
        async with EmbeddingBatcher(cached, registry=CollectorRegistry()) as b:  # stop() waited for the writes
            again = await b.embed(TEXTS[::-1])
            return first, again, b.stats()

    try:
        first, again, stats = asyncio.run(scenario())
        assert sorted(t for call in model.calls for t in call) == sorted(TEXTS)  # the model saw each text once
        np.testing.assert_array_equal(again, first[::-1])
        assert stats["cached_texts"] == len(TEXTS) and stats["texts"] == 0 and stats["batches"] == 0
        assert cached.stats()["hits"] == len(TEXTS)
    finally:
        drop_keys(redis_client, model.variant)
        cached.close()


def test_batcher_goes_on_without_redis_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    model = CountingEmbedder()
    cached = CachedEmbedder(model, f"redis://127.0.0.1:{free_port()}/0", ttl_s=60, registry=CollectorRegistry())

    async def scenario() -> list[np.ndarray]:
        async with EmbeddingBatcher(cached, registry=CollectorRegistry()) as b:
            return [await b.embed(TEXTS) for _ in range(3)]

    with caplog.at_level(logging.WARNING, logger="inference.cache"):
        for out in asyncio.run(scenario()):
            np.testing.assert_array_equal(out, np.stack([hash_vec(t) for t in TEXTS]))
    warnings = [r for r in caplog.records if r.name == "inference.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "without the cache" in warnings[0].getMessage()
    assert cached.stats()["errors"] == 1
    cached.close()


def test_cache_redis_refused_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    model = CountingEmbedder()
    cached = CachedEmbedder(model, f"redis://127.0.0.1:{free_port()}/0", ttl_s=60, registry=CollectorRegistry())
    with caplog.at_level(logging.WARNING, logger="inference.cache"):
        for _ in range(3):
            assert np.array_equal(cached.embed(TEXTS), np.stack([hash_vec(t) for t in TEXTS]))
    warnings = [r for r in caplog.records if r.name == "inference.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "without the cache" in warnings[0].getMessage()
    stats = cached.stats()
    assert stats["errors"] == 1 and stats["available"] is False  # not retried within 30 s
    assert len(model.calls) == 3


def test_cache_redis_timeout_falls_back_and_retries(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that accepts but never answers (a hung Redis): each try costs one timeout at most."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        cached = CachedEmbedder(CountingEmbedder(), url, ttl_s=60, retry_s=0.0, timeout_s=0.2,
                                registry=CollectorRegistry())
        with caplog.at_level(logging.WARNING, logger="inference.cache"):
            t0 = time.monotonic()
            for _ in range(2):
                assert cached.embed(["x"]).shape == (1, DIM)
            assert time.monotonic() - t0 < 3
        assert cached.stats()["errors"] == 2  # retried (retry_s=0) ...
        assert sum(r.levelno == logging.WARNING for r in caplog.records if r.name == "inference.cache") == 1  # ... warned once
        cached.close()


# ---------------------------------------------------------------------------------- CLI


def test_cli_serve_end_to_end(embedder: Embedder, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ASSAY_MODEL_CACHE_DIR": str(REPO / ".assay" / "models"),
           "ASSAY_DATA_DIR": str(tmp_path), "ASSAY_TEST_SERVE_TOKEN": "cli-token"}
    env.pop("ASSAY_REDIS_URL", None)
    code = "from inference.cli import inference_group; inference_group()"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--token-env",
                             "ASSAY_TEST_SERVE_TOKEN"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        assert httpx.post(f"{url}/embed", json={"inputs": "x"}).status_code == 401
        remote = RemoteEmbedder(url, token="cli-token")
        assert remote.variant == embedder.variant
        assert cosines(remote.embed(TEXTS), embedder.embed(TEXTS)).min() > 0.9999
        remote.close()
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0 or proc.returncode == -15
