"""Features of a cleaned text (the output of :func:`processors.quality.preprocess.preprocess`).

Three blocks, all computed here in plain Python/numpy (identical at training and inference):

* **TF-IDF** (:class:`Tfidf`): word 1–2-grams and/or character n-grams inside word boundaries
  (``char_wb``, as scikit-learn), sublinear term frequency ``1 + ln(tf)``, smoothed idf
  ``ln((1 + n) / (1 + df)) + 1``, L2-normalized per analyzer. Stored as vocabulary (JSON) + idf
  (safetensors).
* **Text statistics** (:func:`text_stats`, :data:`STAT_NAMES`): length, vocabulary, code and link
  density, formatting markers, digits/parentheses, non-ASCII share (language). Only what survives
  the cleaning can be used — the training rows have no case, punctuation or line breaks left.
* **Embedding**: the MiniLM vector of the cleaned text, passed in by the caller.

Metadata (credibility, freshness, engagement) is *not* a feature: the training data has none; see
:func:`processors.quality.metadata.metadata_shift`.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

__all__ = ["STAT_NAMES", "Tfidf", "analyze", "text_stats"]

_TTR_TOKENS = 400
_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "nbsp", "apos"})
_LINKS = frozenset({"http", "href", "www", "com", "org", "net", "io", "html", "rel", "nofollow", "noreferrer"})
_IMAGES = frozenset({"img", "imgur", "png", "jpg", "jpeg", "gif", "src", "alt"})
_FORMAT = frozenset({"strong", "em", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "b", "kbd"})

STAT_NAMES: tuple[str, ...] = (
    "log_tokens",
    "log_chars",
    "avg_token_len",
    "vocab_richness",
    "code_word_ratio",
    "has_code_block",
    "log_code_blocks",
    "prose_token_ratio",
    "log_prose_tokens",
    "entity_ratio",
    "link_ratio",
    "image_ratio",
    "format_ratio",
    "digit_ratio",
    "paren_ratio",
    "single_char_ratio",
    "long_token_ratio",
    "non_ascii_ratio",
)


def text_stats(clean: str) -> np.ndarray:
    """Lexical and structural statistics of a cleaned text, float64 in :data:`STAT_NAMES` order.

    >>> s = dict(zip(STAT_NAMES, text_stats("sort list pre code xs sort(key len) lt b code pre").tolist()))
    >>> s["has_code_block"], round(s["entity_ratio"], 3), round(s["prose_token_ratio"], 3)
    (1.0, 0.091, 0.182)
    """
    toks = clean.split()
    n = len(toks)
    nf = float(max(1, n))
    # tokens inside "pre code … code pre" spans
    in_code = 0
    blocks = 0
    i = 0
    inside = False
    start = 0
    while i < n - 1:
        if not inside and toks[i] == "pre" and toks[i + 1] == "code":
            inside, start, blocks = True, i, blocks + 1
            i += 2
            continue
        if inside and toks[i] == "code" and toks[i + 1] == "pre":
            inside = False
            in_code += i + 2 - start
            i += 2
            continue
        i += 1
    if inside:
        in_code += n - start
    prose = n - in_code
    head = toks[:_TTR_TOKENS]
    n_chars = len(clean)
    non_ascii = sum(1 for ch in clean if ord(ch) > 127) if not clean.isascii() else 0
    code_words = entities = links = images = fmt = digits = parens = single = long_ = 0
    total_len = 0
    for t in toks:
        total_len += len(t)
        if t == "code":
            code_words += 1
        elif t in _ENTITIES:
            entities += 1
        elif t in _LINKS:
            links += 1
        elif t in _IMAGES:
            images += 1
        elif t in _FORMAT:
            fmt += 1
        if t.isdigit():
            digits += 1
        if "(" in t or ")" in t:
            parens += 1
        if len(t) == 1:
            single += 1
        elif len(t) > 15:
            long_ += 1
    return np.array(
        [
            math.log1p(n),
            math.log1p(n_chars),
            total_len / nf,
            len(set(head)) / max(1, len(head)),
            code_words / nf,
            1.0 if blocks else 0.0,
            math.log1p(blocks),
            prose / nf,
            math.log1p(prose),
            entities / nf,
            links / nf,
            images / nf,
            fmt / nf,
            digits / nf,
            parens / nf,
            single / nf,
            long_ / nf,
            non_ascii / max(1, n_chars),
        ],
        dtype=np.float64,
    )


def analyze(clean: str, analyzer: str, ngram: tuple[int, int]) -> list[str]:
    """Terms of a cleaned text: ``word`` n-grams of whitespace tokens, or ``char_wb`` n-grams of
    each token padded with one space (scikit-learn's ``char_wb``).

    >>> analyze("pre code x", "word", (1, 2))
    ['pre', 'code', 'x', 'pre code', 'code x']
    >>> analyze("abc", "char_wb", (3, 4))
    [' ab', 'abc', 'bc ', ' abc', 'abc ']
    """
    lo, hi = ngram
    toks = clean.split()
    out: list[str] = []
    if analyzer == "word":
        for k in range(lo, hi + 1):
            if k == 1:
                out.extend(toks)
            else:
                out.extend(" ".join(toks[i : i + k]) for i in range(len(toks) - k + 1))
        return out
    if analyzer == "char_wb":
        for tok in toks:
            w = f" {tok} "
            lw = len(w)
            for k in range(lo, hi + 1):
                if k > lw:
                    break
                out.extend(w[i : i + k] for i in range(lw - k + 1))
        return out
    raise ValueError(f"unknown analyzer {analyzer!r}")


class Tfidf:
    """A fitted TF-IDF vectorizer: ``vocabulary`` (term → column), ``idf`` per column.

    ``transform_one`` returns the non-zero columns of one text as ``(indices, values)``; values are
    ``(1 + ln tf) * idf``, L2-normalized.
    """

    def __init__(self, analyzer: str, ngram: tuple[int, int], terms: Sequence[str], idf: np.ndarray,
                 max_chars: int | None = None) -> None:
        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} terms but {len(idf)} idf values")
        self.analyzer = analyzer
        self.ngram = (int(ngram[0]), int(ngram[1]))
        self.terms = list(terms)
        self.vocabulary = {t: i for i, t in enumerate(self.terms)}
        if len(self.vocabulary) != len(self.terms):
            raise ValueError("duplicate terms in the vocabulary")
        self.idf = np.asarray(idf, dtype=np.float64)
        self.max_chars = int(max_chars) if max_chars else None  # analyze only the head of a text

    def _analyze(self, clean: str) -> list[str]:
        if self.max_chars is not None and len(clean) > self.max_chars:
            clean = clean[: self.max_chars].rsplit(" ", 1)[0]
        return analyze(clean, self.analyzer, self.ngram)

    @property
    def size(self) -> int:
        return len(self.terms)

    @classmethod
    def fit(cls, texts: Iterable[str], analyzer: str, ngram: tuple[int, int], *, min_df: int = 2,
            max_features: int | None = None, max_chars: int | None = None) -> Tfidf:
        """Vocabulary of terms in at least ``min_df`` texts (the ``max_features`` most frequent by
        document frequency, ties by term), smoothed idf. ``max_chars``: analyze only the first
        characters of each text (at whole words)."""
        df: dict[str, int] = {}
        n = 0
        probe = cls(analyzer, ngram, [], np.zeros(0), max_chars)
        for text in texts:
            n += 1
            for t in set(probe._analyze(text)):
                df[t] = df.get(t, 0) + 1
        kept = [(c, t) for t, c in df.items() if c >= min_df]
        kept.sort(key=lambda ct: (-ct[0], ct[1]))
        if max_features is not None:
            kept = kept[:max_features]
        kept.sort(key=lambda ct: ct[1])
        terms = [t for _, t in kept]
        counts = np.array([c for c, _ in kept], dtype=np.float64)
        idf = np.log((1.0 + n) / (1.0 + counts)) + 1.0
        return cls(analyzer, ngram, terms, idf, max_chars)

    def transform_one(self, clean: str) -> tuple[np.ndarray, np.ndarray]:
        tf: dict[int, int] = {}
        voc = self.vocabulary
        for t in self._analyze(clean):
            j = voc.get(t)
            if j is not None:
                tf[j] = tf.get(j, 0) + 1
        if not tf:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter(tf.keys(), dtype=np.int64, count=len(tf))
        cnt = np.fromiter(tf.values(), dtype=np.float64, count=len(tf))
        val = (1.0 + np.log(cnt)) * self.idf[idx]
        val /= np.sqrt(val @ val)
        return idx, val

    def transform(self, texts: Sequence[str]):
        """A ``scipy.sparse.csr_matrix`` (training only: needs scipy)."""
        from scipy import sparse

        indptr = [0]
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for text in texts:
            i, v = self.transform_one(text)
            indices.append(i)
            values.append(v)
            indptr.append(indptr[-1] + len(i))
        ind = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        val = np.concatenate(values) if values else np.zeros(0)
        return sparse.csr_matrix((val, ind, np.array(indptr)), shape=(len(texts), self.size))
