"""Fast tokenization with the Rust ``tokenizers`` library (no torch).

``TextTokenizer`` wraps ``tokenizers.Tokenizer.from_file(<model_dir>/tokenizer.json)``:

* ``encode(texts)`` truncates each text to ``max_tokens`` (special tokens included), pads to the
  longest text of the batch and returns numpy int64 ``input_ids`` / ``attention_mask`` /
  ``token_type_ids`` of shape (n, seq);
* ``count_tokens(texts)`` returns token counts *before* truncation (no padding);
* ``truncated`` counts how many texts ``encode`` has truncated since construction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer

from infra.errors import InferenceError


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
        # One instance truncates/pads for the model, one counts raw lengths; the
        # tokenizer.json shipped with MiniLM has fixed padding to 128 and truncation
        # at 128, both replaced here.
        self._enc = Tokenizer.from_file(str(path))
        self._enc.no_padding()
        self._enc.enable_truncation(max_length=max_tokens)
        pad_token = "[PAD]" if self._enc.token_to_id("[PAD]") is not None else "<pad>"
        pad_id = self._enc.token_to_id(pad_token) or 0
        self._enc.enable_padding(pad_id=pad_id, pad_token=pad_token)  # to the batch's longest
        self._count = Tokenizer.from_file(str(path))
        self._count.no_truncation()
        self._count.no_padding()
        self._lock = threading.Lock()
        self.truncated = 0

    def encode(self, texts: Sequence[str]) -> Batch:
        texts = list(texts)
        if not texts:
            empty = np.zeros((0, 0), dtype=np.int64)
            return Batch(empty, empty.copy(), empty.copy(), 0)
        encs = self._enc.encode_batch(texts, add_special_tokens=True)
        ids = np.asarray([e.ids for e in encs], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
        types = np.asarray([e.type_ids for e in encs], dtype=np.int64)
        n_trunc = sum(1 for e in encs if e.overflowing)
        self.record_truncated(n_trunc)
        return Batch(ids, mask, types, n_trunc)

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
