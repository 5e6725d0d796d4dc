"""Cost of the learned quality stage per document, against embedding the document's patterns.

For ~200 standard-library modules (type *code*), per document:

* **quality stage** = ``document_text`` (preprocessing) + one embedding of that text (the embedder
  keeps its first 256 tokens) + the fine-tuned classifier's own pass over its first 128 tokens
  (models from 1.2.0; one document per call, as the worst case of a batch of one) +
  ``QualityModel.score`` (features + model);
* **pattern embedding** = ``extract_patterns(doc)`` texts embedded in batches of 32 (what the
  pipeline does next for an indexed document; extraction itself is not timed).

Reports ms/document (mean, p50, p95) of each part, and the quality stage's share of the pattern
embedding time (sum over documents; the requirement is < 1/3). Documents are processed one after
the other, quality then patterns, so CPU contention from other processes hits both alike.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/quality.py [--n 200] [--model VERSION] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference.factory import create_embedder  # noqa: E402
from infra.settings import get_settings  # noqa: E402
from processors.patterns import extract_patterns  # noqa: E402
from processors.quality.preprocess import document_text  # noqa: E402
from processors.quality.registry import Registry  # noqa: E402
from schemas.documents import Document  # noqa: E402


def stdlib_modules(n: int) -> list[Path]:
    """``n`` stdlib modules (packages included, tests and private modules not), spread evenly over
    the sorted list (deterministic)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idle_test", "site-packages", "dist-packages", "lib2to3", "__pycache__"}
    files = sorted(
        p for p in root.rglob("*.py")
        if not p.name.startswith(("test", "_")) and not skip & set(p.relative_to(root).parts)
        and not any(part.startswith("_") for part in p.relative_to(root).parts)
        and p.stat().st_size > 0
    )
    if len(files) <= n:
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default=None, help="registry version (default: current)")
    ap.add_argument("--batch", type=int, default=32, help="pattern texts per embed call")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    settings = get_settings()
    model = Registry(settings.quality_registry_dir).load(args.model)
    embedder = create_embedder(settings.inference, settings.models_dir)
    docs = []
    for p in stdlib_modules(args.n):
        docs.append(Document(id=str(p), type="code", language="python", content=p.read_text(encoding="utf-8", errors="replace"),
                             version="bench", title=p.name))
    patterns = [[r.text for r in extract_patterns(d).patterns] for d in docs]

    # warm-up (sessions, caches)
    w = document_text(docs[0])
    model.score(docs[0], embedder.embed([w])[0], clean=w)
    embedder.embed(patterns[0][: args.batch] or ["warm"])

    rows = []
    for doc, texts in zip(docs, patterns):
        t0 = time.perf_counter()
        clean = document_text(doc)
        t1 = time.perf_counter()
        vec = embedder.embed([clean])[0]
        t2 = time.perf_counter()
        ft = model.finetuned_logits([clean])  # None without a fine-tuned half
        t25 = time.perf_counter()
        q = model.score(doc, vec, clean=clean, ft_logits=None if ft is None else ft[0])
        t3 = time.perf_counter()
        for s in range(0, len(texts), args.batch):
            embedder.embed(texts[s : s + args.batch])
        t4 = time.perf_counter()
        rows.append({
            "doc": doc.id, "chars": len(doc.content), "patterns": len(texts), "score": q.score, "label": q.label,
            "preprocess_ms": 1e3 * (t1 - t0), "embed_ms": 1e3 * (t2 - t1), "finetuned_ms": 1e3 * (t25 - t2),
            "model_ms": 1e3 * (t3 - t25),
            "quality_ms": 1e3 * (t3 - t0), "patterns_ms": 1e3 * (t4 - t3),
        })
    embedder.close()

    def col(k: str) -> list[float]:
        return [r[k] for r in rows]

    total_q, total_p = sum(col("quality_ms")), sum(col("patterns_ms"))
    n_pat = sum(col("patterns"))
    summary = {
        "model": model.model_version,
        "embedder": embedder.variant.id,
        "documents": len(rows),
        "mean_chars": float(np.mean(col("chars"))),
        "patterns_per_doc": n_pat / max(1, len(rows)),
        "ms_per_pattern": total_p / max(1, n_pat),
        **{f"{k}_{stat}": f(col(k)) for k in ("preprocess_ms", "embed_ms", "finetuned_ms", "model_ms", "quality_ms", "patterns_ms")
           for stat, f in (("mean", lambda xs: float(np.mean(xs))), ("p50", lambda xs: pct(xs, 50)),
                           ("p95", lambda xs: pct(xs, 95)))},
        "quality_share_of_pattern_embedding": total_q / total_p if total_p else float("nan"),
        "docs_where_quality_over_a_third": sum(1 for r in rows if r["quality_ms"] > r["patterns_ms"] / 3),
        "labels": {lab: sum(1 for r in rows if r["label"] == lab) for lab in sorted({r["label"] for r in rows})},
    }
    print(f"{summary['documents']} stdlib modules, {summary['mean_chars']:.0f} chars and "
          f"{summary['patterns_per_doc']:.1f} patterns each on average ({summary['model']}, {summary['embedder']})")
    for k, name in (("preprocess_ms", "preprocess"), ("embed_ms", "embed doc (256 tok)"),
                    ("finetuned_ms", "fine-tuned (128 tok)"), ("model_ms", "features+model"),
                    ("quality_ms", "quality stage"), ("patterns_ms", "embed patterns")):
        print(f"  {name:20s} mean {summary[k + '_mean']:8.2f}  p50 {summary[k + '_p50']:8.2f}  p95 {summary[k + '_p95']:8.2f} ms/doc")
    print(f"  pattern embedding: {summary['ms_per_pattern']:.1f} ms/pattern")
    print(f"  quality stage = {100 * summary['quality_share_of_pattern_embedding']:.1f}% of pattern embedding time "
          f"(limit 33.3%); over a third on {summary['docs_where_quality_over_a_third']} of {len(rows)} documents")
    print(f"  labels: {summary['labels']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
