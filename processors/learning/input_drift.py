"""Unlabelled input drift: a window of documents against a reference window, per document type.

Labels arrive late and rarely; inputs arrive all the time. Per document type, two questions:

* **Did the documents change?** On their MiniLM embeddings: a *domain classifier* (L2 logistic
  regression, cross-validated) tries to tell reference from current; its out-of-fold ROC AUC is
  0.5 when it cannot (:func:`domain_classifier_auc`): it finds *new kinds* of documents. A kernel
  two-sample test answers with a p-value: MMD² with an RBF kernel, bandwidth by the median
  heuristic, null by permutation (:func:`mmd_test`): it also finds a changed *mix* of familiar
  documents, which a classifier cannot tell apart one by one. Either flags drift: MMD p < 0.01,
  or an AUC above Evidently's default 0.55 on windows of at least ``auc_min_rows`` documents.
  Below that the AUC is noise: on 250 + 250 real question embeddings from one distribution its
  standard deviation is 0.031 and 0.55 is crossed by 12 % of windows; on 1,000 + 1,000 it is
  0.018 and 0.55 is ≈ 3 σ. A 60/20/20 class mix against 33/33/33, on the other hand, leaves the
  AUC at 0.52 and MMD finds it in 88 % of 1,000-row windows (``bench/online.py``).
* **Did the scores change?** On the quality scores (1–5): the population stability index over
  fixed bins and a two-sample Kolmogorov-Smirnov test (:func:`score_shift`).

>>> rng = np.random.default_rng(0)
>>> ref = Window(rng.normal(size=(200, 8)), rng.uniform(1, 5, 200), ("code",) * 200)
>>> cur = Window(rng.normal(0.5, 1, size=(200, 8)), rng.uniform(1, 5, 200), ("code",) * 200)
>>> r = compare_windows(ref, cur)["code"]
>>> r.embedding_drift, r.score_drift
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["DriftThresholds", "InputDriftReport", "MmdResult", "ScoreShift", "Window", "compare_windows",
           "domain_classifier_auc", "mmd_test", "roc_auc", "score_shift"]

ALL_TYPES = "*"


@dataclass(frozen=True)
class Window:
    """Documents of one time window: embeddings (n, d), quality scores (n,), document types (n,)."""

    embeddings: np.ndarray
    scores: np.ndarray
    doc_types: Sequence[str]

    def select(self, doc_type: str) -> Window:
        if doc_type == ALL_TYPES:
            return self
        m = np.asarray(self.doc_types) == doc_type
        return Window(np.asarray(self.embeddings)[m], np.asarray(self.scores)[m], tuple(np.asarray(self.doc_types)[m]))

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class DriftThresholds:
    """Attributes:
        auc: domain-classifier AUC above which new kinds of documents arrived (Evidently's
            default), counted when both windows have ``auc_min_rows`` documents.
        mmd_alpha: MMD permutation p-value below which the embedding distribution changed.
        psi: score PSI above which the score distribution drifted (0.1–0.25 is usually read as
            "moderate", above 0.25 "major").
        min_rows: documents of a type each window needs before it is compared.
        max_rows: rows per window used by the tests (a seeded subsample beyond: MMD is O(n²)).
    """

    auc: float = 0.55
    auc_min_rows: int = 1000
    mmd_alpha: float = 0.01
    psi: float = 0.2
    min_rows: int = 100
    max_rows: int = 1000


@dataclass(frozen=True)
class MmdResult:
    mmd2: float
    p_value: float
    bandwidth: float


@dataclass(frozen=True)
class ScoreShift:
    psi: float
    ks: float
    ks_p_value: float
    mean_reference: float
    mean_current: float


@dataclass(frozen=True)
class InputDriftReport:
    """One document type's comparison."""

    doc_type: str
    n_reference: int
    n_current: int
    auc: float
    mmd: MmdResult
    scores: ScoreShift
    novel_documents: bool  # the domain classifier separates the windows
    mix_shift: bool  # MMD: the embedding distribution changed
    score_drift: bool

    @property
    def embedding_drift(self) -> bool:
        return self.novel_documents or self.mix_shift


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    n1, n0 = int(labels.sum()), int((~labels).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _fit_logistic(X: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    from scipy.optimize import minimize

    Xb = np.hstack([X, np.ones((len(X), 1))])
    reg = np.r_[np.full(X.shape[1], l2), 0.0]

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Xb @ w
        loss = np.logaddexp(0.0, z).sum() - y @ z + 0.5 * (reg * w * w).sum()
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return loss / len(y), (Xb.T @ (p - y) + reg * w) / len(y)

    return minimize(f, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 200}).x


def domain_classifier_auc(reference: np.ndarray, current: np.ndarray, *, folds: int = 5, l2: float = 1.0,
                          seed: int = 0) -> float:
    """Out-of-fold ROC AUC of an L2 logistic regression telling ``current`` rows from ``reference``
    rows (stratified ``folds``; features standardized on each training fold)."""
    X = np.vstack([reference, current]).astype(np.float64)
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    out = np.zeros(len(y))
    for k in range(folds):
        tr, te = fold != k, fold == k
        mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0) + 1e-9
        w = _fit_logistic((X[tr] - mu) / sd, y[tr], l2)
        out[te] = np.hstack([(X[te] - mu) / sd, np.ones((te.sum(), 1))]) @ w
    return roc_auc(y, out)


