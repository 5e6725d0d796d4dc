"""EmbeddingBatcher: ordering, batch shaping, backpressure, cancellation, failures, shutdown.

The model is a deterministic hashing Embedder (a test double of the model only): the batcher
itself runs for real, with real threads and a real event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
import threading
import time
from typing import Any, Awaitable, Callable, Sequence

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from inference.base import Embedder, Encoding, ModelVariant
from inference.batcher import EmbeddingBatcher
from infra.errors import InferenceError

DIM = 16
pytestmark = pytest.mark.timeout(20)


def vec(text: str) -> np.ndarray:
    raw = np.frombuffer(hashlib.sha256(text.encode()).digest()[: DIM * 2], dtype=np.uint16).astype(np.float32)
    v = raw - 32768.0
    return v / np.linalg.norm(v)


class HashEmbedder(Embedder):
    """Deterministic model double: one token per word, sleeps per call, records every batch."""

    def __init__(self, delay_s: float = 0.002, max_tokens: int = 64, gate: threading.Event | None = None,
                 count_delay_s: float = 0.0) -> None:
        self.variant = ModelVariant("hash", "0", "fp32", "test", DIM)
        self.max_tokens = max_tokens
        self.delay_s = delay_s
        self.count_delay_s = count_delay_s  # a slow tokenizer, to catch callers mid-tokenization
        self.gate = gate  # when set up, embed() blocks until the test opens it
        self.entered = threading.Event()
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.count_calls = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.count_calls += 1
        time.sleep(self.count_delay_s)
        return [len(t.split()) for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(texts))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test never opened the gate"
        time.sleep(self.delay_s)
        if any("poison" in t for t in texts):
            raise RuntimeError("model blew up")
        return np.stack([vec(t) for t in texts])


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def words(n: int, tag: str) -> str:
    return " ".join(f"{tag}w{i}" for i in range(n))


def expected(texts: Sequence[str]) -> np.ndarray:
    return np.stack([vec(t) for t in texts]).astype(np.float32)


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


def tokens_seen(emb: HashEmbedder, batch: list[str]) -> list[int]:
    return [max(1, min(len(t.split()), emb.max_tokens)) for t in batch]


@async_test
async def test_results_in_request_order_under_50_concurrent_callers() -> None:
    rng = random.Random(7)
    emb = HashEmbedder(delay_s=0.003, max_tokens=40)
    reg = CollectorRegistry()
    requests = [[words(rng.randint(1, 60), f"c{c}t{j}_") for j in range(rng.randint(1, 12))] for c in range(50)]
    async with EmbeddingBatcher(emb, max_batch_tokens=256, max_batch_size=16, registry=reg) as b:
        results = await asyncio.gather(*(b.embed(r) for r in requests))
        stats = b.stats()
    for req, res in zip(requests, results):
        assert res.dtype == np.float32 and res.shape == (len(req), DIM)
        np.testing.assert_array_equal(res, expected(req))
    n_texts = sum(map(len, requests))
    assert sum(map(len, emb.batches)) == n_texts  # every text exactly once
    assert stats["texts"] == n_texts and stats["requests"] == 50 and stats["failed_batches"] == 0
    assert stats["batches"] == len(emb.batches) and stats["mean_batch_size"] > 1  # batching happened
    assert emb.threads and all(name.startswith("assay-model") for name in emb.threads)
    assert len(emb.threads) == 1  # one model thread, never the event loop
    n_long = sum(1 for r in requests for t in r if len(t.split()) > emb.max_tokens)
    assert reg.get_sample_value("assay_inference_truncated_texts_total") == n_long > 0
    assert reg.get_sample_value("assay_inference_texts_total") == n_texts
    assert reg.get_sample_value("assay_inference_requests_total") == 50
    assert reg.get_sample_value("assay_inference_queue_depth") == 0
    assert reg.get_sample_value("assay_inference_phase_seconds_count", {"phase": "model"}) == len(emb.batches)


@async_test
async def test_batches_respect_token_budget_size_and_are_sorted_by_length() -> None:
    rng = random.Random(3)
    emb = HashEmbedder(delay_s=0.002, max_tokens=48)
    budget, size = 96, 6
    texts = [words(rng.randint(1, 80), f"t{i}_") for i in range(120)]
    async with EmbeddingBatcher(emb, max_batch_tokens=budget, max_batch_size=size,
                                registry=CollectorRegistry()) as b:
        results = await asyncio.gather(*(b.embed([t]) for t in texts))
        stats = b.stats()
    for t, r in zip(texts, results):
        np.testing.assert_array_equal(r[0], vec(t))
    assert any(len(batch) > 1 for batch in emb.batches)
    slots = real = 0
    for batch in emb.batches:
        toks = tokens_seen(emb, batch)
        assert len(batch) <= size
        assert len(batch) == 1 or max(toks) * len(batch) <= budget  # padding counted
        assert toks == sorted(toks)
        slots += max(toks) * len(toks)
        real += sum(toks)
    assert stats["padding_ratio"] == pytest.approx(1 - real / slots)


@async_test
async def test_padding_share_of_a_batch_is_capped() -> None:
    """Short texts do not ride along with a long one when that would make most slots padding."""
    emb = HashEmbedder(max_tokens=64, gate=threading.Event())
    async with EmbeddingBatcher(emb, max_batch_tokens=4096, max_batch_size=64, max_padding=0.5,
                                registry=CollectorRegistry()) as b:
        first = asyncio.ensure_future(b.embed([words(2, "first")]))
        await asyncio.to_thread(emb.entered.wait, 5)  # the model is busy: everything below waits together
        texts = [words(60, "long")] + [words(3, f"s{i}") for i in range(10)] + [words(50, "mid")]
        pending = asyncio.gather(*(b.embed([t]) for t in texts))
        await asyncio.sleep(0.05)
        emb.gate.set()
        results = await pending
        await first
        stats = b.stats()
    for t, r in zip(texts, results):
        np.testing.assert_array_equal(r[0], vec(t))
    for batch in emb.batches[1:]:
        toks = tokens_seen(emb, batch)
        assert len(batch) == 1 or 1 - sum(toks) / (max(toks) * len(toks)) <= 0.5
    assert len(emb.batches) >= 3  # the short texts and the long ones went separately
    assert stats["padding_ratio"] <= 0.5


@async_test
async def test_single_item_over_budget_goes_alone() -> None:
    emb = HashEmbedder(max_tokens=200)
    async with EmbeddingBatcher(emb, max_batch_tokens=64, max_batch_size=8, registry=CollectorRegistry()) as b:
        big, small = words(150, "big"), [words(3, f"s{i}") for i in range(4)]
        res = await asyncio.gather(b.embed([big]), b.embed(small))
    np.testing.assert_array_equal(res[0], expected([big]))
    np.testing.assert_array_equal(res[1], expected(small))
    assert [big] in emb.batches
    assert all(big not in batch or len(batch) == 1 for batch in emb.batches)


@async_test
async def test_backpressure_bounds_the_queue_and_everyone_completes() -> None:
    emb = HashEmbedder(delay_s=0.003)
    max_queue = 5
    b = EmbeddingBatcher(emb, max_batch_tokens=64, max_batch_size=2, max_queue=max_queue,
                         registry=CollectorRegistry())
    await b.start()
    depths: list[int] = []
    overloaded: list[bool] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            depths.append(b.queue_depth())
            overloaded.append(b.is_overloaded())
            await asyncio.sleep(0)

    requests = [[words(2, f"r{i}t{j}") for j in range(3)] for i in range(30)]
    requests.append([words(2, f"huge{j}") for j in range(12)])  # larger than the whole queue
    mon = asyncio.create_task(monitor())
    results = await asyncio.gather(*(b.embed(r) for r in requests))
    done.set()
    await mon
    await b.stop()
    for req, res in zip(requests, results):
        np.testing.assert_array_equal(res, expected(req))
    assert max(depths) <= max_queue
    assert max(depths) == max_queue and any(overloaded)  # the bound was actually hit
    assert not b.is_overloaded()


@async_test
async def test_cancelled_caller_never_reaches_the_model() -> None:
    gate = threading.Event()
    emb = HashEmbedder(gate=gate)
    reg = CollectorRegistry()
    async with EmbeddingBatcher(emb, max_batch_tokens=512, max_batch_size=8, registry=reg) as b:
        first = asyncio.create_task(b.embed(["first"]))
        await until(emb.entered.is_set)  # the model is now busy (blocked) with "first"
        victim = asyncio.create_task(b.embed(["cancel-me one", "cancel-me two"]))
        other = asyncio.create_task(b.embed(["survivor"]))
        await until(lambda: b.queue_depth() == 3)
        victim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim
        assert b.queue_depth() == 1  # its items freed their queue space at once
        assert reg.get_sample_value("assay_inference_queue_depth") == 1
        gate.set()
        np.testing.assert_array_equal(await first, expected(["first"]))
        np.testing.assert_array_equal(await other, expected(["survivor"]))
    assert not any("cancel-me" in t for batch in emb.batches for t in batch)


@async_test
async def test_model_exception_fails_only_that_batch() -> None:
    emb = HashEmbedder()
    reg = CollectorRegistry()
    async with EmbeddingBatcher(emb, max_batch_tokens=512, max_batch_size=1, registry=reg) as b:
        bad, good = await asyncio.gather(b.embed(["poison pill"]), b.embed(["fine"]), return_exceptions=True)
        assert isinstance(bad, InferenceError) and isinstance(bad.__cause__, RuntimeError)
        np.testing.assert_array_equal(good, expected(["fine"]))
        with pytest.raises(InferenceError):  # a multi-text request with one bad text fails as a whole
            await b.embed(["ok", "poison again"])
        np.testing.assert_array_equal(await b.embed(["after"]), expected(["after"]))  # still running
        assert b.stats()["failed_batches"] == 2
    assert reg.get_sample_value("assay_inference_failed_batches_total") == 2


@async_test
async def test_stop_fails_pending_requests_cleanly() -> None:
    gate = threading.Event()
    emb = HashEmbedder(gate=gate)
    b = EmbeddingBatcher(emb, max_batch_tokens=512, max_batch_size=1, registry=CollectorRegistry())
    await b.start()
    in_model = asyncio.create_task(b.embed(["in the model"]))
    await until(emb.entered.is_set)
    queued = [asyncio.create_task(b.embed([f"queued {i}"])) for i in range(5)]
    await until(lambda: b.queue_depth() == 5)
    await b.stop()  # default: fail, don't drain
    for task in [in_model, *queued]:
        with pytest.raises(InferenceError):
            await task
    assert b.queue_depth() == 0
    with pytest.raises(InferenceError):
        await b.embed(["too late"])
    gate.set()
    assert len(emb.batches) == 1


@async_test
async def test_stop_with_drain_finishes_every_admitted_call() -> None:
    emb = HashEmbedder(delay_s=0.005, count_delay_s=0.003)
    b = EmbeddingBatcher(emb, max_batch_tokens=512, max_batch_size=2, max_queue=3, registry=CollectorRegistry())
    await b.start()
    tasks = [asyncio.create_task(b.embed([f"text {i}"])) for i in range(7)]
    await asyncio.sleep(0)  # all admitted; most still tokenizing or waiting for queue space
    await b.stop(drain=True)
    for i, task in enumerate(tasks):
        np.testing.assert_array_equal(await task, expected([f"text {i}"]))


@async_test
async def test_stop_fails_callers_still_tokenizing_with_inference_error() -> None:
    emb = HashEmbedder(count_delay_s=0.02)
    b = EmbeddingBatcher(emb, registry=CollectorRegistry())
    await b.start()
    tasks = [asyncio.create_task(b.embed([f"text {i}"])) for i in range(3)]
    await asyncio.sleep(0)
    await b.stop()
    for task in tasks:  # an InferenceError, never a CancelledError the caller did not ask for
        with pytest.raises(InferenceError):
            await task


@async_test
async def test_empty_request_does_not_touch_the_model() -> None:
    emb = HashEmbedder()
    async with EmbeddingBatcher(emb, registry=CollectorRegistry()) as b:
        out = await b.embed([])
        with pytest.raises(TypeError):
            await b.embed("a bare string")  # type: ignore[arg-type]
    assert out.shape == (0, DIM) and out.dtype == np.float32
    assert emb.batches == [] and emb.count_calls == 0


@async_test
async def test_max_wait_lets_an_idle_batch_fill() -> None:
    emb = HashEmbedder()
    async with EmbeddingBatcher(emb, max_batch_size=4, max_wait_s=0.5, count_tokens_in_thread=False,
                                registry=CollectorRegistry()) as b:
        tasks = []
        for i in range(4):
            tasks.append(asyncio.create_task(b.embed([f"late {i}"])))
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        await asyncio.gather(*tasks)
        assert time.monotonic() - t0 < 0.4  # a full batch does not wait out the timer
    assert len(emb.batches) == 1 and len(emb.batches[0]) == 4


@async_test
async def test_batchers_can_share_or_own_registries() -> None:
    shared = CollectorRegistry()
    a, b = (EmbeddingBatcher(HashEmbedder(), registry=shared) for _ in range(2))
    c = EmbeddingBatcher(HashEmbedder(), registry=CollectorRegistry())
    for x in (a, b, c):
        await x.start()
    await asyncio.gather(a.embed(["x"]), b.embed(["y", "z"]), c.embed(["w"]))
    for x in (a, b, c):
        await x.stop()
    assert shared.get_sample_value("assay_inference_texts_total") == 3
    assert shared.get_sample_value("assay_inference_queue_depth") == 0


# ---------------------------------------------------------------- tokenize once, cache above the queue


class TokenizingEmbedder(HashEmbedder):
    """A model double with its own tokenizer: the model only accepts encodings it produced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokenized: list[str] = []
        self.consumed: list[Encoding] = []

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        self.tokenized.extend(texts)
        out = []
        for t in texts:
            ids = np.arange(len(t.split()) + 2, dtype=np.int64)
            out.append(Encoding(t, min(len(ids), self.max_tokens), len(ids) > self.max_tokens, ids[: self.max_tokens]))
        return out

    def embed_encoded(self, encodings: Sequence[Encoding]) -> np.ndarray:
        assert all(e.ids is not None for e in encodings), "the model got text it must tokenize again"
        self.consumed.extend(encodings)
        return super().embed([e.text for e in encodings])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        raise AssertionError("counting tokens separately means tokenizing twice")


