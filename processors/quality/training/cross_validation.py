"""Held-out measurement of the training recipe: the numbers a manifest reports as ``metrics.cv``.

* :func:`cross_validate` runs :func:`~processors.quality.training.fit.fit` (and optionally the
  fine-tuning) on stratified folds (fixed seed) and evaluates each held-out fold: the reported
  numbers come from models that never saw the rows they score;
* :func:`cv_from_fold_results` reads the same report from per-fold results measured one by one
  (``bench/quality_finetune.py --ensemble --json``), after checking they cover one split of the
  same data with the same fine-tuning recipe.

A CV result is a dict: ``folds``, ``seed``, ``per_fold`` (:func:`processors.quality.evaluate.evaluate_proba`
reports), ``summary`` (:func:`summarize_folds`), and when the held-out probabilities are known
``pooled``, ``oof_proba`` and ``y`` (arrays: :func:`without_arrays` before storing it).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from processors.quality.classes import CLASSES, average_halves
from processors.quality.evaluate import evaluate_proba
from processors.quality.training.config import TrainInputError
from processors.quality.training.finetune import FinetuneParams, attach_finetuned
from processors.quality.training.fit import TrainParams, encode_labels, fit

__all__ = ["cross_validate", "cv_from_fold_results", "summarize_folds", "without_arrays"]


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


def without_arrays(cv: dict[str, Any]) -> dict[str, Any]:
    """A CV result without its held-out arrays (what a manifest stores)."""
    return {k: v for k, v in cv.items() if k not in ("oof_proba", "y")}


def cv_from_fold_results(files: Sequence[Path], data_hash: str, finetune: FinetuneParams | None) -> dict[str, Any]:
    """CV metrics from per-fold ``bench/quality_finetune.py --ensemble --json`` results: every fold of
    one split exactly once, measured on ``data_hash``, with ``finetune``'s recipe (when given).

    The held-out probabilities next to each result (``.npz``), when all are there, give the pooled
    report and the arrays, as :func:`cross_validate` does. :class:`TrainInputError` (field
    ``cv_from``) otherwise.
    """
    results = []
    for f in files:
        try:
            r = json.loads(f.read_text())
            report = r["ensemble_report"]
            fold = int(r["fold"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise TrainInputError(f"{f} is not a bench/quality_finetune.py --ensemble result: {e}", "cv_from") from e
        if r.get("data_hash") != data_hash:
            raise TrainInputError(f"{f} was measured on data {str(r.get('data_hash'))[:12]}, not this file's "
                                  f"{data_hash[:12]}", "cv_from")
        if finetune is not None and r.get("finetune_params") != finetune.to_dict():
            raise TrainInputError(f"{f} used fine-tuning parameters {r.get('finetune_params')}, this run "
                                  f"{finetune.to_dict()}", "cv_from")
        results.append((fold, f, report))
    folds = sorted(fold for fold, _, _ in results)
    if folds != list(range(len(folds))) or len(folds) < 2:
        raise TrainInputError(f"need each fold 0..k-1 exactly once, got {folds}", "cv_from")
    results.sort(key=lambda t: t[0])
    per_fold = [report for _, _, report in results]
    cv: dict[str, Any] = {
        "folds": len(per_fold), "seed": 0, "per_fold": per_fold, "summary": summarize_folds(per_fold),
        "source": {"tool": "bench/quality_finetune.py --ensemble", "files": [f.name for _, f, _ in results],
                   "data_hash": data_hash}}
    arrays = [f.with_suffix(".npz") for _, f, _ in results]
    if all(a.is_file() for a in arrays):
        ys, probas = [], []
        for a in arrays:
            z = np.load(a)
            ys.append(z["y"])
            probas.append(average_halves(z["linear"], z["finetuned_int8"] if "finetuned_int8" in z else z["finetuned_fp32"]))
        cv["y"], cv["oof_proba"] = np.concatenate(ys), np.concatenate(probas)
        cv["pooled"] = evaluate_proba(cv["y"], cv["oof_proba"])
    return cv
