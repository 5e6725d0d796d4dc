"""Optional Redis cache of embedding vectors, above the batcher or in front of any Embedder.

Re-processing (replays, retries, duplicate chunks across documents) embeds the same texts again;
a shared cache turns those into one MGET. Keys are ``assay:emb:<variant id>:<sha256(text)>``
so vectors of different models/precisions never mix; values are raw float32 bytes with a TTL.

The cache is an optimisation only: if Redis is down or slow, embedding goes on without it
(one warning per outage) and the connection is retried at most every ``retry_s`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from typing import Callable, Sequence

import numpy as np
import redis
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from infra.settings import RedisSettings

from .base import Embedder, Encoding, ModelVariant

__all__ = ["CachedEmbedder", "VectorCache", "wrap_with_cache", "KEY_PREFIX"]

log = logging.getLogger(__name__)

KEY_PREFIX = "assay:emb:"


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.hits = Counter("assay_inference_cache_hits", "Texts whose vector came from the cache", registry=registry)
        self.misses = Counter("assay_inference_cache_misses", "Texts the cache did not have (embedded)",
                              registry=registry)


_METRICS: "weakref.WeakKeyDictionary[CollectorRegistry, _Metrics]" = weakref.WeakKeyDictionary()
_METRICS_LOCK = threading.Lock()


def _metrics_for(registry: CollectorRegistry) -> _Metrics:
    # Several cached embedders may share a registry: create the collectors once, never re-register.
    with _METRICS_LOCK:
        if registry not in _METRICS:
            _METRICS[registry] = _Metrics(registry)
        return _METRICS[registry]


class VectorCache:
    """Redis store of vectors by (variant, text): one MGET per lookup, one pipelined SET EX per store.

    Failure-tolerant: a Redis error marks the cache unavailable for ``retry_s`` seconds (one
    warning per outage) and lookups answer "miss" meanwhile. Thread-safe.
    """

    def __init__(self, url: str, ttl_s: int, *, retry_s: float = 30.0, timeout_s: float = 0.5,
                 registry: CollectorRegistry | None = None) -> None:
        self.ttl_s = int(ttl_s)
        self.retry_s = retry_s
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                            health_check_interval=30)
        self._url_for_logs = url.split("@")[-1]  # never log a password in the URL
        self._m = _metrics_for(registry if registry is not None else REGISTRY)
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic time before which Redis is not tried again
        self._warned = False  # one warning per outage
        self._hits = self._misses = self._errors = 0

    @staticmethod
    def key(variant: ModelVariant, text: str) -> str:
        return f"{KEY_PREFIX}{variant.id}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"

    def get_many(self, variant: ModelVariant, texts: Sequence[str]) -> tuple[list[np.ndarray | None], bool]:
        """The cached vector of each text (or None), and whether Redis answered (worth storing the
        misses: a call then pays for at most one Redis failure). Counts hits and misses; never
        raises for Redis."""
        found: list[np.ndarray | None] = [None] * len(texts)
        reachable = False
        if texts and self._usable():
            try:
                values = self._client.mget([self.key(variant, t) for t in texts])
            except redis.RedisError as e:
                self._failed(e)
            else:
                self._recovered()
                reachable = True
                size = 4 * variant.dim
                found = [np.frombuffer(v, dtype="<f4") if v is not None and len(v) == size else None for v in values]
        hits = sum(1 for v in found if v is not None)
        self._count(hits, len(texts) - hits)
        return found, reachable

    def put_many(self, variant: ModelVariant, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors (with the TTL); skipped while Redis is unavailable. Never raises for Redis."""
        if not texts or not self._usable():
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for text, vec in zip(texts, vectors):
                pipe.set(self.key(variant, text), np.asarray(vec, dtype="<f4").tobytes(), ex=self.ttl_s)  # SET EX
            pipe.execute()
        except redis.RedisError as e:
            self._failed(e)
            return
        self._recovered()

    def stats(self) -> dict[str, float | bool]:
        with self._lock:
            total = self._hits + self._misses
            return {"hits": self._hits, "misses": self._misses, "errors": self._errors,
                    "hit_ratio": self._hits / total if total else 0.0,
                    "available": time.monotonic() >= self._down_until}

    def close(self) -> None:
        self._client.close()

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
            self._down_until = time.monotonic() + self.retry_s
            first, self._warned = not self._warned, True
        if first:
            log.warning("embedding cache: Redis at %s unavailable (%s: %s); embedding without the cache, "
                        "retrying at most every %.0fs", self._url_for_logs, type(exc).__name__, exc, self.retry_s)
        else:
            log.debug("embedding cache: Redis still unavailable: %s", exc)

    def _recovered(self) -> None:
        if self._warned:
            with self._lock:
                was, self._warned = self._warned, False
            if was:
                log.info("embedding cache: Redis at %s reachable again", self._url_for_logs)

    def _count(self, hits: int, misses: int) -> None:
        with self._lock:
            self._hits += hits
            self._misses += misses
        if hits:
            self._m.hits.inc(hits)
        if misses:
            self._m.misses.inc(misses)


