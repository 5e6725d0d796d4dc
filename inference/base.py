"""The embedder interface: tokenize → model → pool/normalize, one implementation per backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class ModelVariant:
    """Identifies exactly which vectors an embedder produces; collections are keyed by it."""

    model: str
    revision: str
    precision: str
    backend: str
    dim: int

    @property
    def id(self) -> str:
        return f"{self.model}@{self.revision}/{self.precision}/{self.backend}"


@dataclass(frozen=True, eq=False)
class Encoding:
    """One text tokenized once: the batcher queues it and the model consumes it as is.

    ``tokens`` is what the model will see (after truncation, special tokens included, >= 1), the
    unit of the batcher's token budget. ``ids`` are the token ids (int64) for backends that feed
    them to the model; ``None`` where the backend tokenizes by itself (torch, remote).
    """

    text: str
    tokens: int
    truncated: bool = False
    ids: np.ndarray | None = None


class Embedder(ABC):
    """Turns texts into L2-normalized float32 vectors of ``variant.dim`` dimensions."""

    variant: ModelVariant
    max_tokens: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch; returns array (len(texts), dim), rows L2-normalized. Blocking."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts (before truncation)."""
        return [max(1, len(t) // 4) for t in texts]

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Tokenize once, truncated to ``max_tokens``; :meth:`embed_encoded` takes the result."""
        counts = self.count_tokens(texts)
        return [Encoding(t, max(1, min(int(n), self.max_tokens)), int(n) > self.max_tokens)
                for t, n in zip(texts, counts)]

    def embed_encoded(self, encodings: Sequence[Encoding]) -> np.ndarray:
        """Embed encodings from :meth:`tokenize` (this backend's); same result as ``embed`` of their texts."""
        return self.embed([e.text for e in encodings])

    def close(self) -> None:  # pragma: no cover - optional
        pass
