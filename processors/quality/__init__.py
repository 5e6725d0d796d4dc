"""Document quality scoring: an expected quality 1 (poor) .. 5 (excellent) per document.

* :mod:`.baseline` — the documented heuristic the pipeline uses today (``score_quality``).
* The learned model: :mod:`.preprocess` (one text normalization for training rows and raw
  documents), :mod:`.features` (TF-IDF, text statistics), :mod:`.model` (``QualityModel``: pure
  numpy inference, JSON + safetensors artifact), :mod:`.finetune` (the optional second half:
  MiniLM fine-tuned end to end, INT8 ONNX, averaged with the linear model), :mod:`.train` /
  :mod:`.evaluate` (scikit-learn at training only), :mod:`.registry` (versioned artifacts,
  ``current`` pointer, shipped default in ``models/quality/``).

Wiring the learned model into a stage::

    model = load_model()                       # current version (the shipped one by default)
    text = model.embedding_text(doc)           # cleaned text; embed it (first 256 tokens)
    q = model.score(doc, embedder.embed([text])[0], clean=text)   # -> QualityScore
    qs = model.score_many(docs, vectors)       # a batch: the fine-tuned half (if any) in one call
"""

from processors.quality.baseline import MODEL_VERSION, label_for, quality_features, score_quality
from processors.quality.model import ArtifactError, QualityModel
from processors.quality.preprocess import document_text, preprocess
from processors.quality.registry import Registry, RegistryError, load_model

__all__ = [
    "MODEL_VERSION",
    "ArtifactError",
    "QualityModel",
    "Registry",
    "RegistryError",
    "document_text",
    "label_for",
    "load_model",
    "preprocess",
    "quality_features",
    "score_quality",
]