class CachedEmbedder(Embedder):
    """``inner`` behind a :class:`VectorCache`, for blocking callers.

    ``embed`` = one MGET, the model for the misses only, one pipelined SET EX. An
    :class:`~inference.batcher.EmbeddingBatcher` given a CachedEmbedder lifts ``cache`` above its
    queue and batches ``inner`` only, so hits never take queue space or token budget.
    """

    def __init__(self, inner: Embedder, url: str, ttl_s: int, *, retry_s: float = 30.0, timeout_s: float = 0.5,
                 registry: CollectorRegistry | None = None) -> None:
        self.inner = inner
        self.cache = VectorCache(url, ttl_s, retry_s=retry_s, timeout_s=timeout_s, registry=registry)

    # Delegation: properties, so a lazily-discovering inner embedder (remote) stays lazy.
    @property
    def variant(self) -> ModelVariant:  # type: ignore[override]
        return self.inner.variant

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self.inner.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        return self.inner.tokenize(texts)

    def key(self, text: str) -> str:
        return self.cache.key(self.variant, text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), self.inner.embed)

    def embed_encoded(self, encodings: Sequence[Encoding]) -> np.ndarray:
        encodings = list(encodings)
        by_text = {e.text: e for e in encodings}
        return self._embed([e.text for e in encodings],
                           lambda todo: self.inner.embed_encoded([by_text[t] for t in todo]))

    def _embed(self, texts: list[str], embed_missing: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        variant = self.variant
        out = np.empty((len(texts), variant.dim), dtype=np.float32)
        if not texts:
            return out
        found, reachable = self.cache.get_many(variant, texts)
        missing: dict[str, list[int]] = {}  # text -> rows; duplicates in one call are embedded once
        for i, vec in enumerate(found):
            if vec is None:
                missing.setdefault(texts[i], []).append(i)
            else:
                out[i] = vec
        if missing:
            todo = list(missing)
            vectors = np.asarray(embed_missing(todo), dtype=np.float32)
            for text, vec in zip(todo, vectors):
                out[missing[text]] = vec
            if reachable:
                self.cache.put_many(variant, todo, vectors)
        return out

    def stats(self) -> dict[str, float | bool]:
        return self.cache.stats()

    def close(self) -> None:
        try:
            self.cache.close()
        finally:
            self.inner.close()


def wrap_with_cache(embedder: Embedder, redis_settings: RedisSettings, *,
                    registry: CollectorRegistry | None = None) -> Embedder:
    """``embedder`` behind the Redis cache, or unchanged when no Redis URL is configured."""
    if not redis_settings.url:
        return embedder
    return CachedEmbedder(embedder, redis_settings.url, redis_settings.ttl_s, retry_s=redis_settings.retry_s,
                          registry=registry)
