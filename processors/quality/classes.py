"""The quality model's three classes and how they map to quality levels 1..5.

The training data has three labels; the pipeline wants an expected quality on 1..5. Each class is
spread over the five levels by a fixed distribution (:data:`LEVEL_DISTRIBUTION`)::

    LQ_CLOSE  closed as is, never fixed            → levels 1 (50 %) 2 (50 %)              mean 1.5
    LQ_EDIT   poor but fixable, kept after edits    → levels 2 (25 %) 3 (50 %) 4 (25 %)     mean 3.0
    HQ        good as posted, no edit needed        → levels 4 (50 %) 5 (50 %)              mean 4.5

``P(level) = Σ_c P(c) · D[c, level]`` and the expected score is ``Σ_level P(level) · level =
Σ_c P(c) · mean_c`` (1.5 … 4.5; the metadata shift can move it further, clipped to 1..5).

Why those means: LQ_CLOSE is the bottom of the data (closed, nobody repaired it) so it sits at
the bottom band; HQ questions needed no edit at all but are still ordinary questions, not curated
references, hence 4.5 rather than 5; LQ_EDIT is the middle (poor as posted, good enough after
edits). Spreading each class over neighbouring levels keeps the level distribution honest: the
data cannot tell a 4 from a 5.

>>> expected_score(np.array([0.5, 0.0, 0.5])).item()
3.0
>>> quality_direction("quality").tolist(), quality_direction("HQ").tolist()
([-1.0, 0.0, 1.0], [0.0, 0.0, 1.0])
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLASSES",
    "CLASS_MEANS",
    "FINETUNED_WEIGHT",
    "LEVELS",
    "LEVEL_DISTRIBUTION",
    "META_DIRECTION",
    "average_halves",
    "combined_proba",
    "expected_score",
    "level_proba",
    "quality_direction",
    "score_of",
    "softmax",
]

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
META_DIRECTION = np.array([-1.0, 0.0, 1.0])  # the metadata prior moves LQ_CLOSE → HQ (logit units)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (stable)."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def average_halves(linear_proba: np.ndarray, finetuned_proba: np.ndarray) -> np.ndarray:
    """A two-half model's class probabilities from each half's (weights :data:`FINETUNED_WEIGHT`)."""
    return (1.0 - FINETUNED_WEIGHT) * np.asarray(linear_proba) + FINETUNED_WEIGHT * np.asarray(finetuned_proba)


def combined_proba(linear_logits: np.ndarray, finetuned_logits: np.ndarray | None, shift: float = 0.0) -> np.ndarray:
    """A model's class probabilities from its halves' logits: the linear half's softmax (its logits
    already carry the metadata ``shift``), averaged with the fine-tuned half's when there is one;
    ``shift`` moves the fine-tuned logits as it moved the linear ones."""
    p = softmax(linear_logits)
    if finetuned_logits is None:
        return p
    return average_halves(p, softmax(np.asarray(finetuned_logits, dtype=np.float64) + shift * META_DIRECTION))


def level_proba(class_proba: np.ndarray) -> np.ndarray:
    """P(level 1..5) from class probabilities."""
    return np.asarray(class_proba) @ LEVEL_DISTRIBUTION


def expected_score(class_proba: np.ndarray) -> np.ndarray:
    """The expected quality level (1.5 … 4.5) of class probabilities."""
    return np.asarray(class_proba) @ CLASS_MEANS


def score_of(class_proba: np.ndarray) -> float:
    """The expected score of one text's class probabilities, clipped to 1..5."""
    return float(min(5.0, max(1.0, expected_score(class_proba))))


def quality_direction(target: str) -> np.ndarray:
    """The logit combination a target names: ``"quality"`` is ``logit(HQ) − logit(LQ_CLOSE)`` (what
    moves the expected score), a class name that class's logit."""
    if target == "quality":
        u = np.zeros(len(CLASSES))
        u[CLASSES.index("HQ")], u[CLASSES.index("LQ_CLOSE")] = 1.0, -1.0
        return u
    if target in CLASSES:
        return np.eye(len(CLASSES))[CLASSES.index(target)]
    raise ValueError(f"target must be 'quality' or one of {CLASSES}, got {target!r}")
