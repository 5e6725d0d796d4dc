"""processors.learning.input_drift: quiet on one distribution, loud on a shift, per document type."""

from __future__ import annotations

import numpy as np

from processors.learning.input_drift import (DriftThresholds, Window, compare_windows, domain_classifier_auc,
                                             mmd_test, roc_auc, score_shift)


def _emb(rng: np.random.Generator, n: int, shift: float = 0.0, d: int = 16) -> np.ndarray:
    X = rng.normal(size=(n, d))
    X[:, 0] += shift
    return X / np.linalg.norm(X, axis=1, keepdims=True)  # unit vectors, like MiniLM's


def test_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    rng = np.random.default_rng(0)
    y, s = rng.integers(2, size=300), rng.normal(size=300).round(1)  # ties included
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    assert np.isclose(roc_auc(y, s), ((pos > neg) + 0.5 * (pos == neg)).mean())


def test_null_windows_stay_quiet() -> None:
    rng = np.random.default_rng(1)
    aucs, ps = [], []
    for k in range(6):
        a, b = _emb(rng, 300), _emb(rng, 300)
        aucs.append(domain_classifier_auc(a, b, seed=k))
        ps.append(mmd_test(a, b, permutations=200, seed=k).p_value)
    assert abs(np.mean(aucs) - 0.5) < 0.03
    assert min(ps) >= DriftThresholds().mmd_alpha


def test_a_changed_mix_is_a_mix_shift_not_novel_documents() -> None:
    """Two kinds of documents, 50/50 in the reference and 85/15 now: MMD sees it, while no
    classifier can tell a document of one window from one of the other much better than chance."""
    rng = np.random.default_rng(5)
    kinds = np.eye(2, 16) * 1.5

    def window(n: int, p_first: float) -> np.ndarray:
        k = (rng.random(n) >= p_first).astype(int)
        return kinds[k] + rng.normal(size=(n, 16))

    n = 300
    ref = Window(window(n, 0.5), rng.uniform(1, 5, n), ("code",) * n)
    cur = Window(window(n, 0.85), rng.uniform(1, 5, n), ("code",) * n)
    r = compare_windows(ref, cur, DriftThresholds(min_rows=100, auc_min_rows=300))["code"]
    assert r.mix_shift and r.embedding_drift
    assert r.auc < 0.65


def test_a_shift_is_seen_by_both_embedding_tests() -> None:
    rng = np.random.default_rng(2)
    a, b = _emb(rng, 300), _emb(rng, 300, shift=0.5)
    assert domain_classifier_auc(a, b) > 0.6
    assert mmd_test(a, b, permutations=100).p_value < 0.02


def test_per_type_reports_isolate_the_drifting_type() -> None:
    rng = np.random.default_rng(3)
    types = np.array(["code"] * 300 + ["documentation"] * 300)
    ref = Window(np.vstack([_emb(rng, 300), _emb(rng, 300)]), rng.uniform(1, 5, 600), tuple(types))
    cur = Window(np.vstack([_emb(rng, 300, shift=0.8), _emb(rng, 300)]),
                 np.r_[rng.uniform(1, 5, 300), rng.uniform(1, 2.5, 300)], tuple(types))
    r = compare_windows(ref, cur, DriftThresholds(min_rows=100))
    assert set(r) == {"*", "code", "documentation"}
    assert r["code"].embedding_drift and not r["documentation"].embedding_drift
    assert r["code"].mix_shift and not r["code"].novel_documents  # 300 rows: too few for the AUC rule
    assert r["documentation"].score_drift and not r["code"].score_drift
    assert r["documentation"].scores.mean_current < r["documentation"].scores.mean_reference


def test_small_types_are_skipped_and_psi_is_zero_for_equal_histograms() -> None:
    rng = np.random.default_rng(4)
    w = Window(_emb(rng, 120), rng.uniform(1, 5, 120), ("code",) * 110 + ("text",) * 10)
    assert set(compare_windows(w, w, DriftThresholds(min_rows=50))) == {"*", "code"}
    s = rng.uniform(1, 5, 1000)
    assert score_shift(s, s).psi == 0.0 and score_shift(s, s).ks_p_value == 1.0
