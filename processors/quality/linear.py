"""The linear half of the quality model: class logits linear in the features, plus one small MLP.

::

    logit = b + Σ_tfidf x_tfidf · W_tfidf + e · W_emb + z · W_stats [+ MLP(e, z)] + δ_meta · u

``x_tfidf`` are TF-IDF vectors (:class:`processors.quality.features.Tfidf`), ``e`` the MiniLM
embedding of :func:`processors.quality.preprocess.document_text`, ``z`` the standardized
:func:`~processors.quality.features.text_stats`, ``δ_meta`` the metadata prior
(:func:`processors.quality.metadata.metadata_shift`) along ``u`` =
:data:`~processors.quality.classes.META_DIRECTION`. Training (:mod:`processors.quality.training`)
fits base models and a stacking layer and folds them into these effective weights, so every term
is additive and explanations are exact.

* :class:`LinearParams` — the parameters as one typed, validated value (float32, as stored);
  ``dataclasses.replace(params, bias=…)`` makes an updated copy (validated again);
* :class:`LinearFeatures` — what the parameters multiply, for a batch of documents;
  :meth:`LinearParams.logits` of them equals what scoring computes one document at a time;
* :class:`LinearHalf` — scoring one cleaned text (float64), term by term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from processors.quality.artifacts import ArtifactError
from processors.quality.classes import CLASSES, META_DIRECTION
from processors.quality.features import STAT_NAMES, Tfidf, text_stats

__all__ = ["LinearFeatures", "LinearHalf", "LinearParams", "LinearTerms", "mlp_logits"]

MLP_KEYS = ("w1", "b1", "w2", "b2")


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)  # the stored precision


@dataclass(frozen=True, eq=False)
class LinearParams:
    """Every parameter of the linear half (float32; :data:`CLASSES` order on the last axis).

    ``tfidf`` maps a vectorizer name (``word``, ``char``) to the fitted vectorizer and its weights
    (terms, 3); ``mlp`` is ``{"w1": (dim + 18, h), "b1": (h,), "w2": (h, 3), "b2": (3,)}`` (ReLU)
    or None. Construction checks every shape and that every value is finite
    (:class:`~processors.quality.artifacts.ArtifactError` otherwise).
    """

    bias: np.ndarray  # (3,)
    emb_weights: np.ndarray  # (dim, 3)
    emb_mean: np.ndarray  # (dim,): the training mean, used when a document has no embedding
    stats_mean: np.ndarray  # (18,)
    stats_scale: np.ndarray  # (18,)
    stats_weights: np.ndarray  # (18, 3)
    tfidf: Mapping[str, tuple[Tfidf, np.ndarray]] = field(default_factory=dict)
    mlp: Mapping[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        for name in ("bias", "emb_weights", "emb_mean", "stats_mean", "stats_scale", "stats_weights"):
            object.__setattr__(self, name, _f32(getattr(self, name)))
        tfidf = {}
        for name, (vec, w) in self.tfidf.items():
            vec.idf = _f32(vec.idf).astype(np.float64)  # what the artifact stores, so save/load is exact
            tfidf[name] = (vec, _f32(w))
        object.__setattr__(self, "tfidf", tfidf)
        object.__setattr__(self, "mlp", {k: _f32(v) for k, v in self.mlp.items()} if self.mlp else None)
        self._check()

    @property
    def dim(self) -> int:
        """Embedding dimensions."""
        return int(self.emb_weights.shape[0])

    def _check(self) -> None:
        k, d, s = len(CLASSES), self.dim, len(STAT_NAMES)
        problems = []
        if self.bias.shape != (k,):
            problems.append(f"bias {self.bias.shape}")
        if self.emb_weights.shape != (d, k) or self.emb_mean.shape != (d,):
            problems.append(f"embedding weights {self.emb_weights.shape} / mean {self.emb_mean.shape}")
        if self.stats_mean.shape != (s,) or self.stats_scale.shape != (s,) or self.stats_weights.shape != (s, k):
            problems.append(f"statistics {self.stats_mean.shape} {self.stats_scale.shape} {self.stats_weights.shape}")
        for name, (vec, w) in self.tfidf.items():
            if w.shape != (vec.size, k) or vec.idf.shape != (vec.size,):
                problems.append(f"tfidf {name}: {vec.size} terms, weights {w.shape}, idf {vec.idf.shape}")
        if self.mlp is not None:
            w1, b1, w2, b2 = (self.mlp.get(n) for n in MLP_KEYS)
            if w1 is None or b1 is None or w2 is None or b2 is None:
                problems.append("mlp needs w1, b1, w2, b2")
            elif not (w1.shape[0] == d + s and b1.shape == (w1.shape[1],) and w2.shape == (w1.shape[1], k)
                      and b2.shape == (k,)):
                problems.append(f"mlp shapes {w1.shape} {b1.shape} {w2.shape} {b2.shape}")
        if problems:
            raise ArtifactError("inconsistent quality model: " + "; ".join(problems))
        for name, arr in self.arrays().items():
            if not np.all(np.isfinite(arr)):
                raise ArtifactError(f"quality model array {name} has non-finite values")

    # ------------------------------------------------------------------ storage
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays as the artifact stores them (``weights.safetensors`` names)."""
        arrays = {
            "bias": self.bias,
            "emb.weights": self.emb_weights,
            "emb.mean": self.emb_mean,
            "stats.mean": self.stats_mean,
            "stats.scale": self.stats_scale,
            "stats.weights": self.stats_weights,
        }
        for name, (vec, w) in self.tfidf.items():
            arrays[f"tfidf.{name}.idf"] = vec.idf.astype(np.float32)
            arrays[f"tfidf.{name}.weights"] = w
        if self.mlp is not None:
            arrays.update({f"mlp.{k}": v for k, v in self.mlp.items()})
        return arrays

    def vocab(self) -> dict[str, list[str]]:
        """TF-IDF terms per vectorizer (``vocab.json``)."""
        return {name: vec.terms for name, (vec, _) in self.tfidf.items()}

    def describe(self) -> dict[str, Any]:
        """The manifest's ``tfidf`` and ``mlp`` entries."""
        return {
            "tfidf": {name: {"analyzer": vec.analyzer, "ngram": list(vec.ngram), "terms": vec.size,
                             "max_chars": vec.max_chars}
                      for name, (vec, _) in self.tfidf.items()},
            "mlp": None if self.mlp is None else {"hidden": int(self.mlp["w1"].shape[1]), "activation": "relu"},
        }

    @classmethod
    def from_stored(cls, arrays: Mapping[str, np.ndarray], vocab: Mapping[str, Sequence[str]],
                    manifest: Mapping[str, Any]) -> LinearParams:
        """The inverse of :meth:`arrays`, :meth:`vocab` and :meth:`describe` (KeyError when incomplete)."""
        tfidf = {}
        for name, spec in (manifest.get("tfidf") or {}).items():
            vec = Tfidf(spec["analyzer"], tuple(spec["ngram"]), vocab[name], arrays[f"tfidf.{name}.idf"],
                        spec.get("max_chars"))
            tfidf[name] = (vec, arrays[f"tfidf.{name}.weights"])
        return cls(
            bias=arrays["bias"],
            emb_weights=arrays["emb.weights"],
            emb_mean=arrays["emb.mean"],
            stats_mean=arrays["stats.mean"],
            stats_scale=arrays["stats.scale"],
            stats_weights=arrays["stats.weights"],
            tfidf=tfidf,
            mlp={k: arrays[f"mlp.{k}"] for k in MLP_KEYS} if manifest.get("mlp") else None,
        )

    # ------------------------------------------------------------------ batch
    def logits(self, features: LinearFeatures) -> np.ndarray:
        """Class logits (n, 3) of a batch of features (float64); what :class:`LinearHalf` computes
        one document at a time, up to float rounding."""
        f64 = lambda a: a.astype(np.float64)  # noqa: E731
        out = f64(self.bias) + features.embedding @ f64(self.emb_weights) + features.stats @ f64(self.stats_weights)
        for name, (_, w) in self.tfidf.items():
            out = out + np.asarray(features.tfidf[name] @ f64(w))
        if self.mlp is not None:
            out = out + mlp_logits({k: f64(v) for k, v in self.mlp.items()}, np.hstack([features.embedding, features.stats]))
        return out + features.shift[:, None] * META_DIRECTION


