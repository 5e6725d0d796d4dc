"""Embeddings of training texts, cached on disk as ``.npy`` keyed by a hash of the texts.

Embedding 6,750 questions takes minutes on a shared CPU; the vectors depend only on the cleaned
texts and on the embedder variant, so both go into the key::

    <cache_dir>/emb-<sha256(variant id, texts)[:16]>.npy     float32 (n, dim), rows L2-normalized

Loading checks the shape; a file that does not load as a plain float32 array (``allow_pickle`` is
off) is recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from inference.base import Embedder, ModelVariant

__all__ = ["cached_embeddings", "embed_texts", "texts_hash"]

log = logging.getLogger(__name__)


def texts_hash(texts: Sequence[str], *extra: str) -> str:
    """sha256 hex of ``extra`` and the texts (length-prefixed, so boundaries count).

    >>> texts_hash(["a", "b"]) == texts_hash(["a", "b"]) != texts_hash(["ab"])
    True
    """
    h = hashlib.sha256()
    for part in (*extra, *texts):
        b = part.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def cached_embeddings(
    texts: Sequence[str],
    embed: Callable[[Sequence[str]], np.ndarray],
    variant_id: str,
    cache_dir: Path | None,
    *,
    batch: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``embed(texts)`` as float32 (n, dim), read from / written to ``cache_dir`` when given."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"emb-{texts_hash(texts, variant_id)[:16]}.npy"
        if path.is_file():
            try:
                arr = np.load(path, allow_pickle=False)
                if arr.dtype == np.float32 and arr.ndim == 2 and arr.shape[0] == len(texts):
                    log.info("embeddings from cache %s", path)
                    return arr
            except (OSError, ValueError) as e:
                log.warning("ignoring unreadable embedding cache %s: %s", path, e)
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(np.asarray(embed(list(texts[start : start + batch])), dtype=np.float32))
        if progress is not None:
            progress(min(len(texts), start + batch), len(texts))
    out = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, out, allow_pickle=False)
        os.replace(tmp, path)
    return out


def embed_texts(
    texts: Sequence[str],
    open_embedder: Callable[[], Embedder],
    cache_dir: Path | None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, ModelVariant]:
    """:func:`cached_embeddings` with an embedder opened for this pass and closed after it; also
    returns the embedder's variant (what the vectors are)."""
    embedder = open_embedder()
    try:
        return cached_embeddings(texts, embedder.embed, embedder.variant.id, cache_dir, progress=progress), embedder.variant
    finally:
        embedder.close()
