"""The CPU INT8 graph: transformer fusions, then INT8 matmuls with one activation scale per row.

Why per row. onnxruntime's dynamic quantization picks one activation scale per *tensor* and call
(``DynamicQuantizeLinear``), so in a batch a text's vector depends on its neighbours and on the
padding. Here every MatMul with a constant weight ``W`` (K, N) becomes::

    x (…, K) fp32 → s = max|x| over K / 127, one per row (token)     ReduceMax, ReduceMin
                  → x_u8 = round(x / s) + 128                         QuantizeLinear, axis 0 of (M, K)
                  → y = (x_u8 - 128) · W_s8 · w_scale                 MatMulIntegerToFloat (u8×s8)
                  → y · s                                            Mul, (…, 1) broadcast

with ``W`` quantized symmetrically per output column. A row's result depends on that row only,
so vectors are batch-invariant while the u8×s8 GEMM (VNNI) still runs over the whole batch.
MatMuls that read the same tensor (Q, K, V) share one quantization and one GEMM, then a Split.

Unpadded: the graph built here has no attention mask (inputs ``input_ids``, ``token_type_ids``);
the embedder runs texts of one token length per session call. MultiHeadAttention then takes
onnxruntime's flash-attention path (only taken without a mask; ~7% less CPU per text on the
pattern mix) and no padding is computed. A text's vector depends on its own tokens only.

Before that, onnxruntime's transformer optimizer fuses the fp32 graph (EmbedLayerNormalization,
MultiHeadAttention with separate Q/K/V MatMuls, BiasGelu). SkipLayerNormalization is left out on
purpose: on this CPU its kernel took ~10 ns per element against ~1.3 for Add + LayerNormalization
(measured in onnxruntime 1.32); the embedder also disables onnxruntime's own SkipLayerNormFusion.

onnx and onnxruntime.transformers are imported when a graph is built, never at serving time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infra.errors import InferenceError

from .export import _quiet_root_logger, build_cached

__all__ = ["build_int8_rowq", "drop_attention_mask", "optimize_for_cpu", "quantize_rows", "CPU_DISABLED_OPTIMIZERS"]

# onnxruntime session-level fusions that are slower than what they replace on the CPU provider.
CPU_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
ZERO_POINT = 128  # activations: symmetric range [-127, 127] shifted into uint8


def optimize_for_cpu(fp32_path: str | Path, num_heads: int, hidden_size: int, *, skip_layer_norm: bool = False):
    """The fp32 graph with BERT fusions (an ``onnx.ModelProto``), Q/K/V left as plain MatMuls.

    ``skip_layer_norm``: also fuse SkipLayerNormalization (slower on CPU; for benchmarks).
    """
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.use_multi_head_attention = True  # Q/K/V stay MatMuls, so they can be quantized per row
    options.enable_skip_layer_norm = skip_layer_norm
    with _quiet_root_logger():
        fused = optimizer.optimize_model(str(fp32_path), model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, optimization_options=options, opt_level=0)
    return fused.model


class _Rewriter:
    """Rewrites the MatMuls of one graph; names every new tensor under the ``rowq/`` prefix."""

    def __init__(self, graph) -> None:
        from onnx import numpy_helper

        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.to_array = numpy_helper.to_array
        self.from_array = numpy_helper.from_array
        self.new_inits: dict[str, object] = {}
        self.nodes: list = []

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self.new_inits:
            self.new_inits[name] = self.from_array(np.asarray(value), name)
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def is_weight_matmul(self, n) -> bool:
        if n.op_type != "MatMul" or n.input[1] not in self.inits:
            return False
        return len(self.inits[n.input[1]].dims) == 2

    def rewrite_group(self, group: list, k: int) -> None:
        """MatMuls that share their input (Q, K and V) become one: one quantization, one GEMM."""
        ws = [self.to_array(self.inits[n.input[1]]).astype(np.float32) for n in group]
        w = np.concatenate(ws, axis=1)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        w_q = np.clip(np.rint(w / w_scale), -127, 127).astype(np.int8)
        p, x = f"rowq/{k}/", group[0].input[0]
        weight = self.const(p + "w_q", w_q)
        scale_w = self.const(p + "w_scale", w_scale.astype(np.float32))
        one = self.const("rowq/one", np.array(1.0, dtype=np.float32))
        inv127 = self.const("rowq/inv127", np.array(1.0 / 127.0, dtype=np.float32))
        neg_inv127 = self.const("rowq/neg_inv127", np.array(-1.0 / 127.0, dtype=np.float32))
        eps = self.const("rowq/eps", np.array(1e-12, dtype=np.float32))
        zp = self.const("rowq/zp", np.array(ZERO_POINT, dtype=np.uint8))
        flat_k = self.const(f"rowq/shape_k{w.shape[0]}", np.array([-1, w.shape[0]], dtype=np.int64))
        flat = self.const("rowq/shape_flat", np.array([-1], dtype=np.int64))

        # max |x| per row as max(max x, -min x): two reads of x, no |x| tensor written
        hi = self.node("ReduceMax", [x], p + "max", axes=[-1], keepdims=1)
        lo = self.node("ReduceMin", [x], p + "min", axes=[-1], keepdims=1)
        s = self.node("Max", [self.node("Mul", [hi, inv127], p + "s_hi"),
                              self.node("Mul", [lo, neg_inv127], p + "s_lo"), eps], p + "s")  # (…, 1)
        s_flat = self.node("Reshape", [s, flat], p + "s_flat")  # (M,)
        zps = self.node("ConstantOfShape", [self.node("Shape", [s_flat], p + "m")], p + "zps",
                        value=self.from_array(np.array([ZERO_POINT], dtype=np.uint8)))
        x_q = self.node("QuantizeLinear", [self.node("Reshape", [x, flat_k], p + "x2d"), s_flat, zps], p + "x_q2d",
                        axis=0)
        x_q = self.node("Reshape", [x_q, self.node("Shape", [x], p + "x_shape")], p + "x_q")
        y = self.node("MatMulIntegerToFloat", [x_q, weight, one, scale_w, zp], p + "y_col", domain="com.microsoft")
        if len(group) == 1:
            self.node("Mul", [y, s], group[0].output[0])
            return
        from onnx import helper

        y = self.node("Mul", [y, s], p + "y")
        split = self.const(p + "split", np.array([a.shape[1] for a in ws], dtype=np.int64))
        self.nodes.append(helper.make_node("Split", [y, split], [n.output[0] for n in group], name=p + "split",
                                           axis=-1))

    def run(self) -> int:
        groups: dict[tuple[str, int], list] = {}  # (input, K) -> MatMuls, in graph order
        for n in self.graph.node:
            if self.is_weight_matmul(n):
                groups.setdefault((n.input[0], self.inits[n.input[1]].dims[0]), []).append(n)
        k = 0
        done: set[tuple[str, int]] = set()
        for n in self.graph.node:
            if not self.is_weight_matmul(n):
                self.nodes.append(n)
                continue
            key = (n.input[0], self.inits[n.input[1]].dims[0])
            if key not in done:  # at the first member: its input exists, its consumers come later
                done.add(key)
                self.rewrite_group(groups[key], k)
                k += 1
        used = {i for n in self.nodes for i in n.input}
        kept = [t for t in self.graph.initializer if t.name in used]
        del self.graph.node[:]
        self.graph.node.extend(self.nodes)
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept + list(self.new_inits.values()))
        return k


def quantize_rows(model):
    """Rewrite (in place) every MatMul with a constant 2-D weight as a per-row INT8 matmul."""
    from onnx import helper

    n = _Rewriter(model.graph).run()
    if n == 0:
        raise InferenceError("no MatMul with a constant weight to quantize")
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def drop_attention_mask(model):
    """Remove the mask from a fused graph (in place), for inputs that are never padded."""
    for n in model.graph.node:
        if n.op_type == "MultiHeadAttention":
            del n.input[4:]  # key_padding_mask and after
        elif n.op_type == "EmbedLayerNormalization":
            del n.input[7:]  # mask
    graph = model.graph
    while True:  # prune what only fed the mask
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    for i in [i for i in graph.input if i.name not in used]:
        graph.input.remove(i)
    for t in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(t)
    if any(i.name == "attention_mask" for i in graph.input):
        raise InferenceError("the attention mask is still used after removing it from the fused ops")
    return model


def build_int8_rowq(fp32_path: str | Path, out_path: str | Path, num_heads: int, hidden_size: int) -> Path:
    """Fuse, quantize and unmask ``fp32_path`` into ``out_path`` (reused when its checksum matches)."""
    def build(tmp: Path) -> None:
        import onnx

        model = drop_attention_mask(quantize_rows(optimize_for_cpu(fp32_path, num_heads, hidden_size)))
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))

    return build_cached(out_path, build, f"per-row INT8 quantization of {fp32_path}")
