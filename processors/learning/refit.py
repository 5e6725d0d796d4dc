"""A head refitted to convergence: the per-candidate counterpart of the online updates.

The online head takes one small step per mini-batch; when a candidate version is cut, the same
objective — weighted cross-entropy plus ``l2/2 ‖W − anchor‖²`` — can also be minimised outright
(L-BFGS, warm-started from the online head) on the replay reservoir, a uniform sample of the
current concept's labels. Right after a concept shift that is what catches up: the online head is
short of steps, a batch fit is not. :meth:`processors.learning.session.OnlineSession.cut` offers
both and lets the held-back rows choose.

>>> rng = np.random.default_rng(0)
>>> y = rng.integers(2, size=400); X = np.c_[y * 2.0 - 1 + rng.normal(size=400), np.ones(400)]
>>> head = fit_head(X, y, None, HeadParams(np.zeros((2, 2)), np.zeros(2)), l2=1e-3)
>>> bool((head.predict_proba(X).argmax(1) == y).mean() > 0.8)
True
"""

from __future__ import annotations

import numpy as np

from processors.learning.learner import HeadParams, softmax

__all__ = ["fit_head"]


def fit_head(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, start: HeadParams, *, l2: float,
             anchor: np.ndarray | None = None, max_iter: int = 500) -> HeadParams:
    """Minimise ``Σ w·CE / Σ w + l2/2 ‖W − anchor‖²`` (anchor: ``start``'s weights when None) from ``start``."""
    from scipy.optimize import minimize

    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.int64)
    w = np.ones(len(y)) if w is None else np.asarray(w, np.float64)
    dim, k = start.weights.shape
    A = start.weights if anchor is None else np.asarray(anchor, np.float64)
    Y = np.eye(k)[y]
    wn = w / max(float(w.sum()), 1e-12)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[:dim * k].reshape(dim, k), theta[dim * k:]
        P = softmax(X @ W + b)
        loss = -(wn * np.log(np.clip((P * Y).sum(axis=1), 1e-12, 1.0))).sum() + 0.5 * l2 * ((W - A) ** 2).sum()
        G = (P - Y) * wn[:, None]
        return float(loss), np.r_[(X.T @ G + l2 * (W - A)).ravel(), G.sum(axis=0)]

    theta = minimize(objective, np.r_[start.weights.ravel(), start.bias], jac=True, method="L-BFGS-B",
                     options={"maxiter": max_iter}).x
    return HeadParams(theta[:dim * k].reshape(dim, k), theta[dim * k:])
