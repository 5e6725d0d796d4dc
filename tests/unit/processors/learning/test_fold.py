"""processors.learning.fold: a learned head folds into the linear half exactly.

Checked against the shipped artifact 1.1.0 (the linear recipe of 1.2.0, no fine-tuned half): the
head features of a document reproduce ``QualityModel.logits``, and the folded arrays give the
head's logits through the model's own formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.learning.fold import HEAD_DIM, fold_head, head_features, initial_head
from processors.learning.learner import HeadParams

ARTIFACT = Path(__file__).resolve().parents[4] / "models" / "quality" / "1.1.0"
TEXTS = ["how sort list python pre code xs sort(key len) code pre works fine thanks",
         "help urgent asdf", "strong why strong segfault pointer c pre code int p null code pre"]


@pytest.fixture(scope="module")
def model():
    from processors.quality.model import QualityModel

    if not ARTIFACT.is_dir():
        pytest.skip("shipped artifact 1.1.0 not present")
    return QualityModel.load(ARTIFACT)


def _linear_logits(model, arrays: dict[str, np.ndarray], clean: str, e: np.ndarray) -> np.ndarray:
    """The linear half's logits from raw arrays (the formula in processors.quality.model)."""
    from processors.quality.features import text_stats

    a = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
    z = (text_stats(clean) - a["stats.mean"]) / a["stats.scale"]
    out = a["bias"] + e @ a["emb.weights"] + z @ a["stats.weights"]
    for name, (vec, _) in model.tfidf.items():
        idx, val = vec.transform_one(clean)
        out = out + val @ a[f"tfidf.{name}.weights"][idx]
    if "mlp.w1" in a:
        out = out + np.maximum(0.0, np.r_[e, z] @ a["mlp.w1"] + a["mlp.b1"]) @ a["mlp.w2"] + a["mlp.b2"]
    return out


def _features(model, clean: str, e: np.ndarray) -> np.ndarray:
    from processors.quality.features import text_stats

    z = (text_stats(clean) - model.stats_mean.astype(np.float64)) / model.stats_scale.astype(np.float64)
    return head_features(model.logits(clean, e)[None], e[None], z[None])


def test_reference_formula_is_the_model(model) -> None:
    rng = np.random.default_rng(0)
    arrays = model._arrays()
    for t in TEXTS:
        e = rng.normal(size=model.dim)
        e /= np.linalg.norm(e)
        assert np.allclose(_linear_logits(model, arrays, t, e), model.logits(t, e), atol=1e-9)


def test_identity_head_folds_to_the_same_arrays(model) -> None:
    arrays = model._arrays()
    folded = fold_head(arrays, initial_head())
    assert set(folded) == set(arrays)
    assert all(np.allclose(folded[k], arrays[k]) for k in arrays)


def test_a_learned_head_folds_exactly(model) -> None:
    rng = np.random.default_rng(1)
    head = HeadParams(initial_head().weights + rng.normal(0, 0.1, (HEAD_DIM, 3)), rng.normal(0, 0.3, 3))
    folded = fold_head(model._arrays(), head)
    for t in TEXTS:
        e = rng.normal(size=model.dim)
        e /= np.linalg.norm(e)
        want = head.logits(_features(model, t, e).astype(np.float64))[0]
        assert np.allclose(_linear_logits(model, folded, t, e), want, atol=2e-4)  # float32 storage


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        head_features(np.zeros((2, 3)), np.zeros((2, 10)), np.zeros((2, 18)))
    with pytest.raises(ValueError):
        fold_head({}, HeadParams.identity(10, 3))
