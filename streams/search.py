"""``assay search``: ask the running worker (it owns the embedded store), else open the store here."""

from __future__ import annotations

from typing import Any

import httpx

from infra.errors import AssayError
from infra.qdrant.base import SearchParams
from infra.settings import Settings


def search_patterns(settings: Settings, text: str, *, k: int = 10, type_: str | None = None,
                    min_quality: float | None = None, language: str | None = None,
                    set_id: str | None = None, kind: str | None = None,
                    params: SearchParams | None = None) -> list[dict[str, Any]]:
    from streams.web_auth import auth_headers
    from streams.worker import worker_url

    url = worker_url(settings.data_dir)
    if url:
        query: dict[str, Any] = {"q": text, "k": k}
        if type_:
            query["type"] = type_
        if min_quality is not None:
            query["min_quality"] = min_quality
        if language:
            query["language"] = language
        if set_id:
            query["set_id"] = set_id
        if kind:
            query["kind"] = kind
        if params is not None and params.hnsw_ef is not None:
            query["ef"] = params.hnsw_ef
        if params is not None and params.exact:
            query["exact"] = "true"
        try:
            resp = httpx.get(f"{url}/search", params=query, headers=auth_headers(settings), timeout=60)
        except httpx.HTTPError as exc:
            raise AssayError(f"worker API at {url} did not answer: {exc}") from exc
        if resp.status_code != 200:
            raise AssayError(f"worker API: {resp.status_code} {resp.text}")
        return resp.json()["hits"]
    return _search_locally(settings, text, k, type_, min_quality, language, set_id, kind, params)


def _search_locally(settings: Settings, text: str, k: int, type_: str | None, min_quality: float | None,
                    language: str | None, set_id: str | None, kind: str | None,
                    params: SearchParams | None) -> list[dict[str, Any]]:
    from inference.factory import create_embedder
    from infra.qdrant.factory import open_store
    from streams.web import search_filter

    embedder = create_embedder(settings.inference, settings.models_dir)
    store = open_store(settings, embedder.variant.dim, embedder.variant.id)
    try:
        vector = embedder.embed([text])[0]
        hits = store.search(vector.tolist(), k, search_filter(type_, min_quality, language, set_id, kind), params)
        return [{"id": h.id, "score": h.score, "payload": h.payload} for h in hits]
    finally:
        store.close()
