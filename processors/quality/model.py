"""The learned quality model: pure-numpy inference from a JSON + safetensors artifact.

Quality levels
--------------
The training data has three labels; the pipeline wants an expected quality on 1..5. The model is a
3-class classifier and each class is spread over the five levels by a fixed distribution
(:data:`LEVEL_DISTRIBUTION`)::

    LQ_CLOSE  closed as is, never fixed            → levels 1 (50 %) 2 (50 %)              mean 1.5
    LQ_EDIT   poor but fixable, kept after edits    → levels 2 (25 %) 3 (50 %) 4 (25 %)     mean 3.0
    HQ        good as posted, no edit needed        → levels 4 (50 %) 5 (50 %)              mean 4.5

``P(level) = Σ_c P(c) · D[c, level]`` and the expected score is ``Σ_level P(level) · level =
Σ_c P(c) · mean_c`` (1.5 … 4.5; the metadata shift can move it further, clipped to 1..5). The label
is :func:`processors.quality.baseline.label_for` of that score. The gate compares its threshold with
the expected score: with the default threshold 2.0 a document is dropped only when the model is
fairly sure it is LQ_CLOSE material (e.g. P(LQ_CLOSE) ≥ 0.67 with the rest on LQ_EDIT).

Why those means: LQ_CLOSE is the bottom of the data (closed, nobody repaired it) so it sits at
the bottom band; HQ questions needed no edit at all but are still ordinary questions, not curated
references, hence 4.5 rather than 5; LQ_EDIT is the middle (poor as posted, good enough after
edits). Spreading each class over neighbouring levels keeps the level distribution honest: the
data cannot tell a 4 from a 5.

Model
-----
Class logits are linear in the features, plus an optional small MLP on (embedding, statistics)::

    logit = b + Σ_tfidf x_tfidf · W_tfidf + e · W_emb + z · W_stats [+ MLP(e, z)] + δ_meta · u

``x_tfidf`` are TF-IDF vectors (:class:`processors.quality.features.Tfidf`), ``e`` the MiniLM
embedding of :func:`processors.quality.preprocess.document_text`, ``z`` the standardized
:func:`~processors.quality.features.text_stats`. Training may fit several base models and a
stacking layer (:mod:`processors.quality.train`); they are folded into these effective weights,
so :meth:`QualityModel.explain` is exact: contributions plus bias sum to the logit.

Metadata
--------
The training rows have no metadata, so metadata is a documented prior, not learned, and applied
only when present: ``δ_meta`` (logit units, see :func:`metadata_shift`) moves probability from
LQ_CLOSE to HQ along ``u = (-1, 0, +1)``. A missing field adds 0, as does its neutral value
(credibility 0.5, engagement 0, published 1–3 years ago): missing metadata never biases a score.

Artifact
--------
A directory: ``manifest.json`` (format, version, parameters, metrics, provenance, per-file sha256
and a sha256 of the manifest itself), ``weights.safetensors`` (float32 arrays), ``vocab.json``
(TF-IDF terms per vectorizer), and from 1.2.0 optionally ``classifier.onnx.gz`` + ``tokenizer.json``:
a fine-tuned MiniLM classifier (:mod:`processors.quality.finetune`, INT8 ONNX, gzipped: 23 → 18 MB) whose class
probabilities are averaged with the linear model's, half and half. Loading verifies every checksum and shape and raises
:class:`ArtifactError` otherwise; nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from infra.errors import AssayError
from processors.quality.baseline import label_for
from processors.quality.features import STAT_NAMES, Tfidf, text_stats
from processors.quality.preprocess import PREPROCESS_VERSION, document_text
from schemas.documents import Document
from schemas.patterns import QualityContribution, QualityScore

__all__ = [
    "ARTIFACT_FORMAT",
    "CLASSES",
    "LEVELS",
    "LEVEL_DISTRIBUTION",
    "ArtifactError",
    "Explanation",
    "QualityModel",
    "metadata_shift",
]

ARTIFACT_FORMAT = "assay-quality/1"
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
VOCAB = "vocab.json"
CLASSIFIER = "classifier.onnx.gz"  # optional: the fine-tuned MiniLM classifier, INT8 ONNX, gzipped (see .finetune)
TOKENIZER = "tokenizer.json"  # its tokenizer, shipped with it

CLASSES: tuple[str, ...] = ("LQ_CLOSE", "LQ_EDIT", "HQ")
LEVELS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
LEVEL_DISTRIBUTION = np.array(
    [
        [0.50, 0.50, 0.00, 0.00, 0.00],  # LQ_CLOSE
        [0.00, 0.25, 0.50, 0.25, 0.00],  # LQ_EDIT
        [0.00, 0.00, 0.00, 0.50, 0.50],  # HQ
    ]
)
CLASS_MEANS = LEVEL_DISTRIBUTION @ LEVELS  # 1.5, 3.0, 4.5
FINETUNED_WEIGHT = 0.5  # share of the fine-tuned classifier in the class probabilities, fixed in advance
META_DIRECTION = np.array([-1.0, 0.0, 1.0])

# metadata prior (logit units along META_DIRECTION)
CREDIBILITY_WEIGHT = 2.0  # (c - 0.5) * 2.0: ±1.0
ENGAGEMENT_WEIGHT = 0.15  # per decade of engagement …
ENGAGEMENT_CAP = 0.6  # … up to +0.6 (a million)
FRESH_DAYS, STALE_DAYS, OLD_DAYS = 365.0, 3 * 365.0, 10 * 365.0
FRESH_SHIFT, STALE_SHIFT, OLD_SHIFT = 0.2, -0.2, -0.4


class ArtifactError(AssayError):
    """A quality-model artifact is missing, corrupt, tampered with or of an unknown format."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def metadata_shift(metadata: Mapping[str, Any] | None, *, now: datetime | None = None) -> float:
    """Logit shift (towards HQ, away from LQ_CLOSE) from source metadata; 0 when absent.

    * ``source_credibility`` c ∈ [0, 1]: ``2 (c − 0.5)``, i.e. ±1 logit;
    * ``engagement`` e ≥ 0: ``min(0.6, 0.15 log10(1 + e))``;
    * ``published_at``: +0.2 within a year, 0 for 1–3 years, −0.2 after 3 years, −0.4 after 10.

    >>> metadata_shift({}), metadata_shift({"source_credibility": 0.5, "engagement": 0})
    (0.0, 0.0)
    >>> metadata_shift({"source_credibility": 1.0})
    1.0
    """
    if not metadata:
        return 0.0
    shift = 0.0
    cred = _number(metadata.get("source_credibility"))
    if cred is not None:
        shift += CREDIBILITY_WEIGHT * (min(1.0, max(0.0, cred)) - 0.5)
    eng = _number(metadata.get("engagement"))
    if eng is not None and eng >= 0:
        shift += min(ENGAGEMENT_CAP, ENGAGEMENT_WEIGHT * math.log10(1.0 + eng))
    published = _parse_time(metadata.get("published_at"))
    if published is not None:
        now = now or datetime.now(timezone.utc)
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        age = (now - published).total_seconds() / 86400.0
        if age <= FRESH_DAYS:
            shift += FRESH_SHIFT
        elif age > OLD_DAYS:
            shift += OLD_SHIFT
        elif age > STALE_DAYS:
            shift += STALE_SHIFT
    return shift


