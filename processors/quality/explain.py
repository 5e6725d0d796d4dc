"""Why the quality model scored a text the way it did.

* :func:`explain_text` — exact additive contributions to one logit of the linear half (every
  TF-IDF term, every statistic, the embedding, the MLP, the metadata prior), plus one term for the
  fine-tuned half: how far averaging it in moves the explained log-odds. The terms plus the bias
  sum to the reported logit exactly.
* :func:`occlusion` — word attributions inside the fine-tuned classifier, by removing each word:
  an approximation (words interact), for a reader, not for arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processors.quality.classes import CLASSES, META_DIRECTION, combined_proba, quality_direction, score_of, softmax
from processors.quality.features import STAT_NAMES
from processors.quality.finetuned import FinetunedClassifier
from processors.quality.linear import LinearHalf

__all__ = ["Explanation", "explain_text", "occlusion"]


@dataclass
class Explanation:
    """Additive explanation of one logit: ``bias + Σ contributions == logit`` (exact).

    ``target`` is a class name, or ``"quality"`` for the contrast ``logit(HQ) − logit(LQ_CLOSE)``
    (what moves the expected score). Contributions are named ``word:<term>``, ``char:<n-gram>``
    (TF-IDF), ``stat:<name>``, ``embedding`` (the whole vector: its dimensions mean nothing one by
    one), ``mlp`` (the non-linear part, when the model has one), ``metadata`` and ``finetuned``
    (when the model has a fine-tuned half).
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


def explain_text(linear: LinearHalf, clean: str, embedding: np.ndarray | None, shift: float,
                 finetuned_logits: np.ndarray | None, target: str = "quality") -> Explanation:
    """Contributions to ``target``'s logit for one cleaned text, largest magnitude first.

    ``finetuned_logits``: the fine-tuned half's logits of ``clean`` (None for a linear-only model).
    """
    u = quality_direction(target)
    t = linear.terms(clean, embedding)
    contrib: list[tuple[str, float]] = []
    for name, (idx, _, c) in t.tfidf.items():
        terms = linear.params.tfidf[name][0].terms
        contrib.extend((f"{name}:{terms[j]}", float(v)) for j, v in zip(idx, c @ u))
    contrib.extend((f"stat:{n}", float(v)) for n, v in zip(STAT_NAMES, t.stats @ u))
    contrib.append(("embedding", float(t.embedding @ u)))
    if linear.params.mlp is not None:
        contrib.append(("mlp", float(t.mlp @ u)))
    if shift:
        contrib.append(("metadata", float(shift * META_DIRECTION @ u)))
    logits = linear.logits(clean, embedding, shift, terms=t)
    explained = float(logits @ u)
    proba = softmax(logits)
    if finetuned_logits is not None:
        # The fine-tuned half enters by averaging probabilities, so it is not additive in the
        # linear logits: one attribution term, how far averaging it in moves the explained
        # log-odds (exact: the terms still sum to the reported logit).
        ensemble = combined_proba(logits, finetuned_logits, shift)
        moved = float((np.log(ensemble) - np.log(proba)) @ u)
        contrib.append(("finetuned", moved))
        explained += moved
        proba = ensemble
    contrib.sort(key=lambda kv: -abs(kv[1]))
    return Explanation(
        target=target,
        logit=explained,
        bias=float(linear.bias @ u),
        contributions=contrib,
        probabilities={c: float(v) for c, v in zip(CLASSES, proba)},
        score=score_of(proba),
    )


def occlusion(classifier: FinetunedClassifier, text: str, direction: np.ndarray, *,
              max_words: int | None = None) -> list[tuple[str, float]]:
    """Word attributions for the fine-tuned classifier by occlusion: for each distinct word among
    the first ``max_words`` (default: the classifier's token limit), how much removing every
    occurrence of it lowers ``logits · direction`` (e.g. :func:`~processors.quality.classes.quality_direction`).
    Largest magnitude first.

    An approximation (words interact, so the values do not add up to the logit); one session
    call per distinct word.
    """
    words = text.split()
    if not words:
        return []
    limit = max_words or classifier.max_tokens
    head, rest = words[:limit], words[limit:]
    distinct = list(dict.fromkeys(head))
    variants = [" ".join([w for w in head if w != word] + rest) for word in distinct]
    z = classifier.logits([" ".join(words), *variants]) @ np.asarray(direction, dtype=np.float64)
    out = [(word, float(z[0] - z[1 + i])) for i, word in enumerate(distinct)]
    out.sort(key=lambda kv: -abs(kv[1]))
    return out
