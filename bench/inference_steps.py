"""What each inference change bought: texts/s on the pattern-text mix, interleaved in one process.

Rows, cumulative (each adds one change to the row above), all through ``EmbeddingBatcher``:

* ``before`` — the previous CPU default: INT8 with one activation scale per tensor, one text per
  session call (for batch invariance), two 1-thread sessions; every text tokenized twice.
* ``rowq`` — batched INT8 with one activation scale per row, on the plain exported graph.
* ``+fusions`` — onnxruntime's BERT fusions before quantizing (EmbedLayerNorm,
  MultiHeadAttention, BiasGelu, SkipLayerNorm).
* ``-skipln`` — SkipLayerNormalization left as Add + LayerNormalization.
* ``+tok-once`` — each text tokenized once, the batcher carries the encodings.
* ``+runs512`` — session calls of at most 512 padded tokens instead of half a batch per worker
  (up to 4,096 tokens).
* ``+no-mask`` — a graph without attention mask, one token length per call (flash attention,
  no padding): today's default.

Up to ``+tok-once`` each worker gets half of every batch in one session call, as before.
References, not cumulative: ``intra2`` (the default, but one session call at a time with 2
intra-op threads instead of two 1-thread calls) and ``pertensor-batched`` (the previous graph on
half-batches: not batch-invariant, so not an option; what dropping invariance would buy).

A round runs sentence-transformers fp32 ``encode(batch_size=32)`` over the sample, then every row
(rotating the order per round). Ratios are taken within a round (same minute) and the median
over rounds is reported: on a shared machine absolute texts/s move with the neighbours' load.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/inference_steps.py [--texts 600] [--rounds 3]
        [--callers 8] [--request-size 16] [--only before,+tok-once]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.texts import DEFAULT_CACHE, pattern_texts  # noqa: E402
from inference.base import Embedder, Encoding  # noqa: E402
from inference.onnx_backend import OnnxEmbedder  # noqa: E402

STEPS = ["before", "rowq", "+fusions", "-skipln", "+tok-once", "+runs512", "+no-mask", "intra2",
         "pertensor-batched"]
WHOLE = 1 << 30  # run_tokens: no cap, half a batch per worker


class TokenizeTwice(OnnxEmbedder):
    """The earlier flow: the batcher only counts tokens; the model tokenizes the texts again."""

    tokenize = Embedder.tokenize  # count_tokens → encodings without ids → embed_encoded re-tokenizes


class PerText(TokenizeTwice):
    """The earlier default: every text alone in its own session call (spread over the workers)."""

    def embed_encoded(self, encodings: Sequence[Encoding]) -> np.ndarray:
        full = self.tokenizer.tokenize([e.text for e in encodings])
        return self._scatter(full, [[i] for i in range(len(full))])


def build_graphs(cache_root: Path, out: Path) -> dict[str, Path]:
    import onnx

    from inference.export import cache_dir_for, export_onnx, quantize_int8
    from inference.factory import default_model_path
    from inference.rowquant import build_int8_rowq, optimize_for_cpu, quantize_rows

    model_dir = default_model_path()
    d = cache_dir_for(cache_root, model_dir, "all-MiniLM-L6-v2")
    fp32 = export_onnx(model_dir, d)
    out.mkdir(parents=True, exist_ok=True)
    graphs = {"pertensor": quantize_int8(fp32, d / "model_int8.onnx"),
              "rowq": build_int8_rowq(fp32, d / "model_int8_rowq.onnx", 12, 384)}
    for name, make in (("rowq-plain", lambda: quantize_rows(onnx.load(str(fp32)))),
                       ("rowq-skipln", lambda: quantize_rows(optimize_for_cpu(fp32, 12, 384, skip_layer_norm=True))),
                       ("rowq-masked", lambda: quantize_rows(optimize_for_cpu(fp32, 12, 384)))):
        path = out / f"{name}.onnx"
        if not path.is_file():
            onnx.save(make(), str(path))
        graphs[name] = path
    return graphs


def make_embedders(graphs: dict[str, Path]) -> dict[str, Embedder]:
    from inference.factory import default_model_path, make_variant
    from inference.rowquant import CPU_DISABLED_OPTIMIZERS

    model_dir = default_model_path()
    variant = make_variant(model_dir, "int8-rowq", "onnx")
    off = CPU_DISABLED_OPTIMIZERS

    def mk(cls: type, graph: str, **kw: object) -> Embedder:
        return cls(graphs[graph], model_dir, variant, max_tokens=256, batch_size=64, **kw)

    return {
        "before": mk(PerText, "pertensor"),
        "rowq": mk(TokenizeTwice, "rowq-plain", run_tokens=WHOLE),
        "+fusions": mk(TokenizeTwice, "rowq-skipln", run_tokens=WHOLE),
        "-skipln": mk(TokenizeTwice, "rowq-masked", disabled_optimizers=off, run_tokens=WHOLE),
        "+tok-once": mk(OnnxEmbedder, "rowq-masked", disabled_optimizers=off, run_tokens=WHOLE),
        "+runs512": mk(OnnxEmbedder, "rowq-masked", disabled_optimizers=off),
        "+no-mask": mk(OnnxEmbedder, "rowq", disabled_optimizers=off),
        "intra2": mk(OnnxEmbedder, "rowq", disabled_optimizers=off, intra_op=True),
        "pertensor-batched": mk(TokenizeTwice, "pertensor", run_tokens=WHOLE),
    }


async def through_batcher(embedder: Embedder, requests: list[list[str]], callers: int) -> np.ndarray:
    from prometheus_client import CollectorRegistry

    from inference.batcher import EmbeddingBatcher

    out: list[np.ndarray | None] = [None] * len(requests)
    todo = iter(range(len(requests)))

    async def caller(b: EmbeddingBatcher) -> None:
        for k in todo:
            out[k] = await b.embed(requests[k])

    async with EmbeddingBatcher(embedder, registry=CollectorRegistry()) as b:
        await asyncio.gather(*(caller(b) for _ in range(callers)))
    return np.concatenate(out)  # type: ignore[arg-type]


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    t, c = time.perf_counter(), time.process_time()
    v = fn()
    return time.perf_counter() - t, time.process_time() - c, v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=600, help="sample of the pattern-text mix")
    ap.add_argument("--pool", type=int, default=8000, help="pattern texts to draw the sample from")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--callers", type=int, default=8, help="concurrent embed() callers")
    ap.add_argument("--request-size", type=int, default=16, help="texts per embed() call")
    ap.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(STEPS))
    ap.add_argument("--cache-dir", type=Path, default=ROOT / ".assay" / "models", help="ONNX export cache")
    ap.add_argument("--out", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    steps = args.only.split(",") if args.only else STEPS

    from sentence_transformers import SentenceTransformer

    from inference.factory import default_model_path

    pool = pattern_texts(args.pool, args.out)
    rng = np.random.default_rng(0)
    sample = [pool[i] for i in sorted(rng.choice(len(pool), min(args.texts, len(pool)), replace=False))]
    requests = [sample[i : i + args.request_size] for i in range(0, len(sample), args.request_size)]
    st = SentenceTransformer(str(default_model_path()), device="cpu")
    embedders = {k: v for k, v in make_embedders(build_graphs(args.cache_dir, args.out / "graphs")).items()
                 if k in steps}
    runs: dict[str, Callable[[], np.ndarray]] = {
        "st": lambda: st.encode(sample, batch_size=32, normalize_embeddings=True, show_progress_bar=False)}
    for name, e in embedders.items():
        runs[name] = lambda e=e: asyncio.run(through_batcher(e, requests, args.callers))
    st.encode(sample[:64], batch_size=32, show_progress_bar=False)  # warm-up
    for e in embedders.values():
        asyncio.run(through_batcher(e, requests[:8], args.callers))

    n = len(sample)
    print(f"{n} pattern texts, {len(requests)} requests of {args.request_size}, {args.callers} callers, "
          f"{args.rounds} rounds; load {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores", flush=True)
    walls: dict[str, list[float]] = {k: [] for k in runs}
    cpus: dict[str, list[float]] = {k: [] for k in runs}
    ratios: dict[str, list[float]] = {k: [] for k in runs}
    vecs: dict[str, np.ndarray] = {}
    order = list(embedders)
    for r in range(args.rounds):
        rot = order[r % len(order):] + order[: r % len(order)]
        for name in ["st", *rot]:
            wall, cpu, v = timed(runs[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
            vecs[name] = np.asarray(v)
        for name in runs:
            ratios[name].append(walls["st"][-1] / walls[name][-1])
        print(f"  round {r + 1}: " + ", ".join(f"{k} {n / walls[k][-1]:.1f}" for k in runs)
              + f" texts/s; load {os.getloadavg()[0]:.2f}", flush=True)

    rows = []
    print(f"\n{'step':<18} {'texts/s (median)':>16} {'best':>7} {'× ST (median)':>13} {'CPU ms/text':>11} "
          f"{'cos vs ST (min)':>15}")
    for name in runs:
        tps = [n / w for w in walls[name]]
        cos = np.sum(vecs[name] * vecs["st"], axis=1)
        row = {"step": name, "texts_per_s_median": round(statistics.median(tps), 1), "texts_per_s_best": round(max(tps), 1),
               "x_st_median": round(statistics.median(ratios[name]), 2),
               "cpu_ms_per_text": round(min(cpus[name]) / n * 1000, 2), "cos_vs_st_min": round(float(cos.min()), 5)}
        rows.append(row)
        print(f"{name:<18} {row['texts_per_s_median']:>16.1f} {row['texts_per_s_best']:>7.1f} "
              f"{row['x_st_median']:>12.2f}x {row['cpu_ms_per_text']:>11.2f} {row['cos_vs_st_min']:>15.5f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inference_steps.json").write_text(json.dumps(
        {"texts": n, "callers": args.callers, "request_size": args.request_size, "rounds": args.rounds,
         "loadavg_end": os.getloadavg(), "rows": rows}, indent=2))
    for e in embedders.values():
        e.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
