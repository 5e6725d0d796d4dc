"""Inference benchmark: Assay backends behind the EmbeddingBatcher vs sentence-transformers.

One fixed set of real texts, the pattern-text mix the pipeline embeds (``bench/texts.py``:
``extract_patterns`` over standard-library modules, code and prose up to 256 tokens), is
embedded by

* the baseline: ``SentenceTransformer(model_dir).encode(texts, batch_size=32,
  normalize_embeddings=True)`` (fp32), and
* every Assay variant (torch fp32, onnx fp32, onnx int8; onnx fp16 when CUDA is available)
  through :class:`inference.batcher.EmbeddingBatcher`, with 1 / 8 / 64 concurrent asyncio
  callers, each sending requests of ``--request-size`` texts until the pool is exhausted.

Each of them runs in its own fresh subprocess (this script with ``--worker``), so peak RSS and
"was torch imported" are per variant and one variant's memory never pollutes another's. Peak
RSS is ``VmHWM`` from ``/proc/self/status`` of the child: on Linux ``ru_maxrss`` also carries
over the high-water mark of the parent at fork time (the pre-exec image), so it overstates a
child's own peak; it is recorded in the JSON as ``ru_maxrss_mb`` for reference.

Reported per variant × concurrency: texts/s, ratio to the baseline, p50/p99 latency per request,
mean batch size and padding share (padded token slots) of the batches the batcher formed, and
process CPU ms per text (CPU time of the variant's process over the pass / texts: far less
sensitive than texts/s to other jobs on a shared box). Per variant: load time, peak RSS, torch imported,
Spearman×100 on STS-B dev (all pairs, embedded in an untimed pass), Δ vs the
sentence-transformers fp32 reference, and mean / min cosine vs the reference vectors over the
benchmark texts. The baseline and the variants run one after the other, minutes apart: on a
shared machine, bench/inference_steps.py (interleaved, one process) gives the fairer ratios.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/inference.py [--quick] [--out bench/out]
        [--concurrency 1,8,64] [--request-size 4] [--repeats 1] [--threads 0]
        [--texts 2000] [--variants torch:fp32,onnx:fp32,onnx:int8]

Writes ``<out>/inference.json`` (results + machine info) and ``<out>/inference.png``.
The machine is shared: numbers from a busy box are noisy; ``--repeats`` keeps the best pass.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import logging
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/inference.py: put the repo root first so ``inference`` is the package.
sys.path.insert(0, str(ROOT))

DEFAULT_STS = Path("/work/shared/datasets/stsb/sts-dev.csv")
DEFAULT_CACHE = ROOT / ".assay" / "models"
DEFAULT_VARIANTS = [("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8")]
TARGET = ("target: ≥ 4× sentence-transformers at the fidelity bar (≤ 0.3 Spearman point below fp32); "
          "worker RSS ≤ 800 MB; torch not imported on the ONNX path")
TARGET_SPEEDUP, TARGET_DROP, TARGET_RSS_MB = 4.0, 0.3, 800.0
BASELINE = "st"


# --------------------------------------------------------------------------- texts


def build_texts(n: int, sts_path: Path, out: Path) -> dict:
    from bench.fidelity import load_sts
    from bench.texts import pattern_texts

    s1, s2, gold = load_sts(sts_path)
    pool = pattern_texts(n, out)
    random.Random(0).shuffle(pool)  # lengths mixed across requests, deterministically
    return {"pool": pool, "sts_unique": list(dict.fromkeys(s1 + s2)), "s1": s1, "s2": s2, "gold": gold.tolist()}


# --------------------------------------------------------------------------- worker side


def _vm_hwm_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _proc_facts(result: dict) -> dict:
    result["peak_rss_mb"] = round(_vm_hwm_mb(), 1)
    result["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["torch_imported"] = "torch" in sys.modules
    result["transformers_imported"] = "transformers" in sys.modules
    return result


def _sts_vectors(pool: list[str], pool_vecs: np.ndarray, sts_unique: list[str], embed_fn) -> np.ndarray:
    """Vectors of every STS-dev sentence: from the timed run when in the pool, else embedded now."""
    index = {t: i for i, t in enumerate(pool)}
    missing = [t for t in sts_unique if t not in index]
    extra = {}
    for i in range(0, len(missing), 32):
        chunk = missing[i : i + 32]
        for t, v in zip(chunk, embed_fn(chunk)):
            extra[t] = v
    return np.stack([pool_vecs[index[t]] if t in index else extra[t] for t in sts_unique]).astype(np.float32)


def worker_st(job: dict, args: argparse.Namespace) -> dict:
    """Baseline: plain sentence-transformers fp32 encode, one call over the whole pool."""
    t0 = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = SentenceTransformer(job["model_dir"])
    load_s = time.perf_counter() - t0
    pool = job["pool"]

    def encode(texts):
        return model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    encode(pool[:64])  # warm-up
    walls, cpus, vecs = [], [], None
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        vecs = encode(pool)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    best = int(np.argmin(walls))
    wall, cpu = walls[best], cpus[best]
    print(f"  sentence-transformers fp32: {len(pool) / wall:.1f} texts/s, {cpu / len(pool) * 1000:.2f} CPU ms/text",
          flush=True)
    sts = _sts_vectors(pool, vecs, job["sts_unique"], encode)
    result = {"name": BASELINE, "label": "sentence-transformers fp32", "load_s": round(load_s, 2),
              "device": str(model.device), "texts": len(pool), "wall_s": round(wall, 3),
              "texts_per_s": round(len(pool) / wall, 1), "walls_s": [round(w, 3) for w in walls],
              "cpu_ms_per_text": round(cpu / len(pool) * 1000, 2)}
    return result, vecs, sts


async def _drive(batcher, requests: list[list[str]], callers: int) -> tuple[list[np.ndarray], list[float], float]:
    """``callers`` tasks take the next request from a shared iterator until none is left."""
    out: list = [None] * len(requests)
    lat = [0.0] * len(requests)
    todo = iter(range(len(requests)))

    async def caller() -> None:
        for k in todo:
            t = time.perf_counter()
            out[k] = await batcher.embed(requests[k])
            lat[k] = time.perf_counter() - t

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return out, lat, time.perf_counter() - t0


def worker_assay(job: dict, args: argparse.Namespace, backend: str, precision: str) -> dict:
    from prometheus_client import CollectorRegistry

    from inference.batcher import EmbeddingBatcher
    from inference.factory import create_embedder
    from infra.settings import InferenceSettings

    t0 = time.perf_counter()
    settings = InferenceSettings(backend=backend, precision=precision, threads=args.threads)
    embedder = create_embedder(settings, Path(args.cache_dir))
    load_s = time.perf_counter() - t0
    pool = job["pool"]
    size = args.request_size
    requests = [pool[i : i + size] for i in range(0, len(pool), size)]
    levels: list[dict] = []
    first_vecs = None
    min_cos_across_levels = 1.0

    async def one_pass(reqs: list[list[str]], callers: int) -> tuple:
        """A fresh batcher per pass, so its stats (batch size, padding) are this pass's alone."""
        batcher = EmbeddingBatcher.from_settings(embedder, settings, registry=CollectorRegistry())
        await batcher.start()
        try:
            cpu0 = time.process_time()
            out, lat, wall = await _drive(batcher, reqs, callers)
            return out, lat, wall, time.process_time() - cpu0, batcher.stats()
        finally:
            await batcher.stop(drain=True)

    async def run() -> None:
        nonlocal first_vecs, min_cos_across_levels
        await one_pass(requests[:16], 8)  # warm-up (allocations, lazy init)
        for callers in args.concurrency:
            best = None
            for _ in range(args.repeats):
                res = await one_pass(requests, callers)
                if best is None or res[2] < best[2]:
                    best = res
            out, lat, wall, cpu, stats = best
            vecs = np.concatenate(out)
            if first_vecs is None:
                first_vecs = vecs
            else:
                min_cos_across_levels = min(min_cos_across_levels, float(np.min(np.sum(vecs * first_vecs, 1))))
            lat_ms = np.asarray(lat) * 1000
            row = {"callers": callers, "texts": len(pool), "requests": len(requests), "wall_s": round(wall, 3),
                   "texts_per_s": round(len(pool) / wall, 1),
                   "p50_ms": round(float(np.percentile(lat_ms, 50)), 2),
                   "p99_ms": round(float(np.percentile(lat_ms, 99)), 2),
                   "mean_batch": round(stats["mean_batch_size"], 1), "padding": round(stats["padding_ratio"], 3),
                   "cpu_ms_per_text": round(cpu / len(pool) * 1000, 2)}
            levels.append(row)
            print(f"  {backend} {precision} x{callers}: {row['texts_per_s']:.1f} texts/s, "
                  f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, batch {row['mean_batch']}, "
                  f"padding {row['padding'] * 100:.0f}%, {row['cpu_ms_per_text']:.2f} CPU ms/text", flush=True)

    asyncio.run(run())
    sts = _sts_vectors(pool, first_vecs, job["sts_unique"], embedder.embed)
    result = {"name": f"{backend}:{precision}", "label": f"assay {backend} {precision}", "variant": embedder.variant.id,
              "providers": getattr(embedder, "providers", None), "load_s": round(load_s, 2), "levels": levels,
              "min_cos_across_levels": round(min_cos_across_levels, 6)}
    embedder.close()
    return result, first_vecs, sts


