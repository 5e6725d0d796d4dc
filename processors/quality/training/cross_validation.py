"""Held-out measurement of the training recipe: the numbers a manifest reports as ``metrics.cv``.

:func:`cross_validate` runs :func:`~processors.quality.training.fit.fit` (and optionally the
fine-tuning) on stratified folds (fixed seed) and evaluates each held-out fold: the reported
numbers come from models that never saw the rows they score. A CV result is a dict: ``folds``,
``seed``, ``per_fold`` (:func:`processors.quality.evaluate.evaluate_proba` reports), ``summary``
(:func:`summarize_folds`), ``pooled``, and the arrays ``oof_proba`` and ``y``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from processors.quality.classes import CLASSES
from processors.quality.evaluate import evaluate_proba
from processors.quality.training.finetune import FinetuneParams, attach_finetuned
from processors.quality.training.fit import TrainParams, encode_labels, fit

__all__ = ["cross_validate", "summarize_folds"]


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str] | np.ndarray,
    embeddings: np.ndarray,
    params: TrainParams | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int, int, dict], None] | None = None,
    finetune: FinetuneParams | None = None,
    encoder_dir: str | Path | None = None,
    finetune_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Stratified ``folds``-fold CV of :func:`~processors.quality.training.fit.fit`: per-fold
    metrics, their mean ± std, and the pooled out-of-fold probabilities (``oof_proba``, ``y``).

    ``finetune`` also fine-tunes the encoder in ``encoder_dir`` on each fold's training rows and
    scores the average of both halves, INT8 as shipped (about 17 minutes per fold on 2 cores)."""
    from sklearn.model_selection import StratifiedKFold

    y = encode_labels(labels)
    texts = list(texts)
    E = np.asarray(embeddings)
    oof = np.zeros((len(texts), len(CLASSES)))
    per_fold = []
    for i, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        train_texts, test_texts = [texts[j] for j in tr], [texts[j] for j in te]
        m = fit(train_texts, y[tr], E[tr], params)
        if finetune is None:
            oof[te] = m.predict_proba(test_texts, E[te])
        else:
            if encoder_dir is None:
                raise ValueError("fine-tuning needs encoder_dir")
            with tempfile.TemporaryDirectory() as work:
                m = attach_finetuned(m, train_texts, y[tr], encoder_dir, finetune, work, progress=finetune_progress)
                oof[te] = m.predict_proba(test_texts, E[te])
        r = evaluate_proba(y[te], oof[te])
        per_fold.append(r)
        if progress is not None:
            progress(i + 1, folds, r)
    return {"folds": folds, "seed": seed, "per_fold": per_fold, "summary": summarize_folds(per_fold),
            "pooled": evaluate_proba(y, oof), "oof_proba": oof, "y": y}


def summarize_folds(per_fold: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation over folds of accuracy, macro-F1, ECE and log-loss."""
    return {k: {"mean": float(np.mean([r[k] for r in per_fold])), "std": float(np.std([r[k] for r in per_fold]))}
            for k in ("accuracy", "macro_f1", "ece", "log_loss")}
