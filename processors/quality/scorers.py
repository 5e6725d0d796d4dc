"""The quality stage's business rules: which scorer scores which document, and the gate.

* :class:`QualityScorer` — what the pipeline calls: the heuristic baseline
  (:class:`BaselineScorer`) or a registry model (:class:`LearnedScorer`);
* :func:`is_gated` — the gate: a document scoring below the threshold is not indexed.

>>> from schemas.documents import Document
>>> q = BaselineScorer().score_many([Document(id="x", type="general", content="asdf asdf asdf", version="v")], [None])[0]
>>> q.model_version, is_gated(q, 2.0)
('baseline-1.0.0', True)
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from processors.quality.baseline import MODEL_VERSION, score_quality
from processors.quality.model import QualityModel
from schemas.documents import Document
from schemas.patterns import QualityScore

__all__ = ["BaselineScorer", "LearnedScorer", "QualityScorer", "is_gated"]

LEARNED_TYPES = frozenset({"documentation", "general"})


class QualityScorer(Protocol):
    """The quality stage: the baseline heuristic or a learned model from the registry."""

    model_version: str
    needs_embedding: bool

    def wants_embedding(self, doc: Document) -> bool:
        """Whether scoring ``doc`` reads its embedding (of :meth:`embedding_text`)."""

    def embedding_text(self, doc: Document) -> str: ...

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore: ...

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]: ...


def is_gated(quality: QualityScore, threshold: float) -> bool:
    """True when a document's quality is below the gate's ``threshold``: it is not indexed (and
    its earlier points are removed)."""
    return quality.score < threshold


class BaselineScorer:
    """The documented heuristic (``processors.quality.baseline``); needs no embedding."""

    model_version = MODEL_VERSION
    needs_embedding = False

    def wants_embedding(self, doc: Document) -> bool:
        return False

    def embedding_text(self, doc: Document) -> str:
        return doc.content

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        return score_quality(doc)

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        return [score_quality(d) for d in docs]


class LearnedScorer:
    """A registry model (:class:`~processors.quality.model.QualityModel`) that reads the document
    embedding.

    It scores the document types its training data resembles (``types``); the others keep the
    baseline. The default model learned from Stack Overflow questions and is not validated on
    source code (1.1.0 gates 4 of 200 stdlib modules at the default threshold; an early build
    scored them 1.6–1.9). Each QualityScore names the model that produced it.
    """

    needs_embedding = True

    def __init__(self, model: QualityModel, types: frozenset[str] = LEARNED_TYPES, explain_top: int = 0) -> None:
        self.model = model
        self.types = types
        self.explain_top = explain_top
        self.model_version = model.model_version
        self._baseline = BaselineScorer()

    def wants_embedding(self, doc: Document) -> bool:
        return doc.type.value in self.types

    def embedding_text(self, doc: Document) -> str:
        return self.model.embedding_text(doc)

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        return self.score_many([doc], [embedding])[0]

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        """Score a batch: a model with a fine-tuned half runs it once over all its documents."""
        mine = [i for i, d in enumerate(docs) if d.type.value in self.types]
        out = [self._baseline.score(d) if d.type.value not in self.types else None for d in docs]
        scored = self.model.score_many([docs[i] for i in mine], [embeddings[i] for i in mine],
                                       explain_top=self.explain_top)
        for i, q in zip(mine, scored):
            out[i] = q
        return out  # type: ignore[return-value]
