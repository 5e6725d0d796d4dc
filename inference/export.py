"""ONNX export and INT8 quantization of a sentence-transformers (BERT-style) model, with a cache.

* ``export_onnx(model_dir, out_dir)`` → ``out_dir/model_fp32.onnx``: the HF transformer
  (``AutoModel``) traced with the TorchScript exporter (``dynamo=False``, opset 17), inputs
  ``input_ids`` / ``attention_mask`` / ``token_type_ids`` (int64, dynamic batch and sequence
  axes), output ``last_hidden_state`` (batch, sequence, hidden). Pooling and normalization are
  done by the backend in numpy.
* ``quantize_int8(fp32_path, out_path)``: onnxruntime's dynamic INT8 quantization (one activation
  scale per tensor and call, so batch-dependent). The quality classifier uses it on texts run one
  at a time; the embedder's batch-invariant INT8 graph is built by :mod:`inference.rowquant`.

Every artefact is written atomically next to a ``<file>.sha256`` checksum file; a cached file is
reused only when its checksum matches, otherwise it is rebuilt.

torch / transformers are imported lazily, only when an export actually runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable

from infra.errors import InferenceError

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
# Bump when the export or quantization recipe changes: part of the cache key (see cache_dir_for).
EXPORT_VERSION = 1

_MB = 1 << 20


# --------------------------------------------------------------------------- checksums / cache


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * _MB), b""):
            h.update(chunk)
    return h.hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_valid(path: Path) -> bool:
    """True when ``path`` exists and matches its ``.sha256`` file."""
    path = Path(path)
    sums = _checksum_path(path)
    if not path.is_file() or not sums.is_file():
        return False
    try:
        expected = sums.read_text().split()[0].strip()
    except (OSError, IndexError):
        return False
    return sha256_file(path) == expected


def _publish(tmp: Path, final: Path) -> None:
    """Write the checksum, then atomically move ``tmp`` into place (checksum last)."""
    digest = sha256_file(tmp)
    os.replace(tmp, final)
    sums_tmp = final.with_name(f".{final.name}.sha256.{os.getpid()}")
    sums_tmp.write_text(f"{digest}  {final.name}\n")
    os.replace(sums_tmp, _checksum_path(final))


def _tmp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=".onnx.tmp", dir=final.parent)
    os.close(fd)
    os.chmod(name, 0o644)
    return Path(name)


def build_cached(out_path: str | Path, build: Callable[[Path], None], what: str) -> Path:
    """``out_path`` when its checksum matches; else ``build(tmp)`` and publish ``tmp`` there with its
    checksum. Errors become InferenceError("<what> failed: …")."""
    out_path = Path(out_path)
    if is_valid(out_path):
        return out_path
    t0 = time.perf_counter()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(out_path)
    try:
        build(tmp)
        _publish(tmp, out_path)
    except InferenceError:
        raise
    except Exception as e:
        raise InferenceError(f"{what} failed: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)
    log.info("%s: %s in %.1fs", what, out_path, time.perf_counter() - t0)
    return out_path


@lru_cache(maxsize=16)
def _revision(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_MB))
        if size > 2 * _MB:
            f.seek(size - _MB)
        h.update(f.read(_MB))
    return h.hexdigest()[:12]


def model_revision(model_dir: str | Path) -> str:
    """Short content hash of the model weights (first + last MiB + size; cached per process)."""
    model_dir = Path(model_dir)
    for name in ("model.safetensors", "pytorch_model.bin"):
        p = model_dir / name
        if p.is_file():
            st = p.stat()
            return _revision(str(p), st.st_size, st.st_mtime_ns)
    raise InferenceError(f"no model weights (model.safetensors / pytorch_model.bin) in {model_dir}")


def cache_dir_for(cache_root: str | Path, model_dir: str | Path, name: str | None = None) -> Path:
    """Per-model, per-recipe cache directory under ``cache_root``."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in (name or Path(model_dir).name))
    return Path(cache_root) / "onnx" / f"{name}-{model_revision(model_dir)}-v{EXPORT_VERSION}"


@contextmanager
def _quiet_root_logger():
    """onnxruntime.quantization logs every node at INFO on the root logger."""
    root = logging.getLogger()
    level = root.level
    if root.getEffectiveLevel() < logging.WARNING:
        root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)


# --------------------------------------------------------------------------- export


def export_onnx(model_dir: str | Path, out_dir: str | Path) -> Path:
    """Export (or reuse the cached) fp32 ONNX graph of the transformer; returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / "model_fp32.onnx"
    if is_valid(final):
        log.debug("reusing cached ONNX export %s", final)
        return final
    if final.exists():
        log.warning("cached ONNX export %s is missing its checksum or corrupt; re-exporting", final)

    try:
        import torch
        from transformers import AutoModel
    except ImportError as e:
        raise InferenceError(f"ONNX export needs torch and transformers: {e}") from e

    def build(tmp: Path) -> None:
        import warnings

        try:
            # Eager attention traces to plain MatMul/Softmax, which onnxruntime fuses into Attention.
            model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
        except Exception as e:
            raise InferenceError(f"cannot load transformer from {model_dir}: {e}") from e
        model.eval()

        class _Wrapper(torch.nn.Module):
            def __init__(self, m: torch.nn.Module) -> None:
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: D401
                return self.m(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        # A padded dummy batch, so the traced graph keeps the attention-mask path.
        ids = torch.tensor([[101, 7592, 2088, 2003, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
        mask = (ids != 0).long()
        types = torch.zeros_like(ids)
        axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about shape-derived Python values
            torch.onnx.export(
                _Wrapper(model),
                (),
                str(tmp),
                kwargs={"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        _check_onnx(tmp)

    return build_cached(final, build, f"ONNX export of {model_dir}")


def _check_onnx(path: Path) -> None:
    try:
        import onnx

        onnx.checker.check_model(str(path))
    except ImportError:  # onnx is optional at runtime; onnxruntime will validate on load
        pass
    except Exception as e:
        raise InferenceError(f"exported ONNX graph {path} is invalid: {e}") from e


# --------------------------------------------------------------------------- quantization


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    per_channel: bool = True,
    reduce_range: bool = False,
    exclude_ops: tuple[str, ...] = (),
) -> Path:
    """Dynamic INT8 quantization (QInt8 weights, uint8 activations) of ``fp32_path``.

    Reuses ``out_path`` if its checksum matches. ``exclude_ops``: op types kept in fp32.
    """
    def build(tmp: Path) -> None:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        nodes_to_exclude: list[str] = []
        if exclude_ops:
            graph = onnx.load(str(fp32_path), load_external_data=False).graph
            nodes_to_exclude = [n.name for n in graph.node if n.op_type in exclude_ops]
        with _quiet_root_logger():
            quantize_dynamic(
                str(fp32_path),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
                nodes_to_exclude=nodes_to_exclude,
                # Fused contrib ops (Attention, SkipLayerNormalization…) defeat shape inference.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )

    return build_cached(out_path, build, f"INT8 quantization of {fp32_path}")


# --------------------------------------------------------------------------- fp16 (CUDA only)


def convert_fp16(fp32_path: str | Path, out_path: str | Path) -> Path:
    """fp16 copy of the graph for the CUDA execution provider (inputs/outputs stay int64/fp32).

    Untested here (no GPU on the development machines); reuses ``out_path`` if its checksum matches.
    """
    def build(tmp: Path) -> None:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        onnx.save(convert_float_to_float16(onnx.load(str(fp32_path)), keep_io_types=True), str(tmp))

    return build_cached(out_path, build, f"fp16 conversion of {fp32_path}")
