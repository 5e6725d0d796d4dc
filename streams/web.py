"""The worker's HTTP API: liveness, readiness, stats, semantic search and Prometheus metrics.

The embedded Qdrant Edge store belongs to the worker process that indexes, so ``assay search``
asks a running worker through this API instead of opening the store itself.

* ``GET /health``: liveness, 200 while the process answers;
* ``GET /ready``: 200 when partitions are assigned, the store and models are loaded and no agent
  is stalled, waiting on an outage or crashed; 503 with the reasons otherwise;
* ``GET /stats``: what the live page shows (:func:`stats_body`), as JSON;
* ``GET /search``: semantic search (``q``, ``k``, filters; ``ef`` = HNSW beam width, ``exact=true``
  = full scan); each one is timed and published as a ``query`` metric event.

The live page (``/``, ``/dashboard``, ``/events``) is in :mod:`streams.live_page`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable

import faust
import numpy as np
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from infra.errors import StoreError
from infra.qdrant.base import SearchFilter, SearchParams, VectorStore
from processors.live import LiveStats
from schemas.metrics import QueryMetric
from streams.health import WorkerHealth


@dataclass
class WebContext:
    """What the API reads; ``store`` is None where this worker does not hold one (compute role, Edge)."""

    worker: str
    role: str
    health: WorkerHealth
    embedding_variant: str
    embed_query: Callable[[str], Any]  # async: text → vector
    quality_version: Callable[[], str | None]
    store: VectorStore | None = None
    live: LiveStats | None = None
    on_query: Callable[[QueryMetric], None] | None = None  # publishes the search's metric event


async def stats_body(ctx: WebContext) -> dict[str, Any]:
    """The worker's numbers: models, readiness, lag, points, and the live totals and rates (times in s)."""
    count = await asyncio.to_thread(ctx.store.count, None) if ctx.store is not None else None
    verdict = ctx.health.evaluate()
    lag = {f"{t}[{p}]": n for (t, p), n in sorted(ctx.health.lag.items())}
    body: dict[str, Any] = {
        "points": count, "embedding": ctx.embedding_variant, "quality": ctx.quality_version(),
        "worker": ctx.worker, "role": ctx.role, "ready": verdict.ready, "reasons": list(verdict.reasons),
        "lag": {"total": sum(lag.values()), "partitions": lag}, "emitted_at": time.time(),
    }
    if ctx.live is not None:
        body.update(ctx.live.snapshot())
    return body


def search_filter(type_: str | None = None, min_quality: float | None = None, language: str | None = None,
                  set_id: str | None = None, kind: str | None = None, source_id: str | None = None) -> SearchFilter:
    fields = {"doc_type": type_, "language": language, "set_id": set_id, "kind": kind, "source_id": source_id}
    equals = {k: v for k, v in fields.items() if v}
    return SearchFilter(equals=equals, min_quality=min_quality)


def search_params(ef: str | None = None, exact: str | None = None) -> SearchParams | None:
    """``ef`` and ``exact`` as given in a query string (``exact``: 1/true/yes); ``None`` when neither is set.

    Raises:
        ValueError: ``ef`` is not an integer or ``exact`` not a boolean word.
        StoreError: ``ef`` out of range.
    """
    if not ef and not exact:
        return None
    flag = (exact or "false").strip().lower()
    if flag not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"exact must be true or false, got {exact!r}")
    return SearchParams(hnsw_ef=int(ef) if ef else None, exact=flag in ("1", "true", "yes"))


async def run_search(ctx: WebContext, query: str, k: int, flt: SearchFilter,
                     params: SearchParams | None = None) -> list[dict[str, Any]]:
    assert ctx.store is not None
    vector: np.ndarray = await ctx.embed_query(query)
    hits = await asyncio.to_thread(ctx.store.search, vector.tolist(), k, flt, params)
    return [{"id": h.id, "score": h.score, "payload": h.payload} for h in hits]


def register_web(app: faust.App, ctx: WebContext) -> None:
    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "worker": ctx.worker, "role": ctx.role})

    @app.page("/ready")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            verdict = ctx.health.evaluate()
            body = {"ready": verdict.ready, "reasons": list(verdict.reasons), "worker": ctx.worker, "role": ctx.role,
                    "assigned": sorted(f"{t}[{p}]" for t, p in ctx.health.assigned)}
            return self.json(body, status=200 if verdict.ready else 503)

    @app.page("/stats")
    class Stats(View):
        async def get(self, request: Request) -> Response:
            return self.json(await stats_body(ctx))

    @app.page("/search")
    class Search(View):
        async def get(self, request: Request) -> Response:
            if ctx.store is None:
                return self.json({"error": f"this worker ({ctx.role} role) holds no vector store; ask an index "
                                           "worker, or set ASSAY_QDRANT_URL"}, status=503)
            q = request.query.get("q", "").strip()
            if not q:
                return self.json({"error": "query parameter 'q' is required"}, status=400)
            try:
                k = int(request.query.get("k", "10"))
                min_q = request.query.get("min_quality")
                flt = search_filter(request.query.get("type"), float(min_q) if min_q else None,
                                    request.query.get("language"), request.query.get("set_id"),
                                    request.query.get("kind"), request.query.get("source_id"))
                params = search_params(request.query.get("ef"), request.query.get("exact"))
            except (ValueError, StoreError) as exc:
                return self.json({"error": f"bad parameter: {exc}"}, status=400)
            if not 1 <= k <= 1000:
                return self.json({"error": "k must be between 1 and 1000"}, status=400)
            started = time.perf_counter()
            hits = await run_search(ctx, q, k, flt, params)
            if ctx.on_query is not None:
                ctx.on_query(QueryMetric(took_s=round(time.perf_counter() - started, 6), hits=len(hits), k=k,
                                         worker=ctx.worker, emitted_at=time.time()))
            return self.json({"query": q, "hits": hits})

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
