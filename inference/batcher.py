"""Dynamic batching in front of one Embedder, shared by many concurrent async callers.

Design (TEI / infinity style): callers' requests are split into per-text items that wait in
one bounded queue owned by one worker task. Whenever the model is free the worker forms the
next batch from what is waiting, so there is no fixed timer while busy; batches grow by
themselves under load. Items are grouped by token length to cut padding, and the batch is
capped by a token budget that counts padding (``longest × count``), which is what the model
actually pays for. The model runs in a dedicated single thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from inference.base import Embedder
from infra.errors import InferenceError
from infra.settings import InferenceSettings

__all__ = ["EmbeddingBatcher"]


class _Metrics:
    """Prometheus metrics for all batchers on one registry (created once per registry)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        p = "assay_inference_"
        self.queue_depth = Gauge(p + "queue_depth", "Texts waiting for the model", registry=registry)
        self.batch_size = Histogram(p + "batch_size", "Texts per model batch", registry=registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.batch_tokens = Histogram(p + "batch_tokens", "Padded tokens (longest x count) per batch",
                                      registry=registry, buckets=(64, 256, 1024, 2048, 4096, 8192, 16384, 32768))
        self.padding_ratio = Histogram(p + "padding_ratio", "Share of a batch's token slots that is padding",
                                       registry=registry, buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0))
        self.phase_seconds = Histogram(p + "phase_seconds", "Time per phase (tokenize, model, post)", ["phase"],
                                       registry=registry,
                                       buckets=(0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.requests = Counter(p + "requests", "embed() requests", registry=registry)
        self.texts = Counter(p + "texts", "Texts embedded or queued", registry=registry)
        self.truncated = Counter(p + "truncated_texts", "Texts longer than the model's max_tokens", registry=registry)
        self.failed_batches = Counter(p + "failed_batches", "Model batches that raised", registry=registry)


_METRICS: "weakref.WeakKeyDictionary[CollectorRegistry, _Metrics]" = weakref.WeakKeyDictionary()


def _metrics_for(registry: CollectorRegistry) -> _Metrics:
    # Several batchers may share a registry (e.g. the default one): reuse, never re-register.
    if registry not in _METRICS:
        _METRICS[registry] = _Metrics(registry)
    return _METRICS[registry]


@dataclass(eq=False)
class _Request:
    """One embed() call; rows are filled in as its items come back from (possibly several) batches."""

    future: asyncio.Future[np.ndarray]
    out: np.ndarray
    remaining: int


@dataclass(eq=False)
class _Item:
    request: _Request
    row: int
    text: str
    tokens: int  # after truncation to the embedder's max_tokens: what the model will see
    seq: int = field(default=0)  # arrival order, for age fairness


class EmbeddingBatcher:
    """Async front of one Embedder: ``await batcher.embed(texts)`` from any number of tasks."""

    def __init__(self, embedder: Embedder, *, max_batch_tokens: int = 8192, max_batch_size: int = 64,
                 max_queue: int = 4096, max_wait_s: float = 0.0, count_tokens_in_thread: bool | None = None,
                 max_padding: float = 0.5, registry: CollectorRegistry | None = None) -> None:
        if max_batch_tokens < 1 or max_batch_size < 1 or max_queue < 1 or max_wait_s < 0:
            raise ValueError("batch limits and max_queue must be >= 1, max_wait_s >= 0")
        if not 0.0 <= max_padding < 1.0:
            raise ValueError("max_padding must be in [0, 1)")
        self._embedder = embedder
        self._max_batch_tokens = max_batch_tokens
        self._max_batch_size = max_batch_size
        # A budget alone lets a few waiting texts of very different lengths share one batch, and
        # the short ones then pay for the long one's padding (measured: 2.8x CPU per text for
        # onnx fp32 at 82% padding). Cap the padded share; the rest forms the next batch.
        self._max_padding = max_padding
        self._max_queue = max_queue
        self._max_wait_s = max_wait_s
        # A real tokenizer costs ~10-30 ms per 64 texts (too long to block the loop); the base
        # len//4 heuristic costs microseconds, less than a thread hop (~80 us). Auto-pick.
        if count_tokens_in_thread is None:
            count_tokens_in_thread = type(embedder).count_tokens is not Embedder.count_tokens
        self._tokenize_in_thread = count_tokens_in_thread
        self._m = _metrics_for(registry if registry is not None else REGISTRY)
        self._waiting: list[_Item] = []
        self._cond: asyncio.Condition | None = None
        self._worker: asyncio.Task[None] | None = None
        self._model_pool: ThreadPoolExecutor | None = None
        self._tok_pool: ThreadPoolExecutor | None = None
        self._accepting = False  # new embed() calls admitted
        self._failing = False  # stop(): reject whatever has not reached the queue yet
        self._outstanding: set[asyncio.Future[np.ndarray]] = set()  # admitted calls, for drain
        self._blocked = 0  # callers waiting for queue space
        self._seq = 0
        self._n_requests = self._n_texts = self._n_batches = self._n_truncated = self._n_failed = 0
        self._slot_tokens = self._real_tokens = 0

    @classmethod
    def from_settings(cls, embedder: Embedder, settings: InferenceSettings, **kwargs: Any) -> "EmbeddingBatcher":
        return cls(embedder, max_batch_tokens=settings.max_batch_tokens, max_batch_size=settings.max_batch_size,
                   max_queue=settings.max_queue, max_padding=settings.max_padding, **kwargs)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._worker is not None:
            return
        self._accepting, self._failing = True, False
        self._cond = asyncio.Condition()
        self._model_pool = ThreadPoolExecutor(1, thread_name_prefix="assay-model")
        if self._tokenize_in_thread:
            self._tok_pool = ThreadPoolExecutor(1, thread_name_prefix="assay-tokenize")
        self._worker = asyncio.create_task(self._run(), name="assay-embedding-batcher")

    async def stop(self, drain: bool = False, timeout: float | None = None) -> None:
        """Stop accepting calls; with ``drain`` let every admitted call finish (up to ``timeout``),
        then fail whatever is left (queued, being tokenized or in the model) with InferenceError."""
        if self._worker is None or self._cond is None:
            return
        self._accepting = False
        if drain and self._outstanding:
            await asyncio.wait(set(self._outstanding), timeout=timeout)
        self._failing = True
        async with self._cond:
            self._cond.notify_all()  # callers blocked on queue space give up
        worker = self._worker
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        self._fail_waiting("embedding batcher stopped")
        for pool in (self._model_pool, self._tok_pool):
            if pool is not None:  # running calls finish in the background; never cancel a
                pool.shutdown(wait=False)  # caller's executor future (it would see CancelledError)
        self._worker = self._model_pool = self._tok_pool = None

    async def __aenter__(self) -> "EmbeddingBatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(drain=exc[0] is None)

    # ---------------------------------------------------------------- public API

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 (len(texts), dim) in request order.
        Waits while the queue is full (backpressure); raises InferenceError on failure."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single str")
        dim = self._embedder.variant.dim
        if not texts:
            return np.empty((0, dim), dtype=np.float32)
        if not self._accepting:
            raise InferenceError("embedding batcher is not running", transient=True)
        texts = list(texts)
        self._m.requests.inc()
        self._n_requests += 1
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._outstanding.add(future)
        future.add_done_callback(self._outstanding.discard)
        req: _Request | None = None
        try:
            tokens = await self._count_tokens(texts)
            limit = self._embedder.max_tokens
            truncated = sum(1 for t in tokens if t > limit)
            if truncated:
                self._m.truncated.inc(truncated)
                self._n_truncated += truncated
            req = _Request(future, np.empty((len(texts), dim), dtype=np.float32), len(texts))
            await self._enqueue([_Item(req, i, t, max(1, min(n, limit)))
                                 for i, (t, n) in enumerate(zip(texts, tokens))])
            return await future  # cancelling the caller cancels this future too
        finally:
            if not future.done():
                future.cancel()
            if req is not None and req.remaining:  # cancelled or failed: free its queue space now
                await self._discard(req)

    def is_overloaded(self) -> bool:
        """True when the queue is full or callers are waiting for space (HTTP: answer 429)."""
        return len(self._waiting) >= self._max_queue or self._blocked > 0

    def queue_depth(self) -> int:
        return len(self._waiting)

    def stats(self) -> dict[str, float]:
        """Cumulative counters for the pipeline's metric events."""
        return {
            "requests": self._n_requests,
            "texts": self._n_texts,
            "batches": self._n_batches,
            "mean_batch_size": self._n_texts / self._n_batches if self._n_batches else 0.0,
            "padding_ratio": 1 - self._real_tokens / self._slot_tokens if self._slot_tokens else 0.0,
            "truncated_texts": self._n_truncated,
            "failed_batches": self._n_failed,
            "queue_depth": len(self._waiting),
        }

    # ---------------------------------------------------------------- caller side

    async def _count_tokens(self, texts: list[str]) -> list[int]:
        t0 = time.perf_counter()
        try:
            if self._tok_pool is not None:
                loop = asyncio.get_running_loop()
                tokens = await loop.run_in_executor(self._tok_pool, self._embedder.count_tokens, texts)
            else:
                tokens = self._embedder.count_tokens(texts)
        except Exception as exc:
            raise InferenceError(f"count_tokens failed: {exc!r}") from exc
        self._m.phase_seconds.labels("tokenize").observe(time.perf_counter() - t0)
        if len(tokens) != len(texts):
            raise InferenceError(f"count_tokens returned {len(tokens)} counts for {len(texts)} texts")
        return list(tokens)

    async def _enqueue(self, items: list[_Item]) -> None:
        """Add items as space frees up; a request larger than the queue goes in in chunks."""
        assert self._cond is not None
        pos = 0
        async with self._cond:
            while pos < len(items):
                if self._failing:
                    raise InferenceError("embedding batcher stopped", transient=True)
                space = self._max_queue - len(self._waiting)
                if space <= 0:
                    self._blocked += 1
                    try:
                        await self._cond.wait()
                    finally:
                        self._blocked -= 1
                    continue
                chunk = items[pos:pos + space]
                for it in chunk:
                    it.seq, self._seq = self._seq, self._seq + 1
                self._waiting.extend(chunk)
                self._m.queue_depth.inc(len(chunk))
                pos += len(chunk)
                self._cond.notify_all()

    async def _discard(self, req: _Request) -> None:
        """Drop a cancelled caller's queued items now, so they free queue space at once."""
        if self._cond is None:
            return
        async with self._cond:
            self._set_waiting([it for it in self._waiting if it.request is not req])

    # ---------------------------------------------------------------- worker side

    def _set_waiting(self, items: list[_Item]) -> None:
        removed = len(self._waiting) - len(items)
        self._waiting = items
        if removed:
            self._m.queue_depth.dec(removed)
            assert self._cond is not None
            self._cond.notify_all()

    async def _run(self) -> None:
        try:
            await self._loop()
        except Exception as exc:  # a bug here must not leave callers hanging forever
            self._accepting, self._failing = False, True
            self._fail_waiting(f"embedding batcher crashed: {exc!r}")
            raise

    async def _loop(self) -> None:
        assert self._cond is not None
        while True:
            async with self._cond:
                idle = not self._waiting
                while not self._waiting:
                    await self._cond.wait()
                if idle and self._max_wait_s > 0 and self._accepting:
                    await self._fill_wait()
                batch = self._take_batch()
            if batch:
                await self._process(batch)

    async def _fill_wait(self) -> None:
        """Only when idle: give a just-arrived batch a moment to fill (never while busy)."""
        assert self._cond is not None
        deadline = time.monotonic() + self._max_wait_s
        while len(self._waiting) < self._max_batch_size and self._accepting:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(self._cond.wait(), left)
            except asyncio.TimeoutError:
                break

    def _take_batch(self) -> list[_Item]:
        """The oldest live item anchors the batch (no starvation); among the oldest waiting
        items, those closest to it in token length join while longest × count fits the budget."""
        live = [it for it in self._waiting if not it.request.future.done()]  # skip cancelled/failed
        window = live[: 8 * self._max_batch_size]
        if not window:
            self._set_waiting(live)
            return []
        anchor, others = window[0], window[1:]
        others.sort(key=lambda it: (abs(it.tokens - anchor.tokens), it.seq))
        batch, longest, real = [anchor], anchor.tokens, anchor.tokens
        for it in others:
            if len(batch) >= self._max_batch_size:
                break
            new_longest = max(longest, it.tokens)
            slots = new_longest * (len(batch) + 1)
            if slots <= self._max_batch_tokens and 1 - (real + it.tokens) / slots <= self._max_padding:
                batch.append(it)
                longest, real = new_longest, real + it.tokens
        taken = set(map(id, batch))
        self._set_waiting([it for it in live if id(it) not in taken])
        batch.sort(key=lambda it: (it.tokens, it.seq))  # model sees it sorted by length
        return batch

    async def _process(self, batch: list[_Item]) -> None:
        assert self._model_pool is not None
        n, longest = len(batch), batch[-1].tokens
        real = sum(it.tokens for it in batch)
        self._m.batch_size.observe(n)
        self._m.batch_tokens.observe(longest * n)
        self._m.padding_ratio.observe(1 - real / (longest * n))
        self._m.texts.inc(n)
        self._n_batches += 1
        self._n_texts += n
        self._slot_tokens += longest * n
        self._real_tokens += real
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        try:
            try:
                vectors = await loop.run_in_executor(self._model_pool, self._embedder.embed, [it.text for it in batch])
                vectors = np.asarray(vectors, dtype=np.float32)
                if vectors.shape != (n, self._embedder.variant.dim):
                    raise ValueError(f"model returned shape {vectors.shape}, expected {(n, self._embedder.variant.dim)}")
            finally:
                self._m.phase_seconds.labels("model").observe(time.perf_counter() - t0)
        except asyncio.CancelledError:  # stop(): the caller side must not hang
            self._fail_items(batch, "embedding batcher stopped during a model call")
            raise
        except Exception as exc:
            self._m.failed_batches.inc()
            self._n_failed += 1
            self._fail_items(batch, f"embedding batch of {n} texts failed: {exc!r}", exc)
            return
        t1 = time.perf_counter()
        for it, vec in zip(batch, vectors):
            req = it.request
            if req.future.done():
                continue
            req.out[it.row] = vec
            req.remaining -= 1
            if req.remaining == 0:
                req.future.set_result(req.out)
        self._m.phase_seconds.labels("post").observe(time.perf_counter() - t1)

    @staticmethod
    def _fail_items(items: Sequence[_Item], message: str, cause: BaseException | None = None) -> None:
        for it in items:
            if not it.request.future.done():  # one fresh exception per request, chained to the cause
                err = InferenceError(message)
                err.__cause__ = cause
                it.request.future.set_exception(err)

    def _fail_waiting(self, message: str) -> None:
        items, self._waiting = self._waiting, []
        self._m.queue_depth.dec(len(items))
        self._fail_items(items, message)
