"""Dynamic batching in front of one Embedder, shared by many concurrent async callers.

Design (TEI / infinity style): a request's cache hits are answered before anything is queued
(the Redis :class:`~inference.cache.VectorCache`, when configured); the other texts are
tokenized once, in the caller's task, and wait as per-text encodings in one bounded queue owned
by one worker task; the model consumes those encodings, never the raw texts again. Whenever the
model is free the worker forms the next batch from what is waiting, so there is no fixed timer
while busy; batches grow by themselves under load. Items are grouped by token length to cut
padding, and the batch is capped by a token budget that counts padding (``longest × count``),
which is what the model actually pays for. The model runs in a dedicated single thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from inference.base import Embedder, Encoding
from inference.cache import CachedEmbedder, VectorCache
from infra.errors import InferenceError
from infra.settings import InferenceSettings

__all__ = ["EmbeddingBatcher"]

log = logging.getLogger(__name__)


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
    enc: Encoding  # tokenized once, by the caller's task
    seq: int = field(default=0)  # arrival order, for age fairness

    @property
    def tokens(self) -> int:  # after truncation to the embedder's max_tokens: what the model will see
        return self.enc.tokens


class EmbeddingBatcher:
    """Async front of one Embedder: ``await batcher.embed(texts)`` from any number of tasks.

    ``cache``: vectors answered before the queue. A :class:`~inference.cache.CachedEmbedder` given
    as ``embedder`` is unwrapped: its cache goes above the queue, its inner embedder below.
    ``count_tokens_in_thread``: tokenize off the event loop (default: when the embedder has a
    real tokenizer).
    """

    def __init__(self, embedder: Embedder, *, max_batch_tokens: int = 8192, max_batch_size: int = 64,
                 max_queue: int = 4096, max_wait_s: float = 0.0, count_tokens_in_thread: bool | None = None,
                 max_padding: float = 0.5, registry: CollectorRegistry | None = None,
                 cache: VectorCache | None = None) -> None:
        if max_batch_tokens < 1 or max_batch_size < 1 or max_queue < 1 or max_wait_s < 0:
            raise ValueError("batch limits and max_queue must be >= 1, max_wait_s >= 0")
        if not 0.0 <= max_padding < 1.0:
            raise ValueError("max_padding must be in [0, 1)")
        if isinstance(embedder, CachedEmbedder) and cache is None:
            embedder, cache = embedder.inner, embedder.cache
        self._embedder = embedder
        self._cache = cache
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
            kind = type(embedder)
            count_tokens_in_thread = (kind.count_tokens is not Embedder.count_tokens
                                      or kind.tokenize is not Embedder.tokenize)
        self._tokenize_in_thread = count_tokens_in_thread
        self._m = _metrics_for(registry if registry is not None else REGISTRY)
        self._waiting: list[_Item] = []
        self._cond: asyncio.Condition | None = None
        self._worker: asyncio.Task[None] | None = None
        self._model_pool: ThreadPoolExecutor | None = None
        self._tok_pool: ThreadPoolExecutor | None = None
        self._cache_pool: ThreadPoolExecutor | None = None  # blocking Redis calls
        self._stores: set[asyncio.Future[None]] = set()  # cache writes still running
        self._accepting = False  # new embed() calls admitted
        self._failing = False  # stop(): reject whatever has not reached the queue yet
        self._outstanding: set[asyncio.Future[np.ndarray]] = set()  # admitted calls, for drain
        self._blocked = 0  # callers waiting for queue space
        self._seq = 0
        self._n_requests = self._n_texts = self._n_batches = self._n_truncated = self._n_failed = 0
        self._n_cached = self._n_repeated = 0
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
        if self._cache is not None:
            self._cache_pool = ThreadPoolExecutor(1, thread_name_prefix="assay-cache")
        self._worker = asyncio.create_task(self._run(), name="assay-embedding-batcher")

    async def stop(self, drain: bool = False, timeout: float | None = None) -> None:
        """Stop accepting calls; with ``drain`` let every admitted call finish (up to ``timeout``),
        then fail whatever is left (queued, being tokenized or in the model) with InferenceError."""
        if self._worker is None or self._cond is None:
            return
        self._accepting = False
        if drain and self._outstanding:
            await asyncio.wait(set(self._outstanding), timeout=timeout)
        if drain and self._stores:
            await asyncio.wait(set(self._stores), timeout=timeout)
        self._failing = True
        async with self._cond:
            self._cond.notify_all()  # callers blocked on queue space give up
        worker = self._worker
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        self._fail_waiting("embedding batcher stopped")
        for pool in (self._model_pool, self._tok_pool, self._cache_pool):
            if pool is not None:  # running calls finish in the background; never cancel a
                pool.shutdown(wait=False)  # caller's executor future (it would see CancelledError)
        self._worker = self._model_pool = self._tok_pool = self._cache_pool = None

    async def __aenter__(self) -> "EmbeddingBatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(drain=exc[0] is None)

    # ---------------------------------------------------------------- public API

    async def embed(self, texts: Sequence[str | Encoding]) -> np.ndarray:
        """Embed ``texts`` (strings, or encodings from this embedder's ``tokenize``); returns float32
        (len(texts), dim) in request order. Cache hits never reach the queue; the rest is tokenized
        once (strings only) and queued. Waits while the queue is full (backpressure); raises
        InferenceError on failure."""
        if isinstance(texts, (str, Encoding)):
            raise TypeError("embed() takes a sequence of texts, not a single str")
        dim = self._embedder.variant.dim
        if not texts:
            return np.empty((0, dim), dtype=np.float32)
        if not self._accepting:
            raise InferenceError("embedding batcher is not running", transient=True)
        inputs = list(texts)
        self._m.requests.inc()
        self._n_requests += 1
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._outstanding.add(future)
        future.add_done_callback(self._outstanding.discard)
        req: _Request | None = None
        try:
            out = np.empty((len(inputs), dim), dtype=np.float32)
            rows, reachable = list(range(len(inputs))), False
            if self._cache is not None:
                rows, reachable = await self._from_cache(inputs, out)
                if not rows:
                    return out
            rows, copies = self._unique(inputs, rows)
            encodings = await self._tokenize([inputs[i] for i in rows])
            truncated = sum(1 for e in encodings if e.truncated)
            if truncated:
                self._m.truncated.inc(truncated)
                self._n_truncated += truncated
            req = _Request(future, out, len(rows))
            await self._enqueue([_Item(req, row, enc) for row, enc in zip(rows, encodings)])
            vectors = await future  # cancelling the caller cancels this future too
            for row, source in copies:
                vectors[row] = vectors[source]
            if reachable:
                self._store_later([e.text for e in encodings], vectors[rows])
            return vectors
        finally:
            if not future.done():
                future.cancel()
            if req is not None and req.remaining:  # cancelled or failed: free its queue space now
                await self._discard(req)

    async def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """The embedder's encodings of ``texts`` (off the event loop), to pass to :meth:`embed` later
        by a caller that needs the token ids itself too."""
        return await self._tokenize(list(texts))

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
            "cached_texts": self._n_cached,
            "repeated_texts": self._n_repeated,
            "failed_batches": self._n_failed,
            "queue_depth": len(self._waiting),
        }

    # ---------------------------------------------------------------- caller side

    def _unique(self, inputs: list[str | Encoding], rows: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
        """Rows of the first occurrence of each text, and (row, first row) for the repeats: a text
        repeated in one request (the same method in two files, say) is embedded once."""
        first: dict[str, int] = {}
        unique, copies = [], []
        for i in rows:
            x = inputs[i]
            j = first.setdefault(x if isinstance(x, str) else x.text, i)
            if j == i:
                unique.append(i)
            else:
                copies.append((i, j))
        self._n_repeated += len(copies)
        return unique, copies

    async def _from_cache(self, inputs: list[str | Encoding], out: np.ndarray) -> tuple[list[int], bool]:
        """Fill ``out`` with cached vectors; returns the rows still to embed and whether Redis answered."""
        assert self._cache_pool is not None and self._cache is not None
        texts = [x if isinstance(x, str) else x.text for x in inputs]
        loop = asyncio.get_running_loop()
        found, reachable = await loop.run_in_executor(self._cache_pool, self._cache.get_many,
                                                      self._embedder.variant, texts)
        rows = []
        for i, vec in enumerate(found):
            if vec is None:
                rows.append(i)
            else:
                out[i] = vec
        self._n_cached += len(inputs) - len(rows)
        return rows, reachable

    def _store_later(self, texts: list[str], vectors: np.ndarray) -> None:
        """Write fresh vectors to the cache without making the caller wait for Redis."""
        assert self._cache_pool is not None and self._cache is not None
        fut = asyncio.get_running_loop().run_in_executor(self._cache_pool, self._cache.put_many,
                                                         self._embedder.variant, texts, vectors)
        self._stores.add(fut)
        fut.add_done_callback(self._stored)

    def _stored(self, fut: asyncio.Future[None]) -> None:
        self._stores.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:  # Redis errors are handled inside
            log.warning("embedding cache write failed: %r", fut.exception())

    async def _tokenize(self, inputs: list[str | Encoding]) -> list[Encoding]:
        """Encodings for ``inputs``: strings are tokenized (once), encodings pass through."""
        raw = [i for i, x in enumerate(inputs) if isinstance(x, str)]
        if not raw:
            return inputs  # type: ignore[return-value]
        texts = [inputs[i] for i in raw]
        t0 = time.perf_counter()
        try:
            if self._tok_pool is not None:
                loop = asyncio.get_running_loop()
                encodings = await loop.run_in_executor(self._tok_pool, self._embedder.tokenize, texts)
            else:
                encodings = self._embedder.tokenize(texts)  # type: ignore[arg-type]
        except Exception as exc:
            raise InferenceError(f"tokenize failed: {exc!r}") from exc
        self._m.phase_seconds.labels("tokenize").observe(time.perf_counter() - t0)
        if len(encodings) != len(texts):
            raise InferenceError(f"tokenize returned {len(encodings)} encodings for {len(texts)} texts")
        out = list(inputs)
        for i, enc in zip(raw, encodings):
            out[i] = enc
        return out  # type: ignore[return-value]

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
                vectors = await loop.run_in_executor(self._model_pool, self._embedder.embed_encoded,
                                                     [it.enc for it in batch])
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
