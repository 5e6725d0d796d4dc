"""Fast tokenization with the Rust ``tokenizers`` library (no torch).

``TextTokenizer`` wraps ``tokenizers.Tokenizer.from_file(<model_dir>/tokenizer.json)``:

* ``tokenize(texts)`` → one :class:`~inference.base.Encoding` per text: ids truncated to
  ``max_tokens`` (special tokens included), no padding. This is the only tokenization a text
  needs: the batcher queues encodings and ``pad`` turns a batch of them into model inputs;
* ``pad(encodings)`` → numpy int64 ``input_ids`` / ``attention_mask`` / ``token_type_ids`` of
  shape (n, longest), right-padded;
* ``encode(texts)`` = ``pad(tokenize(texts))``;
* ``count_tokens(texts)`` returns token counts *before* truncation (no padding);
* ``truncated`` counts how many texts ``tokenize`` has truncated since construction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer

from infra.errors import InferenceError

from .base import Encoding


@dataclass(frozen=True)
class Batch:
    input_ids: np.ndarray  # (n, seq) int64
    attention_mask: np.ndarray  # (n, seq) int64
    token_type_ids: np.ndarray  # (n, seq) int64
    truncated: int  # how many texts of this batch were truncated

    def as_feeds(self) -> dict[str, np.ndarray]:
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }


class TextTokenizer:
    def __init__(self, model_dir: str | Path, max_tokens: int = 256) -> None:
        path = Path(model_dir) / "tokenizer.json"
        if not path.is_file():
            raise InferenceError(f"no tokenizer.json in {model_dir}")
        if max_tokens < 2:
            raise InferenceError(f"max_tokens must be >= 2, got {max_tokens}")
        self.max_tokens = max_tokens
        # One instance truncates for the model, one counts raw lengths; the tokenizer.json shipped
        # with MiniLM has fixed padding to 128 and truncation at 128, both replaced here. Padding
        # happens in ``pad``, once per model batch, so encodings can wait in a queue unpadded.
        self._enc = Tokenizer.from_file(str(path))
        self._enc.no_padding()
        self._enc.enable_truncation(max_length=max_tokens)
        pad_token = "[PAD]" if self._enc.token_to_id("[PAD]") is not None else "<pad>"
        self.pad_id = self._enc.token_to_id(pad_token) or 0
        self._count = Tokenizer.from_file(str(path))
        self._count.no_truncation()
        self._count.no_padding()
        self._lock = threading.Lock()
        self.truncated = 0

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        texts = list(texts)
        if not texts:
            return []
        encs = self._enc.encode_batch(texts, add_special_tokens=True)
        out = [Encoding(t, max(1, len(e.ids)), bool(e.overflowing), np.asarray(e.ids, dtype=np.int64))
               for t, e in zip(texts, encs)]
        self.record_truncated(sum(1 for e in out if e.truncated))
        return out

    def pad(self, encodings: Sequence[Encoding]) -> Batch:
        n = len(encodings)
        if n == 0:
            empty = np.zeros((0, 0), dtype=np.int64)
            return Batch(empty, empty.copy(), empty.copy(), 0)
        if any(e.ids is None for e in encodings):
            raise InferenceError("pad() needs encodings with token ids (from TextTokenizer.tokenize)")
        longest = max(len(e.ids) for e in encodings)  # type: ignore[arg-type]
        ids = np.full((n, longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((n, longest), dtype=np.int64)
        for i, e in enumerate(encodings):
            k = len(e.ids)  # type: ignore[arg-type]
            ids[i, :k] = e.ids
            mask[i, :k] = 1
        return Batch(ids, mask, np.zeros_like(ids), sum(1 for e in encodings if e.truncated))

    def encode(self, texts: Sequence[str]) -> Batch:
        return self.pad(self.tokenize(texts))

    def record_truncated(self, n: int) -> None:
        if n:
            with self._lock:
                self.truncated += n

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts (special tokens included) before truncation."""
        texts = list(texts)
        if not texts:
            return []
        return [len(e.ids) for e in self._count.encode_batch(texts, add_special_tokens=True)]
