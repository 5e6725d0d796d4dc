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


class Embedder(ABC):
    """Turns texts into L2-normalized float32 vectors of ``variant.dim`` dimensions."""

    variant: ModelVariant
    max_tokens: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch; returns array (len(texts), dim), rows L2-normalized. Blocking."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts (before truncation); used for token-budget batching."""
        return [max(1, len(t) // 4) for t in texts]

    def close(self) -> None:  # pragma: no cover - optional
        pass
