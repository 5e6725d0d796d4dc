"""The batched embedder as a shared HTTP service (aiohttp), speaking two common wire formats.

One model in memory serves many workers: every request goes through one
:class:`EmbeddingBatcher`, so concurrent callers are batched together. Endpoints:

* ``POST /v1/embeddings`` – OpenAI-compatible (``input``, ``model``, ``encoding_format``).
* ``POST /embed`` – Hugging Face TEI-compatible (``inputs``, ``normalize``, ``truncate``).
* ``GET /health`` and ``GET /ready`` (never need the token, for probes), ``GET /info``, ``GET /metrics``.

Bound beyond loopback, the server refuses to start without a token unless told that something in
front of it authenticates (``allow_no_token``, ``--insecure-no-token``).

Errors are JSON ``{"error": {"message", "type"}}``: 400 unparseable JSON, 422 wrong shape,
401 bad/missing bearer token, 413 body or input count over the limit, 429 + ``Retry-After``
when the batcher's queue is full, 503 while shutting down, 500 when the model fails.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

import numpy as np
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from infra.build import register_build_info
from infra.errors import InferenceError
from infra.http_auth import bearer_matches, require_token_when_exposed
from infra.settings import InferenceSettings

from .base import Embedder, Encoding
from .batcher import EmbeddingBatcher

__all__ = ["create_server_app", "run_server", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_INPUTS"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_INPUTS = 256
_OPEN_PATHS = frozenset({"/health", "/ready"})  # liveness/readiness probes carry no credentials


class ApiError(Exception):
    """An error answered to the client as JSON (never a traceback)."""

    def __init__(self, status: int, message: str, type_: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.retry_after = status, message, type_, retry_after


class _State:
    def __init__(self, embedder: Embedder, batcher: EmbeddingBatcher, registry: CollectorRegistry,
                 token: bytes | None, max_body_bytes: int, max_inputs: int, retry_after_s: int) -> None:
        self.embedder, self.batcher, self.registry = embedder, batcher, registry
        self.token, self.max_body_bytes, self.max_inputs = token, max_body_bytes, max_inputs
        self.retry_after_s = retry_after_s
        self.closing = False


STATE = web.AppKey("assay_inference_state", _State)
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          405: "invalid_request_error", 413: "request_too_large", 422: "invalid_request_error",
          429: "overloaded_error", 503: "unavailable_error"}


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status=status,
                        content_type="application/json", headers=headers)


def _error(status: int, message: str, type_: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return _json({"error": {"message": message, "type": type_}}, status, headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth first (before any body is read), then turn every failure into a JSON error."""
    state = request.app[STATE]
    try:
        if state.token is not None and request.path not in _OPEN_PATHS:
            if not bearer_matches(request.headers.get("Authorization", ""), state.token):
                raise ApiError(401, "missing or invalid bearer token", "authentication_error")
        return await handler(request)
    except ApiError as e:
        return _error(e.status, e.message, e.type, e.retry_after)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        resp = _error(e.status, e.text or e.reason, _TYPES.get(e.status, "invalid_request_error"))
        if "Allow" in e.headers:  # 405 says which methods work
            resp.headers["Allow"] = e.headers["Allow"]
        return resp
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - a bug must answer 500, not kill the connection
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error(500, "internal server error", "server_error")


async def _read_object(request: web.Request) -> dict[str, Any]:
    state = request.app[STATE]
    limit = state.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body of {request.content_length} bytes exceeds the limit of {limit}",
                       "request_too_large")
    try:
        body = await request.read()  # client_max_size enforces the limit for chunked bodies too
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"request body exceeds the limit of {limit} bytes", "request_too_large") from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ApiError(400, f"request body is not valid JSON: {e}", "invalid_request_error") from None
    if not isinstance(data, dict):
        raise ApiError(422, "request body must be a JSON object", "invalid_request_error")
    return data


