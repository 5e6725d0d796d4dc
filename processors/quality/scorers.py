"""The quality stage's scorers: the documented heuristic, or a learned registry model per document type.

Both score a micro-batch in one call (``score_many``); the stage reads the scorer once per batch, so a
batch is scored by exactly one model version even while a promotion swaps it.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from processors.quality.baseline import score_quality
from schemas.documents import Document
from schemas.patterns import QualityScore


class QualityScorer(Protocol):
    """The quality stage: the baseline heuristic or a learned model from the registry."""

    model_version: str
    needs_embedding: bool

    def embedding_text(self, doc: Document) -> str: ...

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore: ...

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]: ...


class BaselineScorer:
    """The documented heuristic (``processors.quality.baseline``); needs no embedding."""

    model_version = "baseline-1.0.0"
    needs_embedding = False

    def embedding_text(self, doc: Document) -> str:
        return doc.content

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        return score_quality(doc)

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        return [score_quality(d) for d in docs]


class LearnedScorer:
    """A registry model (``processors.quality.model.QualityModel``) that reads the document embedding.

    It scores the document types its training data resembles; the others keep the baseline. The
    default model learned from Stack Overflow questions and is not validated on source code
    (1.1.0 gates 4 of 200 stdlib modules at the default threshold; an early build scored them
    1.6–1.9). Each QualityScore names the model that produced it.
    """

    needs_embedding = True

    def __init__(self, model: Any, types: frozenset[str] = frozenset({"documentation", "general"}),
                 explain_top: int = 0) -> None:
        self.model = model
        self.types = types
        self.explain_top = explain_top
        self.model_version = model.model_version
        self._baseline = BaselineScorer()

    def embedding_text(self, doc: Document) -> str:
        return self.model.embedding_text(doc)

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        if doc.type.value not in self.types:
            return self._baseline.score(doc)
        return self.model.score(doc, embedding, explain_top=self.explain_top)

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        """Score a batch: a model with a fine-tuned half runs it once over all its documents."""
        mine = [i for i, d in enumerate(docs) if d.type.value in self.types]
        out = [self._baseline.score(d) if d.type.value not in self.types else None for d in docs]
        for i, q in zip(mine, self.model.score_many([docs[i] for i in mine], [embeddings[i] for i in mine],
                                                    explain_top=self.explain_top)):
            out[i] = q
        return out  # type: ignore[return-value]
