"""Embedding fidelity and throughput per backend on the STS-B dev set.

For each of torch fp32, onnx fp32, onnx int8: Spearman×100 of cosine(sentence1, sentence2) vs the
gold score, mean cosine agreement with the torch reference, and texts/s embedding all sentences
(in the file's order, batches of ``--batch`` texts per ``embed`` call, after a warm-up; best and
median of ``--repeats`` passes — other processes on the machine make single passes noisy).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/fidelity.py [--sts PATH] [--batch 32] [--threads 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.settings import InferenceSettings  # noqa: E402
from inference.factory import create_embedder  # noqa: E402

DEFAULT_STS = Path("/work/shared/datasets/stsb/sts-dev.csv")
CONFIGS = [("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8")]


def load_sts(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """STS-B csv: tab-separated, no header; genre, file, year, id, score, s1, s2[, extra…]."""
    s1, s2, gold = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            _genre, _file, _year, _id, score, a, b = row[:7]
            s1.append(a)
            s2.append(b)
            gold.append(float(score))
    return s1, s2, np.asarray(gold, dtype=np.float64)


def embed_all(embedder, texts: list[str], batch: int, repeats: int) -> tuple[np.ndarray, list[float]]:
    """Embeds ``texts`` ``repeats`` times; returns the vectors and the wall time of each pass."""
    embedder.embed(texts[: 2 * batch])  # warm-up (allocations, lazy init)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = np.concatenate([embedder.embed(texts[i : i + batch]) for i in range(0, len(texts), batch)])
        times.append(time.perf_counter() - t0)
    return out, times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sts", type=Path, default=DEFAULT_STS)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes; the best is reported")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all cores)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".assay/models"), help="ONNX export cache")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    s1, s2, gold = load_sts(args.sts)
    texts = s1 + s2
    n = len(s1)
    print(f"STS-B dev: {n} pairs, {len(texts)} sentences, batch {args.batch}, threads {args.threads or 'all'}")

    results = []
    ref = None
    for backend, precision in CONFIGS:
        settings = InferenceSettings(backend=backend, precision=precision, threads=args.threads, max_batch_size=args.batch)
        embedder = create_embedder(settings, args.cache_dir)
        emb, times = embed_all(embedder, texts, args.batch, args.repeats)
        secs = min(times)
        embedder.close()
        cos = np.sum(emb[:n] * emb[n:], axis=1)
        rho = spearmanr(cos, gold).statistic * 100
        agree = float(np.mean(np.sum(emb * ref, axis=1))) if ref is not None else 1.0
        if ref is None:
            ref = emb
        results.append(
            {
                "variant": embedder.variant.id,
                "backend": backend,
                "precision": precision,
                "spearman": round(float(rho), 2),
                "texts_per_s": round(len(texts) / secs, 1),
                "seconds": round(secs, 2),
                "texts_per_s_median": round(len(texts) / float(np.median(times)), 1),
                "cos_vs_torch": round(agree, 5),
            }
        )

    base_tps = results[0]["texts_per_s"]
    base_rho = results[0]["spearman"]
    print(
        f"\n{'backend':<8} {'prec':<5} {'spearman':>9} {'Δ':>6} {'texts/s':>9} {'median':>8} {'speedup':>8} {'cos vs torch':>13}"
    )
    for r in results:
        print(
            f"{r['backend']:<8} {r['precision']:<5} {r['spearman']:>9.2f} {r['spearman'] - base_rho:>+6.2f} "
            f"{r['texts_per_s']:>9.1f} {r['texts_per_s_median']:>8.1f} {r['texts_per_s'] / base_tps:>7.2f}x "
            f"{r['cos_vs_torch']:>13.5f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
