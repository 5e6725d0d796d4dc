"""Evaluation of class probabilities: accuracy, macro-F1, per-class precision/recall, confusion
matrix, calibration (ECE), and optional PNG charts (matplotlib, when installed).

Pure numpy; ``y`` are class indices in :data:`~processors.quality.classes.CLASSES` order.

>>> r = evaluate_proba(np.array([0, 1, 2, 2]), np.array([[.8, .1, .1], [.2, .7, .1], [.1, .2, .7], [.6, .2, .2]]))
>>> r["accuracy"], round(r["macro_f1"], 3), r["confusion"][2]
(0.75, 0.778, [1, 0, 1])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from processors.quality.classes import CLASS_MEANS, CLASSES

__all__ = ["ece", "evaluate_proba", "format_report", "plot_charts"]


def ece(y: np.ndarray, proba: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-label confidence (equal-width bins)."""
    y = np.asarray(y)
    proba = np.asarray(proba)
    if len(y) == 0:
        return 0.0
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() * abs(correct[m].mean() - conf[m].mean())
    return float(total / len(y))


def evaluate_proba(y: np.ndarray, proba: np.ndarray, classes: Sequence[str] = CLASSES,
                   gate_threshold: float = 2.0) -> dict[str, Any]:
    """Metrics of predicted class probabilities against true class indices; ``gated_by_class`` is
    the share of each class whose expected score falls below ``gate_threshold`` (the pipeline's
    default quality gate)."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    k = len(classes)
    pred = proba.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    per_class = {}
    f1s = []
    for i, c in enumerate(classes):
        tp = cm[i, i]
        prec = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        rec = tp / cm[i, :].sum() if cm[i, :].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        per_class[c] = {"precision": float(prec), "recall": float(rec), "f1": float(f1), "support": int(cm[i, :].sum())}
    eps = 1e-12
    onehot = np.eye(k)[y] if len(y) else np.zeros((0, k))
    scores = proba @ CLASS_MEANS if proba.shape[1] == len(CLASS_MEANS) else np.zeros(len(y))
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean(f1s)),
        "per_class": per_class,
        "confusion": cm.tolist(),
        "confusion_labels": list(classes),
        "ece": ece(y, proba),
        "log_loss": float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], eps, 1.0)))) if len(y) else 0.0,
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))) if len(y) else 0.0,
        "mean_score_by_class": {c: float(scores[y == i].mean()) if (y == i).any() else None for i, c in enumerate(classes)},
        "gate_threshold": gate_threshold,
        "gated_by_class": {c: float((scores[y == i] < gate_threshold).mean()) if (y == i).any() else None
                           for i, c in enumerate(classes)},
    }


def format_report(r: dict[str, Any]) -> str:
    """A plain-text report of :func:`evaluate_proba` output."""
    lines = [
        f"rows {r['n']}  accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
        f"ECE {r['ece']:.4f}  log-loss {r['log_loss']:.4f}  Brier {r['brier']:.4f}",
        f"{'class':10s} {'precision':>9s} {'recall':>7s} {'f1':>7s} {'support':>8s} {'mean score':>10s} "
        f"{'< ' + format(r.get('gate_threshold', 2.0), 'g'):>7s}",
    ]
    for c, m in r["per_class"].items():
        ms = r["mean_score_by_class"].get(c)
        gated = r.get("gated_by_class", {}).get(c)
        ms_s = f"{ms:10.3f}" if ms is not None else f"{'-':>10s}"
        gated_s = f"{gated:7.1%}" if gated is not None else f"{'-':>7s}"
        lines.append(f"{c:10s} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f} {m['support']:8d} {ms_s} {gated_s}")
    labels = r["confusion_labels"]
    lines.append("confusion (rows: true, columns: predicted)")
    lines.append(" " * 10 + "".join(f"{c:>10s}" for c in labels))
    for c, row in zip(labels, r["confusion"]):
        lines.append(f"{c:10s}" + "".join(f"{v:10d}" for v in row))
    return "\n".join(lines)


def plot_charts(y: np.ndarray, proba: np.ndarray, out_dir: str | Path, classes: Sequence[str] = CLASSES) -> list[Path]:
    """Write ``confusion.png``, ``reliability.png`` and ``scores.png`` (expected-score histogram
    per true class) into ``out_dir``; returns the paths, or ``[]`` when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y)
    proba = np.asarray(proba)
    r = evaluate_proba(y, proba, classes)
    paths = []

    fig, ax = plt.subplots(figsize=(4.5, 4))
    cm = np.array(r["confusion"])
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(f"accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}")
    fig.tight_layout()
    paths.append(out / "confusion.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4))
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, 11)
    mids, accs, counts = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            mids.append(conf[m].mean())
            accs.append(correct[m].mean())
            counts.append(m.sum())
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(mids, accs, "o-", label="model")
    ax.set_xlabel("confidence (top class)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability, ECE {r['ece']:.3f}")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "reliability.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    scores = proba @ CLASS_MEANS
    for i, c in enumerate(classes):
        ax.hist(scores[y == i], bins=np.linspace(1, 5, 33), alpha=0.5, label=c)
    ax.set_xlabel("expected quality score")
    ax.set_ylabel("rows")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "scores.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