def worker_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    job_dir = Path(args.job)
    job = json.loads((job_dir / "job.json").read_text())
    if args.worker == BASELINE:
        result, vecs, sts = worker_st(job, args)
    else:
        backend, precision = args.worker.split(":")
        result, vecs, sts = worker_assay(job, args, backend, precision)
    tag = args.worker.replace(":", "_")
    np.save(job_dir / f"{tag}.pool.npy", np.asarray(vecs, dtype=np.float32))
    np.save(job_dir / f"{tag}.sts.npy", sts)
    (job_dir / f"{tag}.json").write_text(json.dumps(_proc_facts(result)))  # RSS / torch: at the very end
    return 0


# --------------------------------------------------------------------------- parent side


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "host": platform.node(),
            "cpu_model": cpu, "cpu_count": os.cpu_count(), "usable_cores": usable,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()], "platform": platform.platform(),
            "python": platform.python_version(),
            "versions": {d: _version(d) for d in ("onnxruntime", "onnxruntime-gpu", "torch", "sentence-transformers",
                                                  "transformers", "tokenizers", "numpy")}}


def spearman_x100(sts: np.ndarray, idx1: np.ndarray, idx2: np.ndarray, gold: np.ndarray) -> float:
    from scipy.stats import spearmanr

    cos = np.sum(sts[idx1] * sts[idx2], axis=1)
    return float(spearmanr(cos, gold).statistic * 100)


