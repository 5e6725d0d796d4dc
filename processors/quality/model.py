"""The learned quality model: class probabilities, an expected 1..5 score and a label per document.

A :class:`QualityModel` combines two halves and scores pipeline documents:

* the linear half (:mod:`processors.quality.linear`): TF-IDF, text statistics and the MiniLM
  embedding of :func:`processors.quality.preprocess.document_text`, folded into one linear layer
  plus one MLP; pure numpy;
* optionally, from 1.2.0, the fine-tuned half (:mod:`processors.quality.finetuned`): MiniLM
  fine-tuned end to end, INT8 ONNX; the class probabilities are the equal-weight average of both
  halves' (:func:`processors.quality.classes.average_halves`).

The classes map to levels 1..5 as :mod:`processors.quality.classes` documents; the score is the
expected level, the label :func:`processors.quality.baseline.label_for` of it. The gate compares
its threshold with the score: with the default threshold 2.0 a document is dropped only when the
model is fairly sure it is LQ_CLOSE material (e.g. P(LQ_CLOSE) ≥ 0.67 with the rest on LQ_EDIT).
Source metadata is a documented prior (:func:`processors.quality.metadata.metadata_shift`), applied
only when present. :meth:`QualityModel.explain` is exact (:mod:`processors.quality.explain`).

Persistence is :mod:`processors.quality.artifacts` (JSON + safetensors, every file checksummed, no
pickle); versions live in :mod:`processors.quality.registry`.

For online learning of the linear half: :meth:`QualityModel.linear_features` (the batch inputs),
:attr:`QualityModel.linear_params` (a typed value) and :meth:`QualityModel.with_linear_params`
(a new model with updated parameters and its lineage, ready for
:meth:`processors.quality.registry.Registry.register`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from processors.quality.artifacts import (
    ARTIFACT_FORMAT,
    CLASSIFIER,
    TOKENIZER,
    ArtifactError,
    read_artifact,
    write_artifact,
)
from processors.quality.baseline import label_for
from processors.quality.classes import CLASSES, FINETUNED_WEIGHT, combined_proba, score_of
from processors.quality.explain import Explanation, explain_text
from processors.quality.finetuned import FinetunedClassifier
from processors.quality.linear import LinearFeatures, LinearHalf, LinearParams
from processors.quality.metadata import metadata_shift
from processors.quality.preprocess import document_text
from schemas.documents import Document
from schemas.patterns import QualityContribution, QualityScore

__all__ = ["QualityModel"]

# the manifest entries that describe one stored model, not a model derived from it
_OWN_ENTRIES = ("metrics", "files", "created", "manifest_sha256")


class QualityModel:
    """Quality model: class probabilities, expected 1..5 score and label from a cleaned text and
    its MiniLM embedding.

    Construct with :meth:`load` (an artifact directory) or from
    :func:`processors.quality.training.fit.fit`. Thread-safe for concurrent scoring (read-only
    after construction).
    """

    def __init__(self, linear: LinearParams, *, finetuned: FinetunedClassifier | None = None,
                 manifest: Mapping[str, Any] | None = None) -> None:
        self._linear = LinearHalf(linear)
        self.finetuned = finetuned
        self.manifest: dict[str, Any] = dict(manifest or {})
        self.manifest.setdefault("format", ARTIFACT_FORMAT)
        self.manifest.setdefault("version", "0.0.0")

    # ------------------------------------------------------------------ properties
    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def model_version(self) -> str:
        """What :class:`QualityScore` carries, e.g. ``quality-1.0.0``."""
        return f"quality-{self.version}"

    @property
    def dim(self) -> int:
        return self._linear.params.dim

    @property
    def linear_params(self) -> LinearParams:
        """The linear half's parameters (a frozen value; update with ``dataclasses.replace``)."""
        return self._linear.params

    # ------------------------------------------------------------------ derived models
    def with_linear_params(self, params: LinearParams, *, version: str,
                           lineage: Mapping[str, Any]) -> QualityModel:
        """A new model: ``params`` as its linear half, this model's fine-tuned half (shared).

        Its manifest keeps what describes the recipe (data, parameters, embedding, fine-tuning)
        and records ``version``, ``parent`` (this model's version) and ``lineage`` (how it was
        derived, e.g. feedback rows and update steps); metrics start empty (measure the new model).
        """
        manifest = {k: v for k, v in self.manifest.items() if k not in _OWN_ENTRIES}
        manifest.update({"version": version, "parent": self.version, "lineage": dict(lineage), "metrics": {}})
        return QualityModel(params, finetuned=self.finetuned, manifest=manifest)

    def with_finetuned(self, classifier: FinetunedClassifier, spec: Mapping[str, Any]) -> QualityModel:
        """A new model: this linear half and ``classifier`` as the fine-tuned half (``spec``: its
        recipe and provenance, the manifest's ``finetuned`` entry)."""
        return QualityModel(self._linear.params, finetuned=classifier,
                            manifest={**self.manifest, "finetuned": dict(spec)})

    # ------------------------------------------------------------------ inference
    def linear_features(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None] | None = None,
                        *, now: datetime | None = None) -> LinearFeatures:
        """The linear half's inputs for ``docs`` (their embeddings as :meth:`score` takes them):
        ``self.linear_params.logits(features)`` are the linear logits :meth:`score` uses."""
        cleans = [document_text(d) for d in docs]
        return self._linear.features(cleans, [None] * len(docs) if embeddings is None else embeddings,
                                    [metadata_shift(d.metadata, now=now) for d in docs])

    def logits(self, clean: str, embedding: np.ndarray | None = None, shift: float = 0.0) -> np.ndarray:
        """Linear-half class logits (float64, :data:`CLASSES` order) of a cleaned text."""
        return self._linear.logits(clean, embedding, shift)

    def finetuned_logits(self, texts: Sequence[str]) -> np.ndarray | None:
        """Class logits (n, 3) of the fine-tuned classifier for cleaned texts (one session call each);
        None when this model has no fine-tuned half."""
        if self.finetuned is None:
            return None
        return self.finetuned.logits(list(texts))

    def _ft_logits(self, clean: str, given: np.ndarray | None) -> np.ndarray | None:
        """The fine-tuned logits of ``clean``: ``given`` (a batch computed them), else computed here."""
        if self.finetuned is None or given is not None:
            return given
        return self.finetuned.logits([clean])[0]

    def _proba(self, linear_logits: np.ndarray, ft_logits: np.ndarray | None, shift: float) -> np.ndarray:
        if self.finetuned is not None and ft_logits is None:
            raise ValueError("this model has a fine-tuned half: its logits are needed")
        return combined_proba(linear_logits, ft_logits if self.finetuned is not None else None, shift)

    def predict_proba(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None, shifts: Sequence[float] | None = None
    ) -> np.ndarray:
        """Class probabilities (n, 3) of cleaned texts and their embeddings ((n, dim) or None)."""
        n = len(texts)
        if embeddings is not None and len(embeddings) != n:
            raise ValueError(f"{n} texts but {len(embeddings)} embeddings")
        if not n:
            return np.zeros((0, len(CLASSES)))
        ft = self.finetuned_logits(texts)
        return np.stack([
            self._proba(self.logits(t, None if embeddings is None else embeddings[i],
                                    0.0 if shifts is None else shifts[i]),
                        None if ft is None else ft[i], 0.0 if shifts is None else shifts[i])
            for i, t in enumerate(texts)
        ])

    def score_text(self, clean: str, embedding: np.ndarray | None = None, shift: float = 0.0,
                   ft_logits: np.ndarray | None = None) -> QualityScore:
        """``ft_logits``: the fine-tuned classifier's logits of ``clean`` when the caller ran it in a
        batch (:meth:`score_many`); computed here otherwise."""
        proba = self._proba(self.logits(clean, embedding, shift), self._ft_logits(clean, ft_logits), shift)
        s = score_of(proba)
        return QualityScore(score=round(s, 4), label=label_for(s), model_version=self.model_version)

    def score(self, doc: Document, embedding: np.ndarray | None = None, *, clean: str | None = None,
              now: datetime | None = None, ft_logits: np.ndarray | None = None, explain_top: int = 0) -> QualityScore:
        """Score a pipeline document.

        ``embedding``: the embedder's vector of ``document_text(doc)`` (its first 256 tokens). ``None``
        uses the training-set mean embedding: the score then rests on the text features alone.
        ``clean``: ``document_text(doc)`` when the caller already has it (it embedded it), to skip
        preprocessing twice. ``explain_top``: attach that many of :meth:`explain`'s largest
        contributions to the quality log-odds.
        """
        if clean is None:
            clean = document_text(doc)
        ft_logits = self._ft_logits(clean, ft_logits)
        q = self.score_text(clean, embedding, metadata_shift(doc.metadata, now=now), ft_logits)
        if explain_top > 0:
            ex = self.explain(doc, embedding, now=now, clean=clean, ft_logits=ft_logits)
            q.explanation = [QualityContribution(feature=k, value=round(v, 6)) for k, v in ex.top(explain_top)]
        return q

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None] | None = None, *,
                   now: datetime | None = None, explain_top: int = 0) -> list[QualityScore]:
        """Score documents; the fine-tuned classifier (if any) runs over them in one call."""
        cleans = [document_text(d) for d in docs]
        ft = self.finetuned_logits(cleans) if docs else None
        return [self.score(d, None if embeddings is None else embeddings[i], clean=cleans[i], now=now,
                           ft_logits=None if ft is None else ft[i], explain_top=explain_top)
                for i, d in enumerate(docs)]

    @staticmethod
    def embedding_text(doc: Document) -> str:
        """The text to embed for :meth:`score` (the embedder truncates it to its token limit)."""
        return document_text(doc)

    def explain(self, doc: Document | str, embedding: np.ndarray | None = None, *, target: str = "quality",
                now: datetime | None = None, clean: str | None = None,
                ft_logits: np.ndarray | None = None) -> Explanation:
        """Exact additive contributions to one logit, largest magnitude first
        (:func:`processors.quality.explain.explain_text`).

        ``doc`` is a :class:`Document` (metadata counts) or an already-cleaned text. ``clean`` and
        ``ft_logits``: what the caller already computed for this document (see :meth:`score`).
        """
        if isinstance(doc, Document):
            clean, shift = clean if clean is not None else document_text(doc), metadata_shift(doc.metadata, now=now)
        else:
            clean, shift = doc, 0.0
        return explain_text(self._linear, clean, embedding, shift, self._ft_logits(clean, ft_logits), target)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the artifact directory (atomically; :func:`processors.quality.artifacts.write_artifact`)."""
        path = Path(path)
        params = self._linear.params
        manifest = {**self.manifest, **params.describe()}
        copies = {}
        if self.finetuned is not None:
            copies = {CLASSIFIER: self.finetuned.onnx_path, TOKENIZER: self.finetuned.tokenizer_path}
            manifest["finetuned"] = {**(manifest.get("finetuned") or {}), "file": CLASSIFIER, "tokenizer": TOKENIZER,
                                     "weight": FINETUNED_WEIGHT, "max_tokens": self.finetuned.max_tokens}
        else:
            manifest.pop("finetuned", None)
        self.manifest = write_artifact(path, arrays=params.arrays(), vocab=params.vocab(), manifest=manifest,
                                       copies=copies, overwrite=overwrite)
        if self.finetuned is not None:  # now read from the saved copy
            self.finetuned.onnx_path, self.finetuned.tokenizer_path = path / CLASSIFIER, path / TOKENIZER
        return path

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        """Load and verify an artifact directory; :class:`ArtifactError` on any inconsistency."""
        path = Path(path)
        manifest, arrays, vocab = read_artifact(path)
        try:
            finetuned = None
            if manifest.get("finetuned"):
                spec = manifest["finetuned"]
                if spec.get("weight") != FINETUNED_WEIGHT:
                    raise ArtifactError(f"{path}: fine-tuned weight {spec.get('weight')!r}, this code averages "
                                        f"with {FINETUNED_WEIGHT}")
                finetuned = FinetunedClassifier(path / CLASSIFIER, path / TOKENIZER, int(spec["max_tokens"]))
            return cls(LinearParams.from_stored(arrays, vocab, manifest), finetuned=finetuned, manifest=manifest)
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{path}: incomplete or inconsistent artifact ({type(e).__name__}: {e})") from e
