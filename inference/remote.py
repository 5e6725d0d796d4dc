"""Embed through an HTTP embedding service: ours (``assay inference serve``) or any server
speaking the OpenAI ``/v1/embeddings`` or Hugging Face TEI ``/embed`` API.

Why: one model process (possibly on a GPU box) serves many pipeline workers. The variant comes
from ``GET /info`` when the server has one (ours reports its exact variant, so local and remote
workers share collections); otherwise from the first response (backend ``remote``, precision
``unknown``). Overload (429), server errors (5xx) and network failures raise
:class:`RemoteInferenceError` with ``retry_after``, which the pipeline's backoff retries.
"""

from __future__ import annotations

import base64
import threading
from typing import Any, Sequence

import httpx
import numpy as np

from infra.errors import InferenceError
from infra.settings import InferenceSettings

from .base import Embedder, ModelVariant

__all__ = ["RemoteEmbedder", "RemoteInferenceError"]

APIS = ("openai", "tei")


class RemoteInferenceError(InferenceError):
    """A remote call failed; ``retry_after`` (seconds) is set when retrying makes sense."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        # Retry-able (overload, 5xx, network) means transient: the pipeline waits it out.
        super().__init__(message, transient=retry_after is not None)
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: httpx.Response, default: float = 1.0) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:  # an HTTP date: rare, not worth parsing
        return default


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):  # ours / OpenAI
        return str(err.get("message", err))
    return str(err if err is not None else body)[:300]  # TEI: {"error": "...", "error_type": ...}


class RemoteEmbedder(Embedder):
    """Synchronous client (one pooled ``httpx.Client``); vectors are re-normalized on arrival."""

    def __init__(self, url: str, *, token: str | None = None, api: str = "openai", model: str | None = None,
                 timeout_s: float = 30.0, max_tokens: int = 256, max_inputs: int | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if api not in APIS:
            raise InferenceError(f"unknown remote API {api!r}; expected one of {APIS}")
        self.url = url.rstrip("/")
        self.api = api
        self.model = model
        self._max_tokens = max_tokens
        self._max_inputs = max_inputs
        self._variant: ModelVariant | None = None
        self._lock = threading.Lock()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s, transport=transport)
        base_path = httpx.URL(self.url).path.rstrip("/")
        self._path = "/embed" if api == "tei" else ("/embeddings" if base_path.endswith("/v1") else "/v1/embeddings")

    @classmethod
    def from_settings(cls, settings: InferenceSettings, **kwargs: Any) -> "RemoteEmbedder":
        if not settings.remote_url:
            raise InferenceError("backend 'remote' needs ASSAY_INFERENCE_REMOTE_URL")
        token = settings.remote_token.get_secret_value() if settings.remote_token else None
        kwargs.setdefault("api", getattr(settings, "remote_api", None) or "openai")
        kwargs.setdefault("model", getattr(settings, "remote_model", None))
        kwargs.setdefault("max_tokens", settings.max_tokens)
        return cls(settings.remote_url, token=token, **kwargs)

    # ------------------------------------------------------------------ identity (lazy)

    @property
    def variant(self) -> ModelVariant:  # type: ignore[override]
        if self._variant is None:
            self.discover()
        assert self._variant is not None
        return self._variant

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self._max_tokens  # never does I/O: the batcher reads it on the event loop

    def discover(self) -> ModelVariant:
        """Ask ``/info``; a server without one is probed with a one-text request."""
        with self._lock:
            if self._variant is None:
                info = self._info()
                self._variant = self._variant_from_info(info) if info else None
                if self._variant is None:
                    model = str((info or {}).get("model_id") or self.model or "unknown")
                    probe = self._request(["dimension probe"])
                    self._variant = ModelVariant(model, str((info or {}).get("model_sha") or "unknown"),
                                                 "unknown", "remote", int(probe.shape[1]))
            return self._variant

    def _info(self) -> dict[str, Any] | None:
        try:
            r = self._client.get("/info")
        except httpx.HTTPError as e:
            raise RemoteInferenceError(f"embedding server {self.url} unreachable: {e}", retry_after=1.0) from e
        if r.status_code == 401:
            raise RemoteInferenceError(f"embedding server {self.url} rejected the token (401)", status=401)
        if r.status_code != 200:
            return None  # plain OpenAI-style servers have no /info
        try:
            info = r.json()
        except ValueError:
            return None
        if not isinstance(info, dict):
            return None
        limit = info.get("max_tokens") or info.get("max_input_length")
        if isinstance(limit, int) and limit > 0:
            self._max_tokens = limit
        batch = info.get("max_client_batch_size")
        if isinstance(batch, int) and batch > 0 and self._max_inputs is None:
            self._max_inputs = batch
        if self.model is None and isinstance(info.get("model_id"), str):
            self.model = info["model_id"]  # OpenAI-style servers may insist on a model name
        return info

    @staticmethod
    def _variant_from_info(info: dict[str, Any]) -> ModelVariant | None:
        v = info.get("variant")
        if isinstance(v, dict):
            try:
                return ModelVariant(str(v["model"]), str(v["revision"]), str(v["precision"]), str(v["backend"]),
                                    int(v["dim"]))
            except (KeyError, TypeError, ValueError):
                return None
        if isinstance(info.get("dim"), int) and info.get("model_id"):
            return ModelVariant(str(info["model_id"]), "unknown", "unknown", "remote", int(info["dim"]))
        return None

    # ------------------------------------------------------------------ embedding

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        dim = self.variant.dim
        if not texts:
            return np.empty((0, dim), dtype=np.float32)
        step = self._max_inputs or len(texts)
        parts = [self._request(texts[i:i + step]) for i in range(0, len(texts), step)]
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if out.shape[1] != dim:
            raise RemoteInferenceError(f"server returned {out.shape[1]}-dim vectors, expected {dim}")
        return out

    def _request(self, texts: list[str]) -> np.ndarray:
        if self.api == "tei":
            payload: dict[str, Any] = {"inputs": texts, "normalize": True, "truncate": True}
        else:
            payload = {"input": texts, "encoding_format": "float"}
            if self.model:
                payload["model"] = self.model
        try:
            r = self._client.post(self._path, json=payload)
        except httpx.HTTPError as e:  # timeouts, refused connections, resets: transient
            raise RemoteInferenceError(f"embedding server {self.url} unreachable: {type(e).__name__}: {e}",
                                       retry_after=1.0) from e
        if r.status_code == 429 or r.status_code >= 500:
            raise RemoteInferenceError(f"embedding server busy or failing ({r.status_code}): {_server_message(r)}",
                                       status=r.status_code, retry_after=_retry_after(r))
        if r.status_code != 200:
            raise RemoteInferenceError(f"embedding server refused the request ({r.status_code}): {_server_message(r)}",
                                       status=r.status_code)
        try:
            vectors = self._parse(r.json(), len(texts))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise RemoteInferenceError(f"unexpected response from {self.url}{self._path}: {e!r}") from e
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def _parse(self, body: Any, n: int) -> np.ndarray:
        if self.api == "tei":
            rows: list[Any] = body
        else:
            rows = [None] * n
            for item in body["data"]:
                emb = item["embedding"]
                rows[int(item["index"])] = (np.frombuffer(base64.b64decode(emb), dtype="<f4")
                                            if isinstance(emb, str) else emb)
        vectors = np.asarray(rows, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise ValueError(f"expected {n} vectors, got an array of shape {vectors.shape}")
        return vectors

    def close(self) -> None:
        self._client.close()
