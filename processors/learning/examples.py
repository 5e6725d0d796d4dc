"""Labelled feedback as learning examples: keys, the held-back slice, head features and model scores.

The learner turns each :class:`~schemas.feedback.Feedback` (joined with its text) into a
:class:`~schemas.documents.Document`, embeds it as the pipeline does for the quality model, and
then needs, per batch:

* :func:`head_rows`: the online head's features, from the *base* model's linear half
  (:func:`processors.learning.fold.features_of`);
* :func:`model_proba`: a whole model's class probabilities (both halves), to compare two versions
  on the same labelled examples (the A/B test) or to validate a candidate;
* :func:`candidate_models`: the versions one online head can become.

An example's key is its source id (or its content hash): the held-back slice is a stable hash of
it (:func:`holdout_of`), so a document's labels are either all learned or all held back.

>>> holdout_of("doc-1") == holdout_of("doc-1")
True
>>> sum(holdout_of(f"doc-{i}") for i in range(10_000)) in range(900, 1100)
True
"""

from __future__ import annotations

import hashlib
from typing import Mapping, Sequence

import numpy as np

from processors.learning.fold import features_of, fold_into
from processors.learning.learner import HeadParams
from processors.learning.rollout import bucket
from processors.quality.artifacts import CLASSIFIER
from processors.quality.classes import CLASSES
from processors.quality.metadata import metadata_shift
from processors.quality.model import QualityModel
from processors.quality.preprocess import document_text
from processors.validate import content_version
from schemas.documents import Document, DocumentType
from schemas.feedback import Feedback

__all__ = ["HOLDOUT_SHARE", "candidate_models", "class_index", "example_document", "example_key", "head_rows",
           "holdout_of", "model_proba"]

#: Share of examples (by key) never learned: they validate candidates.
HOLDOUT_SHARE = 0.1
_HOLDOUT_SALT = "assay-holdout"


def example_key(feedback: Feedback) -> str:
    """The source id, or ``sha256:<hex>`` of the content for feedback that carries its text."""
    if feedback.source_id is not None:
        return feedback.source_id
    assert feedback.content is not None
    return "sha256:" + hashlib.sha256(feedback.content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def holdout_of(key: str, share: float = HOLDOUT_SHARE) -> bool:
    return bucket(key, _HOLDOUT_SALT) < share


def class_index(name: str) -> int:
    return CLASSES.index(name)


def example_document(key: str, text: str, doc_type: str | None) -> Document:
    """The document a label is about, as the pipeline's quality stage sees it."""
    try:
        dtype = DocumentType(doc_type) if doc_type else DocumentType.general
    except ValueError:
        dtype = DocumentType.general
    return Document(id=key, type=dtype, content=text, version=content_version(text))


def head_rows(base: QualityModel, docs: Sequence[Document], embeddings: np.ndarray) -> np.ndarray:
    """(n, 405) head features of ``docs`` over ``base``'s linear half."""
    return features_of(base.linear_params, base.linear_features(docs, list(embeddings)))


def model_proba(model: QualityModel, docs: Sequence[Document], embeddings: np.ndarray) -> np.ndarray:
    """(n, 3) class probabilities of the whole model (both halves, metadata prior included)."""
    cleans = [document_text(d) for d in docs]
    shifts = [metadata_shift(d.metadata) for d in docs]
    return model.predict_proba(cleans, np.asarray(embeddings), shifts)


def _half_checksum(model: QualityModel) -> str | None:
    return (model.manifest.get("files") or {}).get(CLASSIFIER) if model.finetuned is not None else None


def candidate_models(base: QualityModel, head: HeadParams, *, version: str, lineage: Mapping[str, object],
                     published: QualityModel | None = None) -> dict[str, QualityModel]:
    """What an online head can become: ``base`` with the head folded into its linear half, and, when
    ``base`` has a fine-tuned half, the same without it (``linear_only``); when ``published`` has a
    fine-tuned half other than ``base``'s (a fine-tuning job's, promoted), the same with that one
    (``published_half``).

    The fine-tuned half does not learn online; after a concept shift it keeps voting for the old
    labels with half the weight, so the linear-only variant is offered too and the held-back
    examples choose. The encoder half a background job continued (:mod:`processors.quality.training.continued`)
    reaches the published version through an A/B test; the next cut keeps it on offer.
    """
    params = fold_into(base.linear_params, head)
    with_both = base.with_linear_params(params, version=version, lineage={**lineage, "variant": "online_head"})
    out = {"online_head": with_both}
    if base.finetuned is not None:
        alone = QualityModel(params, finetuned=None,
                             manifest={**with_both.manifest, "lineage": {**lineage, "variant": "linear_only"}})
        alone.manifest.pop("finetuned", None)
        out["linear_only"] = alone
    if published is not None and _half_checksum(published) not in (None, _half_checksum(base)):
        assert published.finetuned is not None
        out["published_half"] = QualityModel(params, finetuned=published.finetuned, manifest={
            **with_both.manifest, "finetuned": published.manifest["finetuned"],
            "lineage": {**lineage, "variant": "published_half"}})
    return out
