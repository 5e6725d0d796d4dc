"""Torch weights back from a shipped fine-tuned half: the INT8 ONNX graph, dequantized.

An artifact carries its fine-tuned half only as the INT8 graph
:func:`~processors.quality.training.finetune.export_classifier` wrote (no torch weights), so
continuing to fine-tune a published version whose half no job of ours produced (the shipped 1.2.0)
starts from that graph. Dynamic quantization keeps every weight recoverable up to rounding:

* the ``MatMulInteger`` of a linear layer is named after the module (``/encoder/encoder/layer.0/
  attention/self/query/MatMul_quant`` → ``encoder.encoder.layer.0.attention.self.query.weight``);
  its weight is stored transposed, int8, one scale and zero point per output channel;
* embedding tables are ``<name>_quantized`` with one scale and zero point (``DequantizeLinear``);
* biases and LayerNorm parameters stay fp32 under their torch names.

The recovered weight is ``(q - zero_point) × scale``: within half a quantization step of the
trained fp32 weight. Parameters the graph does not use (BERT's pooler) are not in it; the caller
keeps the encoder's own.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from processors.quality.artifacts import ArtifactError

__all__ = ["state_from_int8"]

_SUFFIXES = ("/Gemm_MatMul_quant", "/MatMul_quant")


def _load_graph(onnx_path: Path):
    import onnx

    raw = Path(onnx_path).read_bytes()
    if str(onnx_path).endswith(".gz"):
        raw = gzip.decompress(raw)
    return onnx.load_from_string(raw)


def _module_weight(node_name: str) -> str | None:
    """``/encoder/…/query/MatMul_quant`` → ``encoder.….query.weight`` (None: not a named linear layer)."""
    for suffix in _SUFFIXES:
        if node_name.startswith("/") and node_name.endswith(suffix):
            return node_name[1: -len(suffix)].replace("/", ".") + ".weight"
    return None


def state_from_int8(onnx_path: str | Path) -> dict[str, np.ndarray]:
    """fp32 parameters (torch names and layouts of the mean-pooling classifier) recovered from an
    INT8 classifier graph (plain or gzipped); :class:`ArtifactError` when the graph is not one."""
    from onnx import numpy_helper

    try:
        graph = _load_graph(Path(onnx_path)).graph
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad artifact
        raise ArtifactError(f"cannot read the classifier graph {onnx_path}: {e}") from e
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, value in init.items():
        if value.dtype == np.float32 and value.ndim >= 1 and not name.endswith(("_scale", "_zero_point")):
            state[name] = value  # biases, LayerNorm: stored under their torch names
        elif name.endswith(".weight_quantized"):  # an embedding table, per-tensor
            base = name[: -len("_quantized")]
            state[base] = ((value.astype(np.float32) - init[base + "_zero_point"].astype(np.float32))
                           * init[base + "_scale"].astype(np.float32))
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        key = _module_weight(node.name)
        weight = node.input[1]
        if key is None or not weight.endswith("_quantized"):
            raise ArtifactError(f"{onnx_path}: unexpected quantized matmul {node.name!r}; not an exported classifier")
        stem = weight[: -len("_quantized")]
        q, zp, scale = init[weight], init[stem + "_zero_point"], init[stem + "_scale"]
        # stored (in, out) with one scale per output channel; torch keeps (out, in)
        state[key] = np.ascontiguousarray(((q.astype(np.float32) - zp.astype(np.float32)) * scale).T)
    if "head.weight" not in state or "head.bias" not in state:
        raise ArtifactError(f"{onnx_path}: no classification head in the graph")
    return state