def mmd_test(reference: np.ndarray, current: np.ndarray, *, permutations: int = 200, seed: int = 0) -> MmdResult:
    """Unbiased MMD² between the two samples (RBF kernel, ``2σ²`` = median squared distance of the
    pooled rows) and its permutation p-value."""
    Z = np.vstack([reference, current]).astype(np.float64)
    n, N = len(reference), len(Z)
    sq = (Z * Z).sum(axis=1)
    D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * Z @ Z.T, 0.0)
    med = float(np.median(D[np.triu_indices(N, 1)])) or 1.0
    K = np.exp(-D / med)
    np.fill_diagonal(K, 0.0)
    m = N - n
    rng = np.random.default_rng(seed)
    S = np.zeros((N, permutations + 1))
    S[:n, 0] = 1.0
    for j in range(1, permutations + 1):
        S[rng.permutation(N)[:n], j] = 1.0
    KS = K @ S
    xx = (S * KS).sum(axis=0)
    row = K.sum(axis=1)
    xy = S.T @ row - xx
    yy = K.sum() - 2.0 * xy - xx
    stat = xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)
    p = float((1 + (stat[1:] >= stat[0]).sum()) / (permutations + 1))
    return MmdResult(float(stat[0]), p, float(np.sqrt(med / 2.0)))


def score_shift(reference: np.ndarray, current: np.ndarray, *, edges: np.ndarray | None = None) -> ScoreShift:
    """PSI over fixed bins (default: half-points of the 1–5 scale) and the two-sample KS test."""
    from scipy.stats import ks_2samp

    edges = np.arange(1.0, 5.01, 0.5) if edges is None else edges
    inner = edges[1:-1]
    a = np.bincount(np.digitize(reference, inner), minlength=len(edges) - 1) + 0.5
    b = np.bincount(np.digitize(current, inner), minlength=len(edges) - 1) + 0.5
    a, b = a / a.sum(), b / b.sum()
    ks = ks_2samp(reference, current)
    return ScoreShift(float(((b - a) * np.log(b / a)).sum()), float(ks.statistic), float(ks.pvalue),
                      float(np.mean(reference)), float(np.mean(current)))


def compare_windows(reference: Window, current: Window, thresholds: DriftThresholds | None = None, *,
                    seed: int = 0) -> dict[str, InputDriftReport]:
    """A report per document type present in both windows with ``min_rows`` each, and one for all
    types together (key ``"*"``)."""
    t = thresholds or DriftThresholds()
    rng = np.random.default_rng(seed)
    types = sorted(set(reference.doc_types) & set(current.doc_types))
    out: dict[str, InputDriftReport] = {}
    for doc_type in [ALL_TYPES, *types]:
        ref, cur = reference.select(doc_type), current.select(doc_type)
        if len(ref) < t.min_rows or len(cur) < t.min_rows:
            continue
        ri = rng.permutation(len(ref))[:t.max_rows]
        ci = rng.permutation(len(cur))[:t.max_rows]
        er, ec = np.asarray(ref.embeddings)[ri], np.asarray(cur.embeddings)[ci]
        auc = domain_classifier_auc(er, ec, seed=seed)
        scores = score_shift(np.asarray(ref.scores), np.asarray(cur.scores))
        mmd = mmd_test(er, ec, seed=seed)
        novel = auc > t.auc and min(len(er), len(ec)) >= t.auc_min_rows
        out[doc_type] = InputDriftReport(doc_type, len(ref), len(cur), auc, mmd, scores, novel,
                                         mmd.p_value < t.mmd_alpha, scores.psi > t.psi)
    return out
