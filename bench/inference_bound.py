"""Where the INT8 default's time goes on one core, and what that bounds.

One process, one thread for everything (so CPU ms per text are comparable and the other core is
left alone), on the pattern-text mix (:mod:`bench.texts`):

1. sentence-transformers fp32, ``encode(batch_size=32)``: CPU ms per text (the baseline);
2. the INT8 default (:mod:`inference.rowquant`) through :class:`OnnxEmbedder` with one worker:
   CPU ms per text, the same session calls the pipeline makes;
3. an onnxruntime profile of those calls, kernel time per op, grouped: the INT8 GEMMs, attention,
   GELU, the per-row quantization around the GEMMs, layer norms and the rest;
4. the INT8 GEMMs' rate (2 · tokens · Σ K·N of the quantized weights / their kernel time) against
   the best rate the same kernel reaches on one large GEMM (M=2048, K=384, N=1536) on this core;
5. with ``--variants``, graph changes the profile suggests, each against the default in the same
   round (CPU ms per text, min and mean cosine to the fp32 graph): FastGelu (tanh GELU), attention
   left unfused, and onnxruntime's block-wise MatMulNBits with INT8 compute (8 and 4 bits).

The bound printed last: sentence-transformers ms/text ÷ INT8 ms/text is the most the model alone
can give over the baseline at equal CPU; ÷ GEMM ms/text is what it would give if everything but the
GEMMs were free.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/inference_bound.py [--texts 300] [--rounds 2] [--variants]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.texts import DEFAULT_CACHE, pattern_texts  # noqa: E402
from inference.export import _quiet_root_logger, cache_dir_for, export_onnx  # noqa: E402
from inference.factory import INT8_VARIANT, default_model_path, make_variant, model_name  # noqa: E402
from inference.onnx_backend import OnnxEmbedder  # noqa: E402
from inference.rowquant import CPU_DISABLED_OPTIMIZERS, build_int8_rowq, drop_attention_mask, quantize_rows  # noqa: E402

GROUPS = {
    "MatMulIntegerToFloat": "int8 GEMM", "MatMulNBits": "int8 GEMM",
    "MultiHeadAttention": "attention", "Softmax": "attention", "MatMul": "attention", "Transpose": "attention",
    "BiasGelu": "GELU", "FastGelu": "GELU", "Gelu": "GELU",
    "ReduceMax": "per-row quantization", "ReduceMin": "per-row quantization", "Max": "per-row quantization",
    "Mul": "per-row quantization", "QuantizeLinear": "per-row quantization", "Reshape": "per-row quantization",
    "Shape": "per-row quantization", "ConstantOfShape": "per-row quantization", "Split": "per-row quantization",
    "LayerNormalization": "layer norm, residual, embeddings", "Add": "layer norm, residual, embeddings",
    "EmbedLayerNormalization": "layer norm, residual, embeddings",
}
HEADS, HIDDEN = 12, 384


def session_options(profile: str | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if profile:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile
    return opts


def st_ms_per_text(model_dir: Path, texts: list[str]) -> float:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    model = SentenceTransformer(str(model_dir), device="cpu")
    model.encode(texts[:32], batch_size=32)
    t = time.thread_time()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    return (time.thread_time() - t) * 1000 / len(texts)


def embedder(path: Path, model_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(path, model_dir, make_variant(model_dir, INT8_VARIANT, "onnx"), threads=1,
                        disabled_optimizers=CPU_DISABLED_OPTIMIZERS)


def timed_embed(emb: OnnxEmbedder, encodings) -> tuple[float, np.ndarray]:
    emb.embed_encoded(encodings[:8])
    t = time.thread_time()
    vectors = emb.embed_encoded(encodings)
    return (time.thread_time() - t) * 1000 / len(encodings), vectors


def op_profile(path: Path, emb: OnnxEmbedder, encodings, tmp: Path) -> dict[str, float]:
    """Kernel ms per op type over the embedder's own session calls."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), session_options(str(tmp / "ort-profile")), providers=["CPUExecutionProvider"],
                                disabled_optimizers=list(CPU_DISABLED_OPTIMIZERS))
    names = {i.name for i in sess.get_inputs()}
    for chunk in emb._sub_batches(list(encodings)):
        batch = emb.tokenizer.pad([encodings[i] for i in chunk])
        sess.run(None, {k: v for k, v in batch.as_feeds().items() if k in names})
    events = json.loads(Path(sess.end_profiling()).read_text())
    per_op: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"] / 1000
    return dict(per_op)


def gemm_macs_per_token(path: Path) -> int:
    import onnx

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    return sum(int(np.prod(inits[n.input[1]].dims)) for n in model.graph.node
               if n.op_type == "MatMulIntegerToFloat" and n.input[1] in inits)