def average_halves(linear_proba: np.ndarray, finetuned_proba: np.ndarray) -> np.ndarray:
    """A two-half model's class probabilities from each half's (weights :data:`FINETUNED_WEIGHT`)."""
    return (1.0 - FINETUNED_WEIGHT) * np.asarray(linear_proba) + FINETUNED_WEIGHT * np.asarray(finetuned_proba)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_gzipped(src: Path, dst: Path) -> None:
    """``dst`` = gzip of ``src`` (copied as is when already gzipped); deterministic (no name, mtime 0)."""
    import gzip

    src = Path(src)
    if src.suffix == ".gz":
        shutil.copyfile(src, dst)
        return
    with open(src, "rb") as f, open(dst, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                                                     filename="", mtime=0) as gz:
        shutil.copyfileobj(f, gz, 1 << 20)


def _manifest_digest(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


@dataclass
class Explanation:
    """Additive explanation of one logit: ``bias + Σ contributions == logit`` (exact).

    ``target`` is a class name, or ``"quality"`` for the contrast ``logit(HQ) − logit(LQ_CLOSE)``
    (what moves the expected score). Contributions are named ``word:<term>``, ``char:<n-gram>``
    (TF-IDF), ``stat:<name>``, ``embedding`` (the whole vector: its dimensions mean nothing one by
    one), ``mlp`` (the non-linear part, when the model has one) and ``metadata``.
    """

    target: str
    logit: float
    bias: float
    contributions: list[tuple[str, float]]
    probabilities: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        return self.contributions[:n]

    @property
    def linear_logit(self) -> float:
        """The logit without the MLP and fine-tuned terms."""
        return self.bias + sum(v for k, v in self.contributions if k not in ("mlp", "finetuned"))


class QualityModel:
    """Quality model: class probabilities, expected 1..5 score and label from a cleaned text and
    its MiniLM embedding.

    Construct with :meth:`load` (an artifact directory) or from :func:`processors.quality.train.fit`.
    Thread-safe for concurrent scoring (read-only after construction).
    """

    def __init__(
        self,
        *,
        bias: np.ndarray,
        emb_weights: np.ndarray,
        emb_mean: np.ndarray,
        stats_mean: np.ndarray,
        stats_scale: np.ndarray,
        stats_weights: np.ndarray,
        tfidf: Mapping[str, tuple[Tfidf, np.ndarray]],
        mlp: Mapping[str, np.ndarray] | None = None,
        finetuned: Any = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731 - the stored precision
        self.bias = f32(bias)
        self.emb_weights = f32(emb_weights)
        self.emb_mean = f32(emb_mean)
        self.stats_mean = f32(stats_mean)
        self.stats_scale = f32(stats_scale)
        self.stats_weights = f32(stats_weights)
        self.tfidf: dict[str, tuple[Tfidf, np.ndarray]] = {}
        for name, (vec, w) in tfidf.items():
            vec.idf = f32(vec.idf).astype(np.float64)
            self.tfidf[name] = (vec, f32(w))
        self.mlp = {k: f32(v) for k, v in mlp.items()} if mlp else None
        # the fine-tuned MiniLM classifier (processors.quality.finetune.FinetunedClassifier), or None
        self.finetuned = finetuned
        self.manifest: dict[str, Any] = dict(manifest or {})
        self.manifest.setdefault("format", ARTIFACT_FORMAT)
        self.manifest.setdefault("version", "0.0.0")
        self._check()
        # float64 copies of the dense weights, made once (scoring computes in float64)
        self._bias64 = self.bias.astype(np.float64)
        self._emb64 = self.emb_weights.astype(np.float64)
        self._stats64 = self.stats_weights.astype(np.float64)
        self._mlp64 = {k: v.astype(np.float64) for k, v in self.mlp.items()} if self.mlp else None

    # ------------------------------------------------------------------ properties
    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def model_version(self) -> str:
        """What :class:`QualityScore` carries, e.g. ``quality-1.0.0``."""
        return f"quality-{self.version}"

    @property
    def dim(self) -> int:
        return int(self.emb_weights.shape[0])

    def _check(self) -> None:
        k = len(CLASSES)
        d = self.emb_weights.shape[0]
        s = len(STAT_NAMES)
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
            w1, b1, w2, b2 = (self.mlp.get(n) for n in ("w1", "b1", "w2", "b2"))
            if w1 is None or b1 is None or w2 is None or b2 is None:
                problems.append("mlp needs w1, b1, w2, b2")
            elif not (w1.shape[0] == d + s and b1.shape == (w1.shape[1],) and w2.shape == (w1.shape[1], k) and b2.shape == (k,)):
                problems.append(f"mlp shapes {w1.shape} {b1.shape} {w2.shape} {b2.shape}")
        if problems:
            raise ArtifactError("inconsistent quality model: " + "; ".join(problems))
        for name, arr in self._arrays().items():
            if not np.all(np.isfinite(arr)):
                raise ArtifactError(f"quality model array {name} has non-finite values")

    # ------------------------------------------------------------------ inference
    def _embedding(self, embedding: np.ndarray | None) -> np.ndarray:
        if embedding is None:
            return self.emb_mean.astype(np.float64)
        e = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if e.shape != (self.dim,):
            raise ValueError(f"expected an embedding of {self.dim} dimensions, got {e.shape}")
        return e

    def _parts(self, clean: str, embedding: np.ndarray | None) -> dict[str, Any]:
        """Every additive term of the logits for one cleaned text (float64)."""
        e = self._embedding(embedding)
        z = (text_stats(clean) - self.stats_mean) / self.stats_scale
        parts: dict[str, Any] = {"e": e, "z": z, "tfidf": {}}
        for name, (vec, w) in self.tfidf.items():
            idx, val = vec.transform_one(clean)
            parts["tfidf"][name] = (idx, val, val[:, None] * w[idx].astype(np.float64))
        parts["emb"] = e @ self._emb64
        parts["stats"] = z[:, None] * self._stats64
        parts["mlp"] = self._mlp(e, z)
        return parts

    def _mlp(self, e: np.ndarray, z: np.ndarray) -> np.ndarray:
        if self._mlp64 is None:
            return np.zeros(len(CLASSES))
        w = self._mlp64
        h = np.maximum(0.0, np.concatenate([e, z]) @ w["w1"] + w["b1"])
        return h @ w["w2"] + w["b2"]

    def logits(self, clean: str, embedding: np.ndarray | None = None, shift: float = 0.0) -> np.ndarray:
        """Class logits (float64, :data:`CLASSES` order) of a cleaned text."""
        p = self._parts(clean, embedding)
        out = self._bias64 + p["emb"] + p["stats"].sum(axis=0) + p["mlp"] + shift * META_DIRECTION
        for _, _, c in p["tfidf"].values():
            out = out + c.sum(axis=0)
        return out

    def finetuned_logits(self, texts: Sequence[str]) -> np.ndarray | None:
        """Class logits (n, 3) of the fine-tuned classifier for cleaned texts (one session call each);
        None when this model has no fine-tuned half."""
        if self.finetuned is None:
            return None
        return self.finetuned.logits(list(texts))

    def _proba(self, linear_logits: np.ndarray, ft_logits: np.ndarray | None, shift: float) -> np.ndarray:
        """Class probabilities: the linear model's, averaged with the fine-tuned classifier's when
        there is one (equal weights). The metadata shift moves both halves' logits alike."""
        p = _softmax(linear_logits)
        if self.finetuned is None:
            return p
        if ft_logits is None:
            raise ValueError("this model has a fine-tuned half: its logits are needed")
        return average_halves(p, _softmax(np.asarray(ft_logits, dtype=np.float64) + shift * META_DIRECTION))

    def predict_proba(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None, shifts: Sequence[float] | None = None
    ) -> np.ndarray:
        """Class probabilities (n, 3) of cleaned texts and their embeddings ((n, dim) or None)."""
        n = len(texts)
        if embeddings is not None and len(embeddings) != n:
            raise ValueError(f"{n} texts but {len(embeddings)} embeddings")
        if not n:
            return np.zeros((0, len(CLASSES)))
        ft = self.finetuned_logits(texts)
        return np.stack([
            self._proba(self.logits(t, None if embeddings is None else embeddings[i],
                                    0.0 if shifts is None else shifts[i]),
                        None if ft is None else ft[i], 0.0 if shifts is None else shifts[i])
            for i, t in enumerate(texts)
        ])

    @staticmethod
    def level_proba(class_proba: np.ndarray) -> np.ndarray:
        """P(level 1..5) from class probabilities."""
        return np.asarray(class_proba) @ LEVEL_DISTRIBUTION

    @staticmethod
    def expected_score(class_proba: np.ndarray) -> np.ndarray:
        return np.asarray(class_proba) @ CLASS_MEANS

    def score_text(self, clean: str, embedding: np.ndarray | None = None, shift: float = 0.0,
                   ft_logits: np.ndarray | None = None) -> QualityScore:
        """``ft_logits``: the fine-tuned classifier's logits of ``clean`` when the caller ran it in a
        batch (:meth:`score_many`); computed here otherwise."""
        if self.finetuned is not None and ft_logits is None:
            ft_logits = self.finetuned.logits([clean])[0]
        proba = self._proba(self.logits(clean, embedding, shift), ft_logits, shift)
        s = float(min(5.0, max(1.0, proba @ CLASS_MEANS)))
        return QualityScore(score=round(s, 4), label=label_for(s), model_version=self.model_version)

    def score(self, doc: Document, embedding: np.ndarray | None = None, *, clean: str | None = None,
              now: datetime | None = None, ft_logits: np.ndarray | None = None, explain_top: int = 0) -> QualityScore:
        """Score a pipeline document.

        ``embedding``: the embedder's vector of ``document_text(doc)`` (its first 256 tokens). ``None``
        uses the training-set mean embedding: the score then rests on the text features alone.
        ``clean``: ``document_text(doc)`` when the caller already has it (it embedded it), to skip
        preprocessing twice. ``explain_top``: attach that many of :meth:`explain`'s largest
        contributions to the quality log-odds.
        """
        if clean is None:
            clean = document_text(doc)
        if self.finetuned is not None and ft_logits is None:
            ft_logits = self.finetuned.logits([clean])[0]
        q = self.score_text(clean, embedding, metadata_shift(doc.metadata, now=now), ft_logits)
        if explain_top > 0:
            ex = self.explain(doc, embedding, now=now, clean=clean, ft_logits=ft_logits)
            q.explanation = [QualityContribution(feature=k, value=round(v, 6)) for k, v in ex.top(explain_top)]
        return q

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None] | None = None, *,
                   now: datetime | None = None, explain_top: int = 0) -> list[QualityScore]:
        """Score documents; the fine-tuned classifier (if any) runs over them in one call."""
        cleans = [document_text(d) for d in docs]
        ft = self.finetuned_logits(cleans) if docs else None
        return [self.score(d, None if embeddings is None else embeddings[i], clean=cleans[i], now=now,
                           ft_logits=None if ft is None else ft[i], explain_top=explain_top)
                for i, d in enumerate(docs)]

    @staticmethod
    def embedding_text(doc: Document) -> str:
        """The text to embed for :meth:`score` (the embedder truncates it to its token limit)."""
        return document_text(doc)

    def explain(
        self,
        doc: Document | str,
        embedding: np.ndarray | None = None,
        *,
        target: str = "quality",
        now: datetime | None = None,
        clean: str | None = None,
        ft_logits: np.ndarray | None = None,
    ) -> Explanation:
        """Exact additive contributions to one logit, largest magnitude first.

        ``doc`` is a :class:`Document` (metadata counts) or an already-cleaned text. ``clean`` and
        ``ft_logits``: what the caller already computed for this document (see :meth:`score`).
        """
        if isinstance(doc, Document):
            clean, shift = clean if clean is not None else document_text(doc), metadata_shift(doc.metadata, now=now)
        else:
            clean, shift = doc, 0.0
        if target == "quality":
            u = np.zeros(len(CLASSES))
            u[CLASSES.index("HQ")], u[CLASSES.index("LQ_CLOSE")] = 1.0, -1.0
        elif target in CLASSES:
            u = np.eye(len(CLASSES))[CLASSES.index(target)]
        else:
            raise ValueError(f"target must be 'quality' or one of {CLASSES}, got {target!r}")
        p = self._parts(clean, embedding)
        contrib: list[tuple[str, float]] = []
        for name, (idx, _, c) in p["tfidf"].items():
            terms = self.tfidf[name][0].terms
            contrib.extend((f"{name}:{terms[j]}", float(v)) for j, v in zip(idx, c @ u))
        contrib.extend((f"stat:{n}", float(v)) for n, v in zip(STAT_NAMES, p["stats"] @ u))
        contrib.append(("embedding", float(p["emb"] @ u)))
        if self.mlp is not None:
            contrib.append(("mlp", float(p["mlp"] @ u)))
        if shift:
            contrib.append(("metadata", float(shift * META_DIRECTION @ u)))
        logits = self.logits(clean, embedding, shift)
        explained = float(logits @ u)
        proba = _softmax(logits)
        if self.finetuned is not None:
            # The fine-tuned half enters by averaging probabilities, so it is not additive in the
            # linear logits: one attribution term, how far averaging it in moves the explained
            # log-odds (exact: the terms still sum to the reported logit).
            if ft_logits is None:
                ft_logits = self.finetuned.logits([clean])[0]
            ensemble = self._proba(logits, ft_logits, shift)
            moved = float((np.log(ensemble) - np.log(proba)) @ u)
            contrib.append(("finetuned", moved))
            explained += moved
            proba = ensemble
        contrib.sort(key=lambda kv: -abs(kv[1]))
        return Explanation(
            target=target,
            logit=explained,
            bias=float(self._bias64 @ u),
            contributions=contrib,
            probabilities={c: float(v) for c, v in zip(CLASSES, proba)},
            score=float(min(5.0, max(1.0, proba @ CLASS_MEANS))),
        )

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
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

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the artifact directory (atomically: a temporary sibling renamed into place)."""
        from safetensors.numpy import save_file

        path = Path(path)
        if path.exists() and not overwrite:
            raise ArtifactError(f"{path} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            save_file({k: np.ascontiguousarray(v) for k, v in self._arrays().items()}, str(tmp / WEIGHTS),
                      metadata={"format": ARTIFACT_FORMAT})
            vocab = {name: vec.terms for name, (vec, _) in self.tfidf.items()}
            (tmp / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
            names = [WEIGHTS, VOCAB]
            if self.finetuned is not None:
                _write_gzipped(self.finetuned.onnx_path, tmp / CLASSIFIER)
                shutil.copyfile(self.finetuned.tokenizer_path, tmp / TOKENIZER)
                names += [CLASSIFIER, TOKENIZER]
            manifest = dict(self.manifest)
            manifest.update({
                "format": ARTIFACT_FORMAT,
                "classes": list(CLASSES),
                "level_distribution": LEVEL_DISTRIBUTION.tolist(),
                "stat_names": list(STAT_NAMES),
                "preprocess_version": PREPROCESS_VERSION,
                "tfidf": {name: {"analyzer": vec.analyzer, "ngram": list(vec.ngram), "terms": vec.size,
                                 "max_chars": vec.max_chars}
                          for name, (vec, _) in self.tfidf.items()},
                "mlp": None if self.mlp is None else {"hidden": int(self.mlp["w1"].shape[1]), "activation": "relu"},
                "files": {name: _sha256_file(tmp / name) for name in names},
            })
            if self.finetuned is not None:
                finetuned = dict(manifest.get("finetuned") or {})
                finetuned.update({"file": CLASSIFIER, "tokenizer": TOKENIZER, "weight": FINETUNED_WEIGHT,
                                  "max_tokens": self.finetuned.max_tokens})
                manifest["finetuned"] = finetuned
            else:
                manifest.pop("finetuned", None)
            manifest.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            manifest["manifest_sha256"] = _manifest_digest(manifest)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o755 & ~umask)  # mkdtemp makes 0700: artifacts are meant to be shared
            for name in (*names, MANIFEST):
                os.chmod(tmp / name, 0o644 & ~umask)
            if path.exists():
                old = path.with_name(f".{path.name}.old.{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if self.finetuned is not None:  # now read from the saved copy
            self.finetuned.onnx_path, self.finetuned.tokenizer_path = path / CLASSIFIER, path / TOKENIZER
        return path

    @staticmethod
    def read_manifest(path: str | Path, *, verify: bool = True) -> dict[str, Any]:
        """The manifest of an artifact directory, its own checksum verified."""
        path = Path(path)
        mpath = path / MANIFEST
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"{path} is not a quality-model artifact (no {MANIFEST})") from None
        except (OSError, ValueError) as e:
            raise ArtifactError(f"cannot read {mpath}: {e}") from e
        if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise ArtifactError(f"{mpath}: unknown artifact format {got!r} (expected {ARTIFACT_FORMAT!r})")
        if verify and manifest.get("manifest_sha256") != _manifest_digest(manifest):
            raise ArtifactError(f"{mpath}: manifest checksum mismatch (edited or corrupt); refusing to load")
        return manifest

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        """Load and verify an artifact directory; :class:`ArtifactError` on any inconsistency."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        path = Path(path)
        manifest = cls.read_manifest(path)
        files = manifest.get("files")
        expected = {WEIGHTS, VOCAB} | ({CLASSIFIER, TOKENIZER} if manifest.get("finetuned") else set())
        if not isinstance(files, dict) or set(files) != expected:
            raise ArtifactError(f"{path / MANIFEST}: file list {files!r} is not {sorted(expected)}")
        for name, digest in files.items():
            fpath = path / name
            if not fpath.is_file():
                raise ArtifactError(f"{fpath} is missing")
            actual = _sha256_file(fpath)
            if actual != digest:
                raise ArtifactError(
                    f"{fpath}: sha256 {actual[:12]}… does not match the manifest ({str(digest)[:12]}…): "
                    "corrupt or tampered with; refusing to load"
                )
        if manifest.get("classes") != list(CLASSES) or manifest.get("stat_names") != list(STAT_NAMES):
            raise ArtifactError(f"{path}: classes/statistics {manifest.get('classes')} / "
                                f"{manifest.get('stat_names')} differ from this code's")
        if manifest.get("preprocess_version") != PREPROCESS_VERSION:
            raise ArtifactError(f"{path}: trained with preprocessing v{manifest.get('preprocess_version')}, "
                                f"this code is v{PREPROCESS_VERSION}")
        try:
            arrays = load_file(str(path / WEIGHTS))
            vocab = json.loads((path / VOCAB).read_text(encoding="utf-8"))
        except (SafetensorError, OSError, ValueError) as e:
            raise ArtifactError(f"cannot read {path}: {e}") from e
        try:
            tfidf = {}
            for name, spec in (manifest.get("tfidf") or {}).items():
                vec = Tfidf(spec["analyzer"], tuple(spec["ngram"]), vocab[name], arrays[f"tfidf.{name}.idf"],
                            spec.get("max_chars"))
                tfidf[name] = (vec, arrays[f"tfidf.{name}.weights"])
            mlp = None
            if manifest.get("mlp"):
                mlp = {k: arrays[f"mlp.{k}"] for k in ("w1", "b1", "w2", "b2")}
            finetuned = None
            if manifest.get("finetuned"):
                from processors.quality.finetune import FinetunedClassifier

                spec = manifest["finetuned"]
                if spec.get("weight") != FINETUNED_WEIGHT:
                    raise ArtifactError(f"{path}: fine-tuned weight {spec.get('weight')!r}, this code averages "
                                        f"with {FINETUNED_WEIGHT}")
                finetuned = FinetunedClassifier(path / CLASSIFIER, path / TOKENIZER, int(spec["max_tokens"]))
            return cls(
                bias=arrays["bias"],
                emb_weights=arrays["emb.weights"],
                emb_mean=arrays["emb.mean"],
                stats_mean=arrays["stats.mean"],
                stats_scale=arrays["stats.scale"],
                stats_weights=arrays["stats.weights"],
                tfidf=tfidf,
                mlp=mlp,
                finetuned=finetuned,
                manifest=manifest,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{path}: incomplete or inconsistent artifact ({type(e).__name__}: {e})") from e
