"""processors.learning.fold: a learned head folds into the linear half exactly.

Checked against the shipped artifact 1.1.0 (the linear recipe of 1.2.0, no fine-tuned half) through
the quality model's hooks: ``linear_features`` → head features; ``fold_into`` → ``LinearParams`` →
``with_linear_params``; the new model scores documents as the head says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.learning.fold import HEAD_DIM, features_of, fold_head, fold_into, head_features, initial_head
from processors.learning.learner import HeadParams, softmax
from schemas.documents import Document

ARTIFACT = Path(__file__).resolve().parents[4] / "models" / "quality" / "1.1.0"
DOCS = [Document(id=f"d{i}", type="general", content=t, version="v", metadata=m) for i, (t, m) in enumerate([
    ("How do I sort a list in Python?\n\n```python\nxs.sort(key=len)\n```\nIt works, thanks.", {}),
    ("help urgent asdf", {"source_credibility": 0.9}),
    ("**Why** does this segfault?\n\n    int *p = NULL; *p = 1;\n", {}),
])]


@pytest.fixture(scope="module")
def model():
    from processors.quality.model import QualityModel

    if not ARTIFACT.is_dir():
        pytest.skip("shipped artifact 1.1.0 not present")
    return QualityModel.load(ARTIFACT)


@pytest.fixture(scope="module")
def embeddings(model) -> np.ndarray:
    e = np.random.default_rng(0).normal(size=(len(DOCS), model.dim))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_identity_head_is_the_linear_half(model, embeddings) -> None:
    params = model.linear_params
    feats = model.linear_features(DOCS, list(embeddings))
    X = features_of(params, feats)
    assert X.shape == (len(DOCS), HEAD_DIM)
    shift = feats.shift[:, None] * np.array([-1.0, 0.0, 1.0])
    assert np.allclose(initial_head().logits(X) + shift, params.logits(feats), atol=1e-5)
    folded = fold_head(params.arrays(), initial_head())
    assert all(np.allclose(folded[k], v) for k, v in params.arrays().items())


def test_a_learned_head_folds_into_a_new_model(model, embeddings) -> None:
    rng = np.random.default_rng(1)
    head = HeadParams(initial_head().weights + rng.normal(0, 0.1, (HEAD_DIM, 3)), rng.normal(0, 0.3, 3))
    X = features_of(model.linear_params, model.linear_features(DOCS, list(embeddings)))
    new = model.with_linear_params(fold_into(model.linear_params, head), version="1.1.0+online.1",
                                   lineage={"source": "online", "labels": 0})
    assert new.manifest["parent"] == "1.1.0" and new.version == "1.1.0+online.1"
    feats = new.linear_features(DOCS, list(embeddings))
    shift = feats.shift[:, None] * np.array([-1.0, 0.0, 1.0])
    want = head.logits(X.astype(np.float64)) + shift
    assert np.allclose(new.linear_params.logits(feats), want, atol=2e-4)  # float32 storage
    docs_without_metadata = [0, 2]
    assert np.allclose(new.predict_proba([new.embedding_text(DOCS[i]) for i in docs_without_metadata],
                                         embeddings[docs_without_metadata]),
                       softmax(want[docs_without_metadata]), atol=1e-4)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        head_features(np.zeros((2, 3)), np.zeros((2, 10)), np.zeros((2, 18)))
    with pytest.raises(ValueError):
        fold_head({}, HeadParams.identity(10, 3))
