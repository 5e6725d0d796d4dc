"""Document quality scoring: an expected quality 1 (poor) .. 5 (excellent) per document.

What the pipeline calls:

* :mod:`.scorers` — ``BaselineScorer`` / ``LearnedScorer`` (the ``QualityScorer`` the stage runs)
  and ``is_gated`` (the quality gate);
* :mod:`.registry` — versioned artifacts, ``current`` pointer, shipped default in ``models/quality/``
  (the worker's is ``Registry(settings.quality_registry_dir)``).

How a score is made:

* :mod:`.baseline` — the documented heuristic (``score_quality``);
* the learned model, in the order the data flows: :mod:`.preprocess` (one text normalization for
  training rows and raw documents) → :mod:`.features` (TF-IDF, text statistics) →
  :mod:`.linear` (the linear half) and :mod:`.finetuned` (the optional fine-tuned MiniLM half,
  INT8 ONNX) → :mod:`.model` (``QualityModel``: both halves, ``score`` / ``score_many``), with
  :mod:`.classes` (classes → levels 1..5), :mod:`.metadata` (the metadata prior),
  :mod:`.explain` (exact contributions, word occlusion) and :mod:`.artifacts` (JSON + safetensors
  on disk, checksummed);
* :mod:`.evaluate` (metrics), :mod:`.embed_cache` (cached training embeddings) and the
  :mod:`.training` package (scikit-learn and torch: fitting, fine-tuning, CV,
  ``train_and_register``), never loaded at scoring time.

Wiring the learned model into a stage::

    model = Registry(settings.quality_registry_dir).load()   # current version (the shipped one by default)
    text = model.embedding_text(doc)           # cleaned text; embed it (first 256 tokens)
    q = model.score(doc, embedder.embed([text])[0], clean=text)   # -> QualityScore
    qs = model.score_many(docs, vectors)       # a batch: the fine-tuned half (if any) in one call

Updating the linear half from labelled feedback (online learning)::

    features = model.linear_features(docs, vectors)          # LinearFeatures: sparse TF-IDF, embedding, stats
    logits = model.linear_params.logits(features)             # (n, 3), what scoring computes
    params = dataclasses.replace(model.linear_params, bias=…)  # a new, validated LinearParams
    new = model.with_linear_params(params, version="1.2.1", lineage={…})
    registry.register(new, new.version, parent=model.version, metrics={…})
"""

from processors.quality.artifacts import ArtifactError
from processors.quality.baseline import MODEL_VERSION, label_for, quality_features, score_quality
from processors.quality.linear import LinearFeatures, LinearParams
from processors.quality.model import QualityModel
from processors.quality.preprocess import document_text, preprocess
from processors.quality.registry import Registry, RegistryError
from processors.quality.scorers import BaselineScorer, LearnedScorer, QualityScorer, is_gated

__all__ = [
    "MODEL_VERSION",
    "ArtifactError",
    "BaselineScorer",
    "LearnedScorer",
    "LinearFeatures",
    "LinearParams",
    "QualityModel",
    "QualityScorer",
    "Registry",
    "RegistryError",
    "document_text",
    "is_gated",
    "label_for",
    "preprocess",
    "quality_features",
    "score_quality",
]
