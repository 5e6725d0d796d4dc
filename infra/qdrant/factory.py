"""Pick and open the vector store the settings ask for, one collection per model variant."""

from __future__ import annotations

import hashlib
import re

from infra.errors import ConfigError
from infra.qdrant.base import VectorStore
from infra.settings import Settings

_SLUG_PREFIX_LEN = 32
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def variant_slug(variant_id: str) -> str:
    """A short name for ``variant_id`` that is safe as a directory and collection name.

    A readable part (lowercase ``[a-z0-9-]``, at most 32 chars, without the model's
    ``org/`` prefix) plus 8 hex of the full id's SHA-1, so ids that differ only in case,
    punctuation, org or past the cut stay apart. E.g.
    ``sentence-transformers/all-MiniLM-L6-v2@main/int8/onnx`` →
    ``all-minilm-l6-v2-main-int8-onnx-<hash>``.
    """
    if not variant_id:
        raise ConfigError("model variant id is empty; every store needs the variant that produced its vectors")
    model, at, rest = variant_id.partition("@")
    # The hash keeps the org apart; dropping it here leaves room for precision/backend.
    short = model.rsplit("/", 1)[-1] + at + rest
    readable = re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")[:_SLUG_PREFIX_LEN].rstrip("-")
    digest = hashlib.sha1(variant_id.encode()).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def collection_name(collection: str, variant_id: str) -> str:
    """``<collection>__<variant slug>``: vectors of different model variants never share one.

    Raises:
        ConfigError: the configured collection name is not ``[A-Za-z0-9][A-Za-z0-9_-]*``.
    """
    if not _COLLECTION_RE.match(collection):
        raise ConfigError(
            f"ASSAY_QDRANT_COLLECTION={collection!r} is not a valid name; use letters, digits, '_' and '-' "
            "(starting with a letter or digit)"
        )
    return f"{collection}__{variant_slug(variant_id)}"


def open_store(settings: Settings, dim: int, variant_id: str) -> VectorStore:
    """The store for one model variant: a Qdrant server when ``ASSAY_QDRANT_URL`` is set, else Edge.

    Edge shards live under ``<data_dir>/qdrant/<collection>__<slug>``.

    Raises:
        ConfigError: invalid collection name or empty variant id.
        StoreError: the store cannot be opened (unreachable, dimension mismatch, …).
    """
    q = settings.qdrant
    name = collection_name(q.collection, variant_id)
    if q.url:
        # Imported lazily so an Edge-only deployment never loads qdrant-client (and vice versa).
        from infra.qdrant.server import ServerStore

        api_key = q.api_key.get_secret_value() if q.api_key else None
        return ServerStore.from_url(q.url, api_key, name, dim, q.expected_points)
    from infra.qdrant.edge import EdgeStore

    return EdgeStore(settings.data_dir / "qdrant" / name, dim, q.expected_points)
