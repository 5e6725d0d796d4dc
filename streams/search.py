"""``assay search``: ask the running worker (it owns the embedded store), else open the store here."""

from __future__ import annotations

from typing import Any

import httpx

from infra.errors import AssayError
from infra.settings import Settings


def search_patterns(settings: Settings, text: str, *, k: int = 10, type_: str | None = None,
                    min_quality: float | None = None, language: str | None = None,
                    set_id: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    from streams.web_auth import auth_headers
    from streams.worker import worker_url

    url = worker_url(settings.data_dir)
    if url:
        params: dict[str, Any] = {"q": text, "k": k}
        if type_:
            params["type"] = type_
        if min_quality is not None:
            params["min_quality"] = min_quality
        if language:
            params["language"] = language
        if set_id:
            params["set_id"] = set_id
        if kind:
            params["kind"] = kind
        try:
            resp = httpx.get(f"{url}/search", params=params, headers=auth_headers(settings), timeout=60)
        except httpx.HTTPError as exc:
            raise AssayError(f"worker API at {url} did not answer: {exc}") from exc
        if resp.status_code != 200:
            raise AssayError(f"worker API: {resp.status_code} {resp.text}")
        return resp.json()["hits"]
    return _search_locally(settings, text, k, type_, min_quality, language, set_id, kind)


def _search_locally(settings: Settings, text: str, k: int, type_: str | None, min_quality: float | None,
                    language: str | None, set_id: str | None, kind: str | None) -> list[dict[str, Any]]:
    from inference.factory import create_embedder
    from infra.qdrant.factory import open_store
    from streams.web import search_filter

    embedder = create_embedder(settings.inference, settings.models_dir)
    store = open_store(settings, embedder.variant.dim, embedder.variant.id)
    try:
        vector = embedder.embed([text])[0]
        hits = store.search(vector.tolist(), k, search_filter(type_, min_quality, language, set_id, kind))
        return [{"id": h.id, "score": h.score, "payload": h.payload} for h in hits]
    finally:
        store.close()
