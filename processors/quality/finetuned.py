"""The fine-tuned half of the quality model at scoring time: an ONNX graph, no torch.

From 1.2.0 a quality artifact may carry a second classifier next to the linear half
(:mod:`processors.quality.linear`): all-MiniLM-L6-v2 with mean pooling and a linear head, every
weight trained on the labels (:mod:`processors.quality.training.finetune`), exported as one ONNX
graph ``(input_ids, attention_mask, token_type_ids) → logits`` and dynamically quantized to INT8.
It reads the first ``max_tokens`` tokens of the *same* cleaned text
(:func:`processors.quality.preprocess.document_text`); the model averages both halves' class
probabilities with equal weights (:func:`processors.quality.classes.average_halves`).

:class:`FinetunedClassifier` runs that graph (plain or gzipped, as artifacts store it) with
onnxruntime and the model's own ``tokenizer.json`` (Rust ``tokenizers``).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from inference.tokenize import TextTokenizer
from processors.quality.artifacts import TOKENIZER, ArtifactError

__all__ = ["FinetunedClassifier", "classifier_tokenizer"]

INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})


def classifier_tokenizer(tokenizer_path: Path, max_tokens: int) -> TextTokenizer:
    """The embedder's tokenizer wrapper over ``tokenizer_path`` (truncation to ``max_tokens``,
    padding to the batch's longest text); the file must be named ``tokenizer.json``."""
    if tokenizer_path.name != TOKENIZER:
        raise ArtifactError(f"{tokenizer_path}: the tokenizer file must be named {TOKENIZER}")
    return TextTokenizer(tokenizer_path.parent, max_tokens)


class FinetunedClassifier:
    """The exported classifier run with onnxruntime: cleaned texts → class logits.

    One text per session call: dynamic INT8 quantizes activations with one scale per call, so in a
    padded batch a text's logits would depend on its neighbours (the embedder runs INT8 the same
    way, for the same reason). A score is then a function of the document alone, which replays
    and A/B comparisons rely on.

    Thread-safe (one onnxruntime session, a tokenizer that is read-only once built).
    """

    def __init__(self, onnx_path: str | Path, tokenizer_path: str | Path, max_tokens: int,
                 *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort  # loaded with the first model that has a fine-tuned half

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
            opts.log_severity_level = 3
            graph: str | bytes = str(onnx_path)
            if str(onnx_path).endswith(".gz"):  # as stored in an artifact
                graph = gzip.decompress(Path(onnx_path).read_bytes())
            self._session = ort.InferenceSession(graph, sess_options=opts, providers=["CPUExecutionProvider"])
            self._tok = classifier_tokenizer(Path(tokenizer_path), max_tokens)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad artifact
            raise ArtifactError(f"cannot load the fine-tuned classifier {onnx_path}: {e}") from e
        names = {i.name for i in self._session.get_inputs()}
        if names != INPUTS:
            raise ArtifactError(f"{onnx_path}: unexpected inputs {sorted(names)}")
        self.onnx_path, self.tokenizer_path = Path(onnx_path), Path(tokenizer_path)
        self.max_tokens = max_tokens

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Class logits (n, 3), one session call per text."""
        out = np.zeros((len(texts), 3), dtype=np.float64)
        for i, text in enumerate(texts):
            out[i] = self._session.run(["logits"], self._tok.encode([text]).as_feeds())[0][0]
        return out
