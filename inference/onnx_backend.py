"""onnxruntime backend: tokenize (Rust tokenizers) → InferenceSession → mean-pool → L2-normalize.

No torch here. The graph is the one produced by :mod:`inference.export` (inputs ``input_ids`` /
``attention_mask`` / ``token_type_ids``, output ``last_hidden_state``).

Sub-batches: a batch is cut, in length order, into session calls of at most ``run_tokens``
padded tokens (default 512); for a graph without an attention mask (the INT8 default), into calls
of texts of one token length, which need no padding at all. Bigger calls amortize nothing on this CPU and leave the caches: on
the pattern-text mix, CPU per text was 13.2 ms at 512 tokens per call, 15.9 at 1024, 18.6 at
4096, 13.8 one text per call (bench/inference_steps.py explains the setup). On CUDA
``run_tokens`` defaults to whole batches.

Parallelism: ``threads`` (0 = all cores) workers each call ``session.run`` on their own
sub-batches with one intra-op thread (onnxruntime releases the GIL). On a 2-core box shared with
other jobs this beat one run with 2 intra-op threads (``intra_op=True``) by a wide margin
(bench/inference_steps.py measures both).

Texts arrive tokenized (:meth:`OnnxEmbedder.tokenize`, once per text; the batcher carries the
encodings) and are padded per sub-batch. Every graph the factory builds is batch-invariant: a
text's vector does not depend on the other texts of its batch or on the padding (the INT8 graph
quantizes activations per row, see :mod:`inference.rowquant`), so sub-batches are free to form.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from infra.errors import InferenceError

from .base import Embedder, Encoding, ModelVariant
from .tokenize import TextTokenizer

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU_RUN_TOKENS = 512  # padded tokens per session call on the CPU (see the module docstring)


def cuda_available() -> tuple[bool, str]:
    """Whether the CUDA execution provider can be used, and why not if it cannot."""
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover
        return False, f"onnxruntime not importable: {e}"
    if CUDA not in ort.get_available_providers():
        return False, "onnxruntime-gpu is not installed (no CUDAExecutionProvider)"
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False, "CUDA_VISIBLE_DEVICES hides every GPU"
    if not (Path("/dev/nvidiactl").exists() or os.name == "nt"):
        return False, "no NVIDIA GPU device present"
    return True, ""


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked mean over the sequence axis, then L2 normalization (as sentence-transformers)."""
    m = mask.astype(np.float32)[:, :, None]
    summed = np.einsum("bsh,bsk->bh", hidden.astype(np.float32, copy=False), m)
    counts = np.maximum(m.sum(axis=1), 1e-9)
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32, copy=False)


class OnnxEmbedder(Embedder):
    def __init__(
        self,
        onnx_path: str | Path,
        model_dir: str | Path,
        variant: ModelVariant,
        *,
        max_tokens: int = 256,
        batch_size: int = 64,
        threads: int = 0,
        use_cuda: bool = False,
        disabled_optimizers: Sequence[str] = (),
        intra_op: bool = False,
        run_tokens: int | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - hard dependency
            raise InferenceError(f"onnxruntime unavailable: {e}") from e
        self.variant = variant
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.tokenizer = TextTokenizer(model_dir, max_tokens)
        cores = threads if threads > 0 else available_cores()
        self.workers = 1 if intra_op else cores

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        providers: list = [CPU]
        if use_cuda:
            ok, why = cuda_available()
            if ok:
                providers = [(CUDA, {"device_id": 0}), CPU]
                self.workers = 1  # one stream of large batches feeds a GPU best
            else:
                log.warning("CUDA requested for %s but %s; using the CPU provider", variant.id, why)
        opts.intra_op_num_threads = 1 if self.workers > 1 else (cores if intra_op else threads)
        extra = {"disabled_optimizers": list(disabled_optimizers)} if disabled_optimizers else {}
        try:
            self._session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=providers, **extra)
        except Exception as e:
            raise InferenceError(f"cannot load ONNX model {onnx_path}: {e}") from e
        self.providers = self._session.get_providers()
        on_gpu = CUDA in self.providers
        self.run_tokens = max(1, run_tokens if run_tokens else (1 << 30 if on_gpu else CPU_RUN_TOKENS))
        if use_cuda and CUDA not in self.providers:
            log.warning("onnxruntime could not create the CUDA provider for %s; running on CPU", variant.id)
        self._input_names = {i.name for i in self._session.get_inputs()}
        # A graph without a mask (inference.rowquant) must never see padding: one length per call.
        self.unpadded = "attention_mask" not in self._input_names
        self._output_name = self._session.get_outputs()[0].name
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-embed") if self.workers > 1 else None
        log.info(
            "ONNX embedder %s: %s, providers=%s, workers=%d", variant.id, onnx_path, self.providers, self.workers,
        )

    @property
    def truncated(self) -> int:
        """How many texts were truncated to ``max_tokens`` so far."""
        return self.tokenizer.truncated

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.tokenizer.count_tokens(texts)

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        return self.tokenizer.tokenize(texts)

    def _run(self, encodings: list[Encoding]) -> np.ndarray:
        batch = self.tokenizer.pad(encodings)
        feeds = {k: v for k, v in batch.as_feeds().items() if k in self._input_names}
        try:
            (hidden,) = self._session.run([self._output_name], feeds)
        except Exception as e:
            raise InferenceError(f"ONNX inference failed: {e}") from e
        return mean_pool_normalize(hidden, batch.attention_mask)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_encoded(self.tokenize(list(texts)))

    def embed_encoded(self, encodings: Sequence[Encoding]) -> np.ndarray:
        encodings = list(encodings)
        n = len(encodings)
        if n == 0:
            return np.zeros((0, self.variant.dim), dtype=np.float32)
        raw = [i for i, e in enumerate(encodings) if e.ids is None]  # e.g. built by another backend
        if raw:
            for i, e in zip(raw, self.tokenizer.tokenize([encodings[i].text for i in raw])):
                encodings[i] = e
        chunks = self._sub_batches(encodings)
        if len(chunks) == 1:
            return self._run(encodings)
        return self._scatter(encodings, chunks)

    def _sub_batches(self, encodings: list[Encoding]) -> list[list[int]]:
        """Indices in length order, cut at ``run_tokens`` padded tokens (longest × count), at most
        ``batch_size`` texts, at each new length for an unpadded graph, and into at least one
        sub-batch per worker."""
        most = min(self.batch_size, -(-len(encodings) // self.workers))
        chunks: list[list[int]] = []
        cur: list[int] = []
        longest = 0
        lengths = [len(e.ids) for e in encodings]  # type: ignore[arg-type]  # what pad() will produce
        for i in sorted(range(len(encodings)), key=lengths.__getitem__):
            t = lengths[i]
            if cur and (max(longest, t) * (len(cur) + 1) > self.run_tokens or len(cur) >= most
                        or (self.unpadded and t != longest)):
                chunks.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, t)
        chunks.append(cur)
        return chunks

    def _scatter(self, encodings: list[Encoding], chunks: list[list[int]]) -> np.ndarray:
        out = np.empty((len(encodings), self.variant.dim), dtype=np.float32)
        run = lambda idx: self._run([encodings[i] for i in idx])  # noqa: E731
        results = self._pool.map(run, chunks) if self._pool is not None else map(run, chunks)
        for idx, vecs in zip(chunks, results):
            out[idx] = vecs
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._session = None  # type: ignore[assignment]
