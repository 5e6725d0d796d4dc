"""The worker's loopback HTTP API: health, stats, semantic search and Prometheus metrics.

The embedded Qdrant Edge store belongs to the worker process, so ``assay search`` asks the
running worker through this API instead of opening the store itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from infra.qdrant.base import SearchFilter
from streams.runtime import PipelineRuntime


def search_filter(type_: str | None = None, min_quality: float | None = None, language: str | None = None,
                  set_id: str | None = None, kind: str | None = None, source_id: str | None = None) -> SearchFilter:
    fields = {"doc_type": type_, "language": language, "set_id": set_id, "kind": kind, "source_id": source_id}
    equals = {k: v for k, v in fields.items() if v}
    return SearchFilter(equals=equals, min_quality=min_quality)


async def run_search(runtime: PipelineRuntime, query: str, k: int, flt: SearchFilter) -> list[dict[str, Any]]:
    vector = (await runtime.embedder.embed([query]))[0]
    hits = await asyncio.to_thread(runtime.store.search, vector.tolist(), k, flt)
    return [{"id": h.id, "score": h.score, "payload": h.payload} for h in hits]


def register_web(app: faust.App, runtime: PipelineRuntime) -> None:
    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "worker": runtime.worker})

    @app.page("/stats")
    class Stats(View):
        async def get(self, request: Request) -> Response:
            count = await asyncio.to_thread(runtime.store.count, None)
            return self.json({"points": count, "embedding": runtime.embedding_variant,
                              "quality": runtime.quality.model_version, "worker": runtime.worker})

    @app.page("/search")
    class Search(View):
        async def get(self, request: Request) -> Response:
            q = request.query.get("q", "").strip()
            if not q:
                return self.json({"error": "query parameter 'q' is required"}, status=400)
            try:
                k = int(request.query.get("k", "10"))
                min_q = request.query.get("min_quality")
                flt = search_filter(request.query.get("type"), float(min_q) if min_q else None,
                                    request.query.get("language"), request.query.get("set_id"),
                                    request.query.get("kind"), request.query.get("source_id"))
            except ValueError as exc:
                return self.json({"error": f"bad parameter: {exc}"}, status=400)
            if not 1 <= k <= 1000:
                return self.json({"error": "k must be between 1 and 1000"}, status=400)
            return self.json({"query": q, "hits": await run_search(runtime, q, k, flt)})

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
