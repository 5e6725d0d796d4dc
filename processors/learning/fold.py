"""The online head over the quality model's linear half, and folding it back into that half.

Head features of a document (:func:`head_features`), in this order::

    l (3)   the linear half's class logits, without the metadata shift
    e (384) the MiniLM embedding the linear half used (its training mean when there was none)
    z (18)  the standardized text statistics, (text_stats − stats.mean) / stats.scale

The linear half computes ``l = bias + Σ_t x_t W_t + e W_emb + z W_stats + relu([e, z] w1 + b1) w2 + b2``
(:class:`processors.quality.model.QualityModel`). A head ``l' = l A + e U_e + z U_z + c`` (with
``A`` the first three rows of the head's weights) is therefore the same kind of model, with

    bias' = bias A + c      W_t' = W_t A      W_emb' = W_emb A + U_e      W_stats' = W_stats A + U_z
    w2'   = w2 A            b2'  = b2 A       (w1, b1, TF-IDF vocabularies and idf unchanged)

:func:`fold_head` does exactly that on the artifact's arrays (named as in ``weights.safetensors``),
so a candidate is an ordinary artifact and explanations stay exact. The identity head
(:meth:`~processors.learning.learner.HeadParams.identity`) folds to the arrays unchanged.

With the quality model's hooks: :func:`features_of` turns ``QualityModel.linear_features(docs,
embeddings)`` into head features, and :func:`fold_into` a head into a new ``LinearParams`` for
``QualityModel.with_linear_params(params, version=…, lineage=…)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from processors.learning.learner import HeadParams
from processors.quality.linear import LinearFeatures, LinearParams

__all__ = ["EMBEDDING_DIM", "HEAD_DIM", "STATS_DIM", "features_of", "fold_head", "fold_into", "head_features",
           "initial_head"]

CLASSES = 3
EMBEDDING_DIM = 384
STATS_DIM = 18
HEAD_DIM = CLASSES + EMBEDDING_DIM + STATS_DIM


def head_features(linear_logits: np.ndarray, embeddings: np.ndarray, stats_z: np.ndarray) -> np.ndarray:
    """``[l, e, z]`` rows (float32: what checkpoints and replay store) for ``n`` documents.

    >>> head_features(np.zeros((2, 3)), np.zeros((2, 384)), np.zeros((2, 18))).shape
    (2, 405)
    """
    l, e, z = (np.atleast_2d(np.asarray(a, np.float64)) for a in (linear_logits, embeddings, stats_z))
    if l.shape[1] != CLASSES or e.shape[1] != EMBEDDING_DIM or z.shape[1] != STATS_DIM or not len(l) == len(e) == len(z):
        raise ValueError(f"head features need (n, 3), (n, 384), (n, 18); got {l.shape}, {e.shape}, {z.shape}")
    return np.hstack([l, e, z]).astype(np.float32)


def initial_head() -> HeadParams:
    """The head that reproduces the linear half exactly: ``A = I``, ``U = 0``, ``c = 0``."""
    return HeadParams.identity(HEAD_DIM, CLASSES)


def fold_head(arrays: Mapping[str, np.ndarray], head: HeadParams) -> dict[str, np.ndarray]:
    """The linear half's arrays with ``head`` folded in (float32, the artifact's precision); arrays
    the head does not touch (means, scales, idf, ``mlp.w1``/``mlp.b1``) are passed through."""
    if head.weights.shape != (HEAD_DIM, CLASSES):
        raise ValueError(f"head of shape {head.weights.shape}, expected ({HEAD_DIM}, {CLASSES})")
    W = head.weights
    A, Ue, Uz = W[:CLASSES], W[CLASSES:CLASSES + EMBEDDING_DIM], W[CLASSES + EMBEDDING_DIM:]
    out: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        a64 = np.asarray(a, np.float64)
        if name == "bias":
            v = a64 @ A + head.bias
        elif name == "emb.weights":
            v = a64 @ A + Ue
        elif name == "stats.weights":
            v = a64 @ A + Uz
        elif (name.startswith("tfidf.") and name.endswith(".weights")) or name in ("mlp.w2", "mlp.b2"):
            v = a64 @ A
        else:
            out[name] = np.asarray(a)
            continue
        out[name] = v.astype(np.float32)
    return out


def features_of(params: LinearParams, features: LinearFeatures) -> np.ndarray:
    """Head features of a batch from the linear half's own inputs: its logits *without* the
    metadata shift (the scorer adds the shift after the head, as it does after the linear half)."""
    plain = replace(features, shift=np.zeros(len(features)))
    return head_features(params.logits(plain), features.embedding, features.stats)


def fold_into(params: LinearParams, head: HeadParams) -> LinearParams:
    """``params`` with ``head`` folded in (see the module doc)."""
    return LinearParams.from_stored(fold_head(params.arrays(), head), params.vocab(), params.describe())