def best_gemm_gops(m: int = 2048, k: int = 384, n: int = 1536, repeats: int = 20) -> float:
    """The u8×s8 GEMM kernel's rate on one large GEMM on this core (GOPS, 2 ops per MAC)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "w")
    consts = [numpy_helper.from_array(np.array(1.0, np.float32), "one"),
              numpy_helper.from_array(np.full(n, 0.01, np.float32), "ws"),
              numpy_helper.from_array(np.array(128, np.uint8), "zp")]
    node = helper.make_node("MatMulIntegerToFloat", ["a", "w", "one", "ws", "zp"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w, *consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    sess = ort.InferenceSession(model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    sess.run(None, {"a": a})
    best = float("inf")
    for _ in range(repeats):
        t = time.thread_time()
        sess.run(None, {"a": a})
        best = min(best, time.thread_time() - t)
    return 2 * m * k * n / best / 1e9


def build_variants(fp32: Path, out: Path) -> dict[str, Path]:
    """Graphs the profile suggests, built next to the cache (not the served model)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    def fused(attention: bool = True, fast_gelu: bool = False):
        options = FusionOptions("bert")
        options.use_multi_head_attention = True
        options.enable_skip_layer_norm = False
        options.enable_attention = attention
        options.enable_gelu_approximation = fast_gelu
        with _quiet_root_logger():
            return optimizer.optimize_model(str(fp32), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN,
                                            optimization_options=options, opt_level=0).model

    out.mkdir(parents=True, exist_ok=True)
    paths = {"fp32 (fused, reference)": out / "fp32.onnx", "FastGelu": out / "fastgelu.onnx",
             "attention unfused": out / "unfused.onnx"}
    if not paths["fp32 (fused, reference)"].exists():
        onnx.save(drop_attention_mask(fused()), str(paths["fp32 (fused, reference)"]))
    if not paths["FastGelu"].exists():
        onnx.save(drop_attention_mask(quantize_rows(fused(fast_gelu=True))), str(paths["FastGelu"]))
    if not paths["attention unfused"].exists():
        onnx.save(quantize_rows(fused(attention=False)), str(paths["attention unfused"]))
    for bits, block in ((8, 32), (8, 128), (4, 32)):
        p = out / f"nbits{bits}-b{block}.onnx"
        paths[f"MatMulNBits {bits}-bit, block {block}"] = p
        if not p.exists():
            with _quiet_root_logger():
                q = MatMulNBitsQuantizer(onnx.load(str(paths["fp32 (fused, reference)"])), bits=bits, block_size=block,
                                         is_symmetric=True, accuracy_level=4)
                q.process()
            q.model.save_model_to_file(str(p), False)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2, help="passes per graph (best kept)")
    ap.add_argument("--variants", action="store_true", help="also time the graph changes the profile suggests")
    ap.add_argument("--out", type=Path, default=DEFAULT_CACHE / "inference_bound")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)

    model_dir = default_model_path()
    cache = cache_dir_for(ROOT / ".assay" / "models", model_dir, model_name(model_dir))
    fp32 = export_onnx(model_dir, cache)
    int8 = build_int8_rowq(fp32, cache / "model_int8_rowq.onnx", HEADS, HIDDEN)
    texts = pattern_texts(max(args.texts, 600))[: args.texts]

    emb = embedder(int8, model_dir)
    encodings = emb.tokenize(texts)
    tokens = sum(e.tokens for e in encodings)
    int8_ms = min(timed_embed(emb, encodings)[0] for _ in range(args.rounds))
    st_ms = st_ms_per_text(model_dir, texts)
    per_op = op_profile(int8, emb, encodings, args.out)
    kernel_ms = sum(per_op.values())
    groups: collections.Counter = collections.Counter()
    for op, ms in per_op.items():
        groups[GROUPS.get(op, "other")] += ms
    gemm_ms = groups["int8 GEMM"]
    gemm_gops = 2 * tokens * gemm_macs_per_token(int8) / (gemm_ms / 1000) / 1e9
    best_gops = best_gemm_gops()

    result = {
        "texts": len(texts), "mean_tokens": round(tokens / len(texts), 1),
        "sentence_transformers_ms_per_text": round(st_ms, 2), "int8_ms_per_text": round(int8_ms, 2),
        "share_by_group": {g: round(ms / kernel_ms, 3) for g, ms in groups.most_common()},
        "ms_per_text_by_group": {g: round(ms / len(texts), 2) for g, ms in groups.most_common()},
        "int8_gemm_gops": round(gemm_gops, 1), "best_int8_gemm_gops": round(best_gops, 1),
        "model_ratio_to_st": round(st_ms / int8_ms, 2),
        "ratio_if_only_gemms_cost": round(st_ms / (gemm_ms / len(texts)), 2),
    }
    if args.variants:
        paths = build_variants(fp32, args.out / "graphs")
        ref_emb = embedder(paths.pop("fp32 (fused, reference)"), model_dir)
        ref = ref_emb.embed_encoded(encodings)
        rows = {"default (per-row INT8)": emb, **{name: embedder(p, model_dir) for name, p in paths.items()}}
        timings: dict[str, list[float]] = {name: [] for name in rows}
        vectors: dict[str, np.ndarray] = {}
        for r in range(args.rounds):
            for name, e in (list(rows.items()) if r % 2 == 0 else list(rows.items())[::-1]):
                ms, vectors[name] = timed_embed(e, encodings)
                timings[name].append(ms)
        result["variants"] = {}
        for name in rows:
            cos = (vectors[name] * ref).sum(axis=1)
            result["variants"][name] = {"ms_per_text": round(min(timings[name]), 2),
                                        "min_cosine_to_fp32": round(float(cos.min()), 4),
                                        "mean_cosine_to_fp32": round(float(cos.mean()), 5)}
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
                         "date": time.strftime("%Y-%m-%d %H:%M")}
    (args.out / "inference_bound.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
