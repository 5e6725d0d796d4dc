"""The inference HTTP server: wire formats, limits, auth, overload, errors, health/info/metrics.

Requests go over real HTTP (aiohttp's TestServer/TestClient on a loopback port) into the real
batcher. The model is a deterministic hashing Embedder (a double of the model only), except in
the last test, which serves the real default embedder.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from prometheus_client import CollectorRegistry

from inference.base import Embedder, ModelVariant
from inference.cli import inference_group
from inference.server import create_server_app
from infra.settings import InferenceSettings

DIM = 16
MODELS_DIR = Path(__file__).resolve().parents[3] / ".assay" / "models"
pytestmark = pytest.mark.timeout(60)


def vec(text: str) -> np.ndarray:
    raw = np.frombuffer(hashlib.sha256(text.encode()).digest()[: DIM * 2], dtype=np.uint16).astype(np.float32)
    v = raw - 32768.0
    return (v / np.linalg.norm(v)).astype(np.float32)


class HashEmbedder(Embedder):
    """Model double: one token per word; ``gate`` blocks the model; the text 'boom' fails."""

    def __init__(self, max_tokens: int = 64, gate: threading.Event | None = None) -> None:
        self.variant = ModelVariant("hash", "0", "fp32", "test", DIM)
        self.max_tokens = max_tokens
        self.gate = gate
        self.entered = threading.Event()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(20), "test never opened the gate"
        if "boom" in texts:
            raise RuntimeError("model exploded")
        return np.stack([vec(t) for t in texts]) if texts else np.empty((0, DIM), np.float32)


Scenario = Callable[[TestClient], Awaitable[None]]


def serve(scenario: Scenario, embedder: Embedder | None = None, settings: InferenceSettings | None = None,
          **kwargs: Any) -> None:
    """Run ``scenario(client)`` against a fresh server (its own loop, port and metrics registry)."""
    async def main() -> None:
        app = create_server_app(embedder or HashEmbedder(), settings or InferenceSettings(),
                                registry=kwargs.pop("registry", CollectorRegistry()), **kwargs)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


async def expect_error(resp: Any, status: int, fragment: str = "") -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    err = (await resp.json())["error"]
    assert isinstance(err["message"], str) and isinstance(err["type"], str)
    assert fragment in err["message"], err
    return err


def test_openai_shape_and_values() -> None:
    async def scenario(c: TestClient) -> None:
        r = await c.post("/v1/embeddings", json={"input": ["a b c", "hello", ""], "model": "whatever"})
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["object"] == "list" and body["model"] == "hash@0/fp32/test"
        assert [d["index"] for d in body["data"]] == [0, 1, 2]
        assert all(d["object"] == "embedding" and len(d["embedding"]) == DIM for d in body["data"])
        got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
        assert np.array_equal(got, np.stack([vec("a b c"), vec("hello"), vec("")]))
        assert body["usage"] == {"prompt_tokens": 3 + 1 + 1, "total_tokens": 5}  # at least 1 per text
        r = await c.post("/v1/embeddings", json={"input": "single"})
        assert [d["index"] for d in (await r.json())["data"]] == [0]

    serve(scenario)


def test_openai_base64_is_little_endian_float32() -> None:
    async def scenario(c: TestClient) -> None:
        r = await c.post("/v1/embeddings", json={"input": ["x", "y"], "encoding_format": "base64"})
        data = (await r.json())["data"]
        got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in data])
        assert np.array_equal(got, np.stack([vec("x"), vec("y")]))

    serve(scenario)


def test_tei_shape_truncate_and_normalize() -> None:
    async def scenario(c: TestClient) -> None:
        r = await c.post("/embed", json={"inputs": "one"})
        assert np.array_equal(np.array(await r.json(), np.float32), vec("one")[None])
        r = await c.post("/embed", json={"inputs": ["one", "two"], "normalize": True, "truncate": True})
        assert np.array_equal(np.array(await r.json(), np.float32), np.stack([vec("one"), vec("two")]))
        long = "w " * 10
        assert (await c.post("/embed", json={"inputs": [long]})).status == 200  # truncated by default
        await expect_error(await c.post("/embed", json={"inputs": ["ok", long], "truncate": False}), 413, "10 tokens")
        await expect_error(await c.post("/embed", json={"inputs": "x", "normalize": False}), 422, "normalize")

    serve(scenario, HashEmbedder(max_tokens=4))


def test_bearer_token() -> None:
    async def scenario(c: TestClient) -> None:
        body = {"input": "x"}
        err = await expect_error(await c.post("/v1/embeddings", json=body), 401)
        assert err["type"] == "authentication_error"
        for header in ("Bearer wrong", "Bearer s3cret-tokenX", "Basic s3cret-token", "s3cret-token", "Bearer "):
            r = await c.post("/v1/embeddings", json=body, headers={"Authorization": header})
            await expect_error(r, 401)
            assert r.headers["WWW-Authenticate"] == "Bearer"
        await expect_error(await c.get("/info"), 401)
        await expect_error(await c.get("/metrics"), 401)
        ok = {"Authorization": "Bearer s3cret-token"}
        assert (await c.post("/v1/embeddings", json=body, headers=ok)).status == 200
        assert (await c.post("/embed", json={"inputs": "x"}, headers=ok)).status == 200
        assert (await c.get("/health")).status == 200  # probes carry no credentials
        assert (await c.get("/ready")).status == 200

    serve(scenario, token="s3cret-token")


def test_run_server_refuses_an_exposed_host_without_a_token() -> None:
    from infra.errors import ConfigError
    from inference.server import run_server

    with pytest.raises(ConfigError, match="0.0.0.0 without a bearer token"):
        run_server(InferenceSettings(), host="0.0.0.0", embedder=HashEmbedder())


def test_body_and_input_limits() -> None:
    async def scenario(c: TestClient) -> None:
        big = {"input": ["x" * 600, "y" * 600]}
        await expect_error(await c.post("/v1/embeddings", json=big), 413, "exceeds the limit of 1000")

        async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check up front
            yield b'{"input": ["'
            for _ in range(20):
                yield b"z" * 100
            yield b'"]}'

        await expect_error(await c.post("/embed", data=chunks(), headers={"Content-Type": "application/json"}), 413)
        err = await expect_error(await c.post("/embed", json={"inputs": ["a"] * 4}), 413, "at most 3")
        assert err["type"] == "request_too_large"
        assert (await c.post("/embed", json={"inputs": ["a"] * 3})).status == 200

    serve(scenario, max_body_bytes=1000, max_inputs=3)


@pytest.mark.parametrize("path, body, status, fragment", [
    ("/v1/embeddings", b"{not json", 400, "not valid JSON"),
    ("/v1/embeddings", b"", 400, "not valid JSON"),
    ("/v1/embeddings", b'["a"]', 422, "JSON object"),
    ("/v1/embeddings", b'{"model": "m"}', 422, "`input` is required"),
    ("/v1/embeddings", b'{"input": 5}', 422, "string or a list"),
    ("/v1/embeddings", b'{"input": []}', 422, "empty list"),
    ("/v1/embeddings", b'{"input": [[101, 2023]]}', 422, "token arrays"),
    ("/v1/embeddings", b'{"input": ["a", null]}', 422, "`input[1]`"),
    ("/v1/embeddings", b'{"input": "a", "encoding_format": "int8"}', 422, "encoding_format"),
    ("/v1/embeddings", b'{"input": "a", "model": 7}', 422, "`model`"),
    ("/v1/embeddings", b'{"input": "a", "dimensions": 8}', 422, "dimensions"),
    ("/embed", b'{"input": "a"}', 422, "`inputs` is required"),
    ("/embed", b'{"inputs": []}', 422, "empty list"),
    ("/embed", b'{"inputs": "a", "truncate": "yes"}', 422, "`truncate`"),
])
def test_bad_requests(path: str, body: bytes, status: int, fragment: str) -> None:
    async def scenario(c: TestClient) -> None:
        r = await c.post(path, data=body, headers={"Content-Type": "application/json"})
        err = await expect_error(r, status, fragment)
        assert err["type"] == "invalid_request_error"

    serve(scenario)


def test_unknown_route_and_method_are_json() -> None:
    async def scenario(c: TestClient) -> None:
        await expect_error(await c.get("/v2/nothing"), 404)
        r = await c.get("/v1/embeddings")
        await expect_error(r, 405)
        assert "POST" in r.headers["Allow"]

    serve(scenario)


def test_overload_answers_429_with_retry_after() -> None:
    gate = threading.Event()
    model = HashEmbedder(gate=gate)

    async def scenario(c: TestClient) -> None:
        try:
            first = asyncio.create_task(c.post("/v1/embeddings", json={"input": "a"}))
            while not model.entered.is_set():  # "a" is in the (blocked) model
                await asyncio.sleep(0.01)
            second = asyncio.create_task(c.post("/v1/embeddings", json={"input": "b"}))
            deadline = time.monotonic() + 10
            while (await (await c.get("/health")).json())["queue_depth"] < 1:  # "b" fills the queue
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            assert (await (await c.get("/health")).json())["overloaded"] is True
            for path, body in (("/v1/embeddings", {"input": "c"}), ("/embed", {"inputs": ["c", "d"]})):
                r = await c.post(path, json=body)
                err = await expect_error(r, 429, "queue is full")
                assert err["type"] == "overloaded_error"
                assert r.headers["Retry-After"] == "2"
        finally:
            gate.set()
        for task in (first, second):
            assert (await task).status == 200
        assert (await c.post("/v1/embeddings", json={"input": "c"})).status == 200  # recovered

    serve(scenario, model, InferenceSettings(max_queue=1, max_batch_size=1), retry_after_s=2)


def test_model_failure_is_500_and_server_keeps_serving() -> None:
    async def scenario(c: TestClient) -> None:
        err = await expect_error(await c.post("/embed", json={"inputs": ["boom"]}), 500, "model exploded")
        assert err["type"] == "inference_error"
        assert (await c.post("/embed", json={"inputs": ["fine"]})).status == 200

    serve(scenario)


def test_health_info_metrics() -> None:
    registry = CollectorRegistry()

    async def scenario(c: TestClient) -> None:
        health = await (await c.get("/health")).json()
        assert health == {"status": "ok", "model": "hash@0/fp32/test", "queue_depth": 0, "overloaded": False}
        info = await (await c.get("/info")).json()
        assert info["variant_id"] == "hash@0/fp32/test" and info["dim"] == DIM and info["max_tokens"] == 64
        assert info["variant"] == {"model": "hash", "revision": "0", "precision": "fp32", "backend": "test", "dim": DIM}
        assert info["max_client_batch_size"] == 7
        await c.post("/embed", json={"inputs": ["a", "b"]})
        r = await c.get("/metrics")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
        assert "assay_inference_requests_total 1.0" in text
        assert "assay_inference_texts_total 2.0" in text

    serve(scenario, max_inputs=7, registry=registry)
    assert registry.get_sample_value("assay_inference_requests_total") == 1.0


def test_cli_refuses_unset_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_TEST_NO_SUCH_TOKEN", raising=False)
    result = CliRunner().invoke(inference_group, ["serve", "--token-env", "ASSAY_TEST_NO_SUCH_TOKEN"])
    assert result.exit_code == 2
    assert "ASSAY_TEST_NO_SUCH_TOKEN" in result.output and "unset or empty" in result.output


@pytest.fixture(scope="module")
def real_embedder() -> Embedder:
    from inference.factory import create_embedder

    return create_embedder(InferenceSettings(), MODELS_DIR)


def test_real_embedder_both_endpoints(real_embedder: Embedder) -> None:
    texts = ["Kafka partitions order messages per key.", "Qdrant stores vectors.", "héllo wörld ✓"]
    expected = real_embedder.embed(texts)
    tokens = sum(min(n, real_embedder.max_tokens) for n in real_embedder.count_tokens(texts))

    async def scenario(c: TestClient) -> None:
        r = await c.post("/v1/embeddings", json={"input": texts})
        body = await r.json()
        got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
        assert body["model"] == real_embedder.variant.id
        assert body["usage"]["prompt_tokens"] == tokens
        assert got.shape == (3, real_embedder.variant.dim)
        np.testing.assert_allclose(got, expected, atol=1e-6)
        tei = np.array(await (await c.post("/embed", json={"inputs": texts})).json(), dtype=np.float32)
        np.testing.assert_allclose(tei, expected, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(tei, axis=1), 1.0, atol=1e-5)
        info = await (await c.get("/info")).json()
        assert info["dim"] == 384 and info["max_tokens"] == real_embedder.max_tokens

    serve(scenario, real_embedder)