def mlp_logits(w: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """ReLU MLP logits of inputs ``x`` (one row, or (n, dim + 18))."""
    return np.maximum(0.0, x @ w["w1"] + w["b1"]) @ w["w2"] + w["b2"]


@dataclass(frozen=True, eq=False)
class LinearFeatures:
    """The linear half's inputs for n documents: what :class:`LinearParams` multiplies.

    ``tfidf``: per vectorizer, a ``scipy.sparse.csr_matrix`` (n, terms); ``embedding`` (n, dim)
    (the training mean where a document had none); ``stats`` (n, 18), standardized; ``shift`` (n,),
    the metadata prior in logit units.
    """

    tfidf: Mapping[str, Any]
    embedding: np.ndarray
    stats: np.ndarray
    shift: np.ndarray

    def __len__(self) -> int:
        return int(self.embedding.shape[0])


@dataclass(frozen=True, eq=False)
class LinearTerms:
    """Every additive term of one cleaned text's logits (float64, each (3,) or (m, 3))."""

    e: np.ndarray  # the embedding (input)
    z: np.ndarray  # the standardized statistics (input)
    tfidf: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # name → (columns, values, per-term logits)
    embedding: np.ndarray  # e · W_emb
    stats: np.ndarray  # z_i · W_stats[i], one row per statistic
    mlp: np.ndarray  # MLP(e, z), zeros without one


class LinearHalf:
    """Scores cleaned texts with :class:`LinearParams` (float64 copies made once). Read-only."""

    def __init__(self, params: LinearParams) -> None:
        self.params = params
        self._bias64 = params.bias.astype(np.float64)
        self._emb64 = params.emb_weights.astype(np.float64)
        self._stats64 = params.stats_weights.astype(np.float64)
        self._mlp64 = {k: v.astype(np.float64) for k, v in params.mlp.items()} if params.mlp else None

    @property
    def bias(self) -> np.ndarray:
        return self._bias64

    def embedding(self, embedding: np.ndarray | None) -> np.ndarray:
        """``embedding`` as float64 (the training mean when None); ValueError on a wrong size."""
        if embedding is None:
            return self.params.emb_mean.astype(np.float64)
        e = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if e.shape != (self.params.dim,):
            raise ValueError(f"expected an embedding of {self.params.dim} dimensions, got {e.shape}")
        return e

    def standardized_stats(self, clean: str) -> np.ndarray:
        return (text_stats(clean) - self.params.stats_mean) / self.params.stats_scale

    def terms(self, clean: str, embedding: np.ndarray | None) -> LinearTerms:
        e = self.embedding(embedding)
        z = self.standardized_stats(clean)
        tfidf = {}
        for name, (vec, w) in self.params.tfidf.items():
            idx, val = vec.transform_one(clean)
            tfidf[name] = (idx, val, val[:, None] * w[idx].astype(np.float64))
        mlp = np.zeros(len(CLASSES)) if self._mlp64 is None else mlp_logits(self._mlp64, np.concatenate([e, z]))
        return LinearTerms(e=e, z=z, tfidf=tfidf, embedding=e @ self._emb64, stats=z[:, None] * self._stats64,
                           mlp=mlp)

    def logits(self, clean: str, embedding: np.ndarray | None = None, shift: float = 0.0,
               terms: LinearTerms | None = None) -> np.ndarray:
        """Class logits (float64, :data:`CLASSES` order) of a cleaned text (from ``terms`` when the
        caller has them)."""
        t = terms if terms is not None else self.terms(clean, embedding)
        out = self._bias64 + t.embedding + t.stats.sum(axis=0) + t.mlp + shift * META_DIRECTION
        for _, _, c in t.tfidf.values():
            out = out + c.sum(axis=0)
        return out

    def features(self, cleans: Sequence[str], embeddings: Sequence[np.ndarray | None],
                 shifts: Sequence[float]) -> LinearFeatures:
        """The batch inputs of cleaned texts (see :class:`LinearFeatures`)."""
        n = len(cleans)
        dim = self.params.dim
        return LinearFeatures(
            tfidf={name: vec.transform(cleans) for name, (vec, _) in self.params.tfidf.items()},
            embedding=np.stack([self.embedding(e) for e in embeddings]) if n else np.zeros((0, dim)),
            stats=np.stack([self.standardized_stats(c) for c in cleans]) if n else np.zeros((0, len(STAT_NAMES))),
            shift=np.asarray(shifts, dtype=np.float64).reshape(n),
        )