def run_worker(name: str, job_dir: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--job", str(job_dir),
           "--concurrency", ",".join(map(str, args.concurrency)), "--request-size", str(args.request_size),
           "--repeats", str(args.repeats), "--threads", str(args.threads), "--cache-dir", str(args.cache_dir)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT)
    tag = name.replace(":", "_")
    if proc.returncode != 0 or not (job_dir / f"{tag}.json").is_file():
        return {"name": name, "error": f"worker exited with {proc.returncode}"}
    res = json.loads((job_dir / f"{tag}.json").read_text())
    res["process_s"] = round(time.perf_counter() - t0, 1)
    res["_pool"] = np.load(job_dir / f"{tag}.pool.npy")
    res["_sts"] = np.load(job_dir / f"{tag}.sts.npy")
    return res


def plot(path: Path, base: dict, variants: list[dict], concurrency: list[int], info: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [v for v in variants if "levels" in v]
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(ok) + 2), 4.5))
    width = 0.8 / max(1, len(concurrency))
    for j, c in enumerate(concurrency):
        xs, ys = [], []
        for i, v in enumerate(ok):
            row = next((r for r in v["levels"] if r["callers"] == c), None)
            if row:
                xs.append(i + (j - (len(concurrency) - 1) / 2) * width)
                ys.append(row["texts_per_s"])
        bars = ax.bar(xs, ys, width, label=f"{c} caller{'s' if c > 1 else ''}")
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    if base.get("texts_per_s"):
        b = base["texts_per_s"]
        ax.axhline(b, color="k", ls="--", lw=1, label=f"sentence-transformers fp32 ({b:.0f}/s)")
        ax.axhline(TARGET_SPEEDUP * b, color="tab:red", ls=":", lw=1, label=f"target {TARGET_SPEEDUP}× ({TARGET_SPEEDUP * b:.0f}/s)")
    ax.set_xticks(range(len(ok)), [v["label"].replace("assay ", "") for v in ok])
    ax.set_ylabel("texts/s")
    ax.set_title(f"Assay embedding throughput via EmbeddingBatcher — {info['cpu_model']}, "
                 f"{info['usable_cores']} cores", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parent_main(args: argparse.Namespace) -> int:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from inference.factory import default_model_path
    from inference.onnx_backend import cuda_available
    from inference.tokenize import TextTokenizer

    info = machine_info()
    model_dir = default_model_path()
    n_texts = args.texts if args.texts is not None else (300 if args.quick else 2000)
    t0 = time.perf_counter()
    texts = build_texts(n_texts, args.sts, args.out)
    pool = texts["pool"]
    tok = TextTokenizer(model_dir, 256)
    counts = np.asarray(tok.count_tokens(pool))
    print(f"texts: {len(pool)} pattern texts of stdlib modules, mean {counts.mean():.1f} tokens "
          f"(median {np.median(counts):.0f}, "
          f"{np.mean(counts > 256) * 100:.1f}% over 256 → truncated; mean {np.minimum(counts, 256).mean():.1f} "
          f"as embedded); built in {time.perf_counter() - t0:.1f}s")
    print(f"STS-B dev for Spearman: {len(texts['s1'])} pairs, {len(texts['sts_unique'])} unique sentences")
    print(f"machine: {info['cpu_model']}, {info['usable_cores']} usable cores, load {info['loadavg_start']}")

    variants = list(args.variants)
    ok_cuda, why = cuda_available()
    cuda_note = None
    if ok_cuda:
        if ("onnx", "fp16") not in variants:
            variants.append(("onnx", "fp16"))
    else:
        cuda_note = "CUDA path: not measured (no GPU on this machine)"
        print(f"{cuda_note} [{why}]")

    where = {t: i for i, t in enumerate(texts["sts_unique"])}
    idx1 = np.asarray([where[s] for s in texts["s1"]])
    idx2 = np.asarray([where[s] for s in texts["s2"]])
    gold = np.asarray(texts["gold"])

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        job_dir = Path(tmp)
        (job_dir / "job.json").write_text(json.dumps({"pool": pool, "sts_unique": texts["sts_unique"],
                                                      "model_dir": str(model_dir)}))
        print("\n[baseline] sentence-transformers fp32 (own process)", flush=True)
        base = run_worker(BASELINE, job_dir, args)
        results = []
        for backend, precision in variants:
            print(f"\n[variant] assay {backend} {precision} (own process)", flush=True)
            results.append(run_worker(f"{backend}:{precision}", job_dir, args))

    if "error" in base:
        print(f"baseline failed: {base['error']}")
        return 1
    ref_pool, ref_sts = base.pop("_pool"), base.pop("_sts")
    base["spearman"] = round(spearman_x100(ref_sts, idx1, idx2, gold), 2)
    base_tps = base["texts_per_s"]
    for r in results:
        if "error" in r:
            continue
        vp, vs = r.pop("_pool"), r.pop("_sts")
        cos = np.sum(vp * ref_pool, axis=1)
        r["spearman"] = round(spearman_x100(vs, idx1, idx2, gold), 2)
        r["spearman_delta"] = round(r["spearman"] - base["spearman"], 2)
        r["cos_vs_st_mean"] = round(float(cos.mean()), 5)
        r["cos_vs_st_min"] = round(float(cos.min()), 5)
        for row in r["levels"]:
            row["speedup"] = round(row["texts_per_s"] / base_tps, 2)
            row["cpu_speedup"] = round(base["cpu_ms_per_text"] / max(row["cpu_ms_per_text"], 1e-9), 2)
        r["best_speedup"] = max(row["speedup"] for row in r["levels"])
        r["meets"] = {
            "speedup": r["best_speedup"] >= TARGET_SPEEDUP,
            "fidelity": r["spearman_delta"] >= -TARGET_DROP,
            "rss": r["peak_rss_mb"] <= TARGET_RSS_MB,
            "no_torch": (not r["torch_imported"]) if r["name"].startswith("onnx") else None,
        }
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    # ------------------------------------------------------------------ report
    print(f"\n=== results: {len(pool)} texts, requests of {args.request_size} texts, best of {args.repeats} pass(es); "
          f"load avg {info['loadavg_start']} → {info['loadavg_end']} on {info['usable_cores']} cores ===")
    print(f"baseline  sentence-transformers fp32 encode(batch_size=32): {base_tps:.1f} texts/s, "
          f"{base['cpu_ms_per_text']:.2f} CPU ms/text, Spearman {base['spearman']:.2f}, peak RSS {base['peak_rss_mb']:.0f} MB, torch imported: {base['torch_imported']}")
    hdr = (f"{'variant':<11} {'callers':>7} {'texts/s':>8} {'× ST':>6} {'p50 ms':>8} {'p99 ms':>8} {'batch':>6} "
           f"{'pad %':>6} {'CPU ms/text':>11} {'× ST (CPU)':>10}")
    print("\n" + hdr + "\n" + "-" * len(hdr))
    for r in results:
        if "error" in r:
            print(f"{r['name']:<11} ERROR: {r['error']}")
            continue
        for row in r["levels"]:
            print(f"{r['name']:<11} {row['callers']:>7} {row['texts_per_s']:>8.1f} {row['speedup']:>5.2f}x "
                  f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['mean_batch']:>6.1f} "
                  f"{row['padding'] * 100:>6.0f} {row['cpu_ms_per_text']:>11.2f} {row['cpu_speedup']:>9.2f}x")
    hdr2 = (f"{'variant':<11} {'Spearman':>8} {'Δ vs fp32':>9} {'cos vs ST':>9} {'min cos':>8} "
            f"{'RSS MB':>7} {'torch':>6} {'load s':>7}  meets (speed/fid/rss/no-torch)")
    print("\n" + hdr2 + "\n" + "-" * len(hdr2))
    print(f"{'st fp32':<11} {base['spearman']:>8.2f} {0:>+9.2f} {1:>9.5f} {1:>8.5f} {base['peak_rss_mb']:>7.0f} "
          f"{'yes' if base['torch_imported'] else 'no':>6} {base['load_s']:>7.1f}  (reference)")
    for r in results:
        if "error" in r:
            continue
        m = r["meets"]
        flags = "/".join("-" if v is None else ("ok" if v else "NO") for v in
                         (m["speedup"], m["fidelity"], m["rss"], m["no_torch"]))
        print(f"{r['name']:<11} {r['spearman']:>8.2f} {r['spearman_delta']:>+9.2f} {r['cos_vs_st_mean']:>9.5f} "
              f"{r['cos_vs_st_min']:>8.5f} {r['peak_rss_mb']:>7.0f} {'yes' if r['torch_imported'] else 'no':>6} "
              f"{r['load_s']:>7.1f}  {flags}")
    print("\n" + TARGET)
    if cuda_note:
        print(cuda_note)
    print("(Δ vs fp32 = Spearman minus the sentence-transformers fp32 reference; RSS = peak VmHWM of the "
          "variant's own process; 'speed' uses the best wall-clock × ST over the concurrency levels; CPU ms/text = "
          "process CPU time per text, less sensitive to other jobs on the box than texts/s)")

    report = {"benchmark": "bench/inference.py", "quick": args.quick, "machine": info, "model_dir": str(model_dir),
              "texts": {"count": len(pool), "mix": "pattern texts (bench/texts.py)",
                        "mean_tokens": round(float(counts.mean()), 1),
                        "mean_tokens_embedded": round(float(np.minimum(counts, 256).mean()), 1),
                        "truncated_share": round(float(np.mean(counts > 256)), 4)},
              "sts_pairs": len(texts["s1"]), "request_size": args.request_size, "concurrency": args.concurrency,
              "repeats": args.repeats, "threads": args.threads, "baseline": base, "variants": results,
              "target": TARGET, "cuda": cuda_note or "measured (onnx fp16 on CUDAExecutionProvider)"}
    (args.out / "inference.json").write_text(json.dumps(report, indent=2))
    try:
        plot(args.out / "inference.png", base, results, args.concurrency, info)
    except ImportError as e:
        print(f"(no plot: {e}; pip install matplotlib)")
    print(f"\nwrote {args.out / 'inference.json'} and {args.out / 'inference.png'}")
    return 0 if all("error" not in r for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 300 pattern texts, 1 and 8 callers")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where inference.json/.png go")
    ap.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="concurrent callers per level (default 1,8,64; --quick: 1,8)")
    ap.add_argument("--request-size", type=int, default=4, help="texts per embed() request")
    ap.add_argument("--repeats", type=int, default=1, help="timed passes per level; the best is kept")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for every variant (0 = all cores)")
    ap.add_argument("--texts", type=int, default=None, help="pattern texts (default 2000; --quick: 300)")
    ap.add_argument("--variants", type=lambda s: [tuple(x.split(":")) for x in s.split(",")], default=DEFAULT_VARIANTS,
                    help="backend:precision list (default torch:fp32,onnx:fp32,onnx:int8)")
    ap.add_argument("--sts", type=Path, default=DEFAULT_STS)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="ONNX export cache")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--job", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = [1, 8] if args.quick else [1, 8, 64]
    if args.worker:
        return worker_main(args)
    return parent_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