class MemoryCache:
    """Double of the Redis VectorCache (same methods), in memory."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], np.ndarray] = {}
        self.lookups: list[list[str]] = []

    def get_many(self, variant: ModelVariant, texts: Sequence[str]) -> tuple[list[np.ndarray | None], bool]:
        self.lookups.append(list(texts))
        return [self.store.get((variant.id, t)) for t in texts], True

    def put_many(self, variant: ModelVariant, texts: Sequence[str], vectors: np.ndarray) -> None:
        for t, v in zip(texts, vectors):
            self.store[(variant.id, t)] = np.array(v)


@async_test
async def test_each_text_is_tokenized_once_and_the_model_gets_the_encodings() -> None:
    emb = TokenizingEmbedder(max_tokens=8)
    texts = [words(n, f"t{n}_") for n in (1, 3, 7, 12, 30)]
    async with EmbeddingBatcher(emb, max_batch_tokens=64, max_batch_size=4, registry=CollectorRegistry()) as b:
        results = await asyncio.gather(*(b.embed([t]) for t in texts), b.embed(texts[:2]))
        stats = b.stats()
    for t, r in zip(texts, results):
        np.testing.assert_array_equal(r[0], vec(t))
    assert sorted(emb.tokenized) == sorted(texts + texts[:2])  # once per text per request, never again
    assert sorted(e.text for e in emb.consumed) == sorted(emb.tokenized)
    assert stats["truncated_texts"] == 3  # 7, 12 and 30 words (+2 special tokens): over 8
    for batch in emb.batches:  # the budget counts the encodings' (truncated) lengths
        assert len(batch) == 1 or max(min(len(t.split()) + 2, 8) for t in batch) * len(batch) <= 64


@async_test
async def test_pre_tokenized_encodings_are_not_tokenized_again() -> None:
    emb = TokenizingEmbedder()
    async with EmbeddingBatcher(emb, registry=CollectorRegistry()) as b:
        encodings = await b.tokenize(["first text", "second text here"])
        out = await b.embed([encodings[0], "a plain string", encodings[1]])
    np.testing.assert_array_equal(out, expected(["first text", "a plain string", "second text here"]))
    assert emb.tokenized == ["first text", "second text here", "a plain string"]
    assert emb.consumed[0] is encodings[0] or emb.consumed[1] is encodings[0]


@async_test
async def test_cache_hits_are_answered_before_the_queue() -> None:
    gate = threading.Event()
    emb = TokenizingEmbedder(gate=gate)
    cache = MemoryCache()
    reg = CollectorRegistry()
    async with EmbeddingBatcher(emb, max_queue=1, max_batch_size=1, registry=reg,
                                cache=cache) as b:  # type: ignore[arg-type]
        gate.set()
        first = await b.embed(["alpha", "beta"])
        await until(lambda: len(cache.store) == 2)  # written in the background
        gate.clear()
        emb.entered.clear()
        busy = asyncio.create_task(b.embed(["busy"]))  # the model blocks on it ...
        await until(emb.entered.is_set)
        full = asyncio.create_task(b.embed(["waiting"]))  # ... and this one fills the queue
        await until(lambda: b.queue_depth() == 1)
        assert b.is_overloaded()  # the queue is full ...
        hits = await asyncio.wait_for(b.embed(["beta", "alpha", "beta"]), 2)  # ... yet hits need no space in it
        assert b.queue_depth() == 1
        gate.set()
        await asyncio.gather(busy, full)
        mixed = await b.embed(["alpha", "gamma"])
        stats = b.stats()
    np.testing.assert_array_equal(first, expected(["alpha", "beta"]))
    np.testing.assert_array_equal(hits, expected(["beta", "alpha", "beta"]))
    np.testing.assert_array_equal(mixed, expected(["alpha", "gamma"]))
    assert emb.tokenized == ["alpha", "beta", "busy", "waiting", "gamma"]  # hits are never tokenized
    assert stats["cached_texts"] == 4 and stats["texts"] == 5
    assert reg.get_sample_value("assay_inference_texts_total") == 5


@async_test
async def test_a_cached_embedder_is_unwrapped_so_its_cache_sits_above_the_queue() -> None:
    from inference.cache import CachedEmbedder

    emb = TokenizingEmbedder()
    cached = CachedEmbedder.__new__(CachedEmbedder)  # no Redis: the in-memory double as its cache
    cached.inner, cached.cache = emb, MemoryCache()  # type: ignore[assignment]
    async with EmbeddingBatcher(cached, registry=CollectorRegistry()) as b:
        await b.embed(["one", "two"])
        await until(lambda: len(cached.cache.store) == 2)  # type: ignore[attr-defined]
        out = await b.embed(["two", "one"])
    np.testing.assert_array_equal(out, expected(["two", "one"]))
    assert len(emb.batches) == 1 and emb.tokenized == ["one", "two"]


@async_test
async def test_a_text_repeated_in_one_request_is_embedded_once() -> None:
    emb = TokenizingEmbedder()
    async with EmbeddingBatcher(emb, registry=CollectorRegistry()) as b:
        texts = ["def __init__(self): pass", "other", "def __init__(self): pass", "other", "third"]
        out = await b.embed(texts)
        stats = b.stats()
    np.testing.assert_array_equal(out, expected(texts))
    assert sorted(emb.tokenized) == ["def __init__(self): pass", "other", "third"]
    assert stats["repeated_texts"] == 2 and stats["texts"] == 3