def _texts(data: dict[str, Any], field: str, max_inputs: int) -> list[str]:
    if field not in data:
        raise ApiError(422, f"`{field}` is required (a string or a list of strings)", "invalid_request_error")
    value = data[field]
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ApiError(422, f"`{field}` must be a string or a list of strings", "invalid_request_error")
    if not value:
        raise ApiError(422, f"`{field}` must not be an empty list", "invalid_request_error")
    if len(value) > max_inputs:
        raise ApiError(413, f"`{field}` has {len(value)} items; this server accepts at most {max_inputs} "
                            "per request (split the batch)", "request_too_large")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise ApiError(422, f"`{field}[{i}]` must be a string (token arrays are not supported)",
                           "invalid_request_error")
    return value


def _optional(data: dict[str, Any], field: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ApiError(422, f"`{field}` has the wrong type", "invalid_request_error")
    return value


def _admit(state: _State) -> None:
    """Shed load up front: a full queue answers 429 at once instead of piling up waiters."""
    if state.closing:
        raise ApiError(503, "server is shutting down", "unavailable_error", state.retry_after_s)
    if state.batcher.is_overloaded():
        raise ApiError(429, "inference queue is full; retry later", "overloaded_error", state.retry_after_s)


async def _embed(state: _State, texts: list[str] | list[Encoding]) -> np.ndarray:
    _admit(state)
    try:
        return await state.batcher.embed(texts)
    except InferenceError as e:
        if state.closing:
            raise ApiError(503, "server is shutting down", "unavailable_error", state.retry_after_s) from e
        log.warning("embedding %d texts failed: %s", len(texts), e)
        raise ApiError(500, f"inference failed: {e}", "inference_error") from e


async def _raw_counts(state: _State, texts: list[str]) -> list[int]:
    """Token counts before truncation; a real tokenizer runs off the event loop."""
    return list(await asyncio.get_running_loop().run_in_executor(None, state.embedder.count_tokens, texts))


async def _tokenize(state: _State, texts: list[str]) -> list[Encoding]:
    """Tokenize once, off the event loop; the batcher takes the encodings as they are."""
    return list(await asyncio.get_running_loop().run_in_executor(None, state.embedder.tokenize, texts))


async def _openai(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await _read_object(request)
    texts = _texts(data, "input", state.max_inputs)
    _optional(data, "model", str, None)  # accepted for compatibility; one model is served
    fmt = _optional(data, "encoding_format", str, "float")
    if fmt not in ("float", "base64"):
        raise ApiError(422, "`encoding_format` must be 'float' or 'base64'", "invalid_request_error")
    dims = _optional(data, "dimensions", int, None)
    variant = state.embedder.variant
    if dims is not None and dims != variant.dim:
        raise ApiError(422, f"`dimensions` must be {variant.dim} for this model", "invalid_request_error")
    _admit(state)
    encodings = await _tokenize(state, texts)  # ``usage`` needs the counts: tokenize here, once
    vectors = await _embed(state, encodings)
    if fmt == "base64":
        rows: list[Any] = [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
    else:
        rows = list(vectors)
    tokens = sum(e.tokens for e in encodings)
    return _json({"object": "list",
                  "data": [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)],
                  "model": variant.id, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


async def _tei(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await _read_object(request)
    texts = _texts(data, "inputs", state.max_inputs)
    if not _optional(data, "normalize", bool, True):
        raise ApiError(422, "`normalize=false` is not supported: this server returns L2-normalized vectors",
                       "invalid_request_error")
    _admit(state)
    if _optional(data, "truncate", bool, True):
        return _json(await _embed(state, texts))  # cache hits are never tokenized
    encodings = await _tokenize(state, texts)  # TEI semantics: refuse rather than cut
    cut = [e.text for e in encodings if e.truncated]
    if cut:
        longest = max(await _raw_counts(state, cut))
        raise ApiError(413, f"an input has {longest} tokens, more than the model's "
                            f"{state.embedder.max_tokens}; send truncate=true or shorten it", "request_too_large")
    return _json(await _embed(state, encodings))


async def _health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body: dict[str, Any] = {"status": "shutting_down" if state.closing else "ok",
                            "model": state.embedder.variant.id, "queue_depth": state.batcher.queue_depth(),
                            "overloaded": state.batcher.is_overloaded()}
    stats = getattr(state.embedder, "stats", None)
    if callable(stats):  # e.g. the Redis vector cache
        body["cache"] = stats()
    return _json(body, 503 if state.closing else 200)


async def _info(request: web.Request) -> web.Response:
    state = request.app[STATE]
    v = state.embedder.variant
    return _json({"model_id": v.model, "variant_id": v.id, "dim": v.dim, "max_tokens": state.embedder.max_tokens,
                  "variant": {"model": v.model, "revision": v.revision, "precision": v.precision,
                              "backend": v.backend, "dim": v.dim},
                  # TEI's names, so TEI clients can read the limits too
                  "max_input_length": state.embedder.max_tokens, "max_client_batch_size": state.max_inputs,
                  "max_body_bytes": state.max_body_bytes})


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(request.app[STATE].registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_server_app(embedder: Embedder, settings: InferenceSettings, *, token: str | None = None,
                      max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_inputs: int = DEFAULT_MAX_INPUTS,
                      registry: CollectorRegistry | None = None, retry_after_s: int = 1) -> web.Application:
    """The service around one embedder; the batcher starts/stops with the app's event loop."""
    if max_body_bytes < 1 or max_inputs < 1 or retry_after_s < 0:
        raise ValueError("max_body_bytes and max_inputs must be >= 1, retry_after_s >= 0")
    registry = registry if registry is not None else REGISTRY
    batcher = EmbeddingBatcher.from_settings(embedder, settings, registry=registry)
    register_build_info(registry)
    app = web.Application(middlewares=[_guard], client_max_size=max_body_bytes)
    app[STATE] = state = _State(embedder, batcher, registry, token.encode() if token else None,
                                max_body_bytes, max_inputs, retry_after_s)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await batcher.start()
        yield
        state.closing = True
        await batcher.stop(drain=True, timeout=10)

    async def on_shutdown(_app: web.Application) -> None:
        state.closing = True  # health turns 503 so load balancers stop sending

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/v1/embeddings", _openai)
    app.router.add_post("/embed", _tei)
    app.router.add_get("/health", _health)
    app.router.add_get("/ready", _health)  # ready = serving: 503 while shutting down
    app.router.add_get("/info", _info)
    app.router.add_get("/metrics", _metrics)
    return app


def run_server(settings: InferenceSettings, host: str = "127.0.0.1", port: int = 8080, token: str | None = None,
               *, embedder: Embedder | None = None, allow_no_token: bool = False, **app_kwargs: Any) -> None:
    """Blocking: serve until SIGINT/SIGTERM. Builds the configured embedder unless one is given.

    Raises:
        ConfigError: ``host`` is not loopback, no ``token`` is given and ``allow_no_token`` is false.
    """
    require_token_when_exposed(host, token, allow_no_token, service="the inference server",
                               set_token="--token-env NAME", opt_out="--insecure-no-token")
    owned = embedder is None
    if embedder is None:
        from infra.settings import get_settings

        from .factory import create_embedder

        embedder = create_embedder(settings, get_settings().models_dir)
    if not token and allow_no_token:
        log.warning("inference server listens on %s without a bearer token (--insecure-no-token)", host)
    app = create_server_app(embedder, settings, token=token, **app_kwargs)
    log.info("inference server: %s on http://%s:%d (auth %s)", embedder.variant.id, host, port,
             "on" if token else "off")
    try:
        web.run_app(app, host=host, port=port, print=None, access_log=None, shutdown_timeout=10)
    finally:
        if owned:
            embedder.close()
