"""Reference backend: sentence-transformers on PyTorch, fp32.

torch / sentence-transformers are imported only in this module (and lazily by the ONNX export).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from infra.errors import InferenceError

from .base import Embedder, ModelVariant
from .tokenize import TextTokenizer

log = logging.getLogger(__name__)


class TorchEmbedder(Embedder):
    def __init__(
        self,
        model_dir: str | Path,
        variant: ModelVariant,
        *,
        max_tokens: int = 256,
        batch_size: int = 64,
        device: str | None = "cpu",
        threads: int = 0,
    ) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover - torch is a hard dependency today
            raise InferenceError(f"torch backend unavailable: {e}") from e
        if threads > 0:
            torch.set_num_threads(threads)
        self.variant = variant
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = device
        try:
            self._model = SentenceTransformer(str(model_dir), device=device)
        except Exception as e:
            raise InferenceError(f"cannot load sentence-transformers model from {model_dir}: {e}") from e
        self._model.max_seq_length = max_tokens
        self._model.eval()
        # Same tokenizer as the ONNX backend: token counts and the truncation counter.
        self.tokenizer = TextTokenizer(model_dir, max_tokens)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim != variant.dim:
            raise InferenceError(f"model dim {dim} != variant dim {variant.dim}")

    @property
    def truncated(self) -> int:
        """How many texts were truncated to ``max_tokens`` so far."""
        return self.tokenizer.truncated

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.tokenizer.count_tokens(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.variant.dim), dtype=np.float32)
        # Only counts truncations (cheap next to the model); SentenceTransformer truncates itself.
        lengths = self.tokenizer.count_tokens(texts)
        self.tokenizer.record_truncated(sum(1 for n in lengths if n > self.max_tokens))
        try:
            out = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as e:
            raise InferenceError(f"torch embedding failed: {e}") from e
        return np.ascontiguousarray(out, dtype=np.float32)

    def close(self) -> None:
        self._model = None  # type: ignore[assignment]
