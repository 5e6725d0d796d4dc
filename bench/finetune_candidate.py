"""One real fine-tuning job of the encoder half, as the learner starts it, on CPU.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/finetune_candidate.py [--labels 500] [--held 750] [--rotate]
        [--threads 1] [--epochs 1] [--out bench/out/finetune_candidate]

A learner database is filled with Stack Overflow questions (seeded order): ``--labels`` gathered
(learned) labels and ``--held`` held-back ones, labels rotated (LQ_CLOSE → LQ_EDIT → HQ → LQ_CLOSE)
with ``--rotate``, as after a concept shift. Then ``assay quality finetune-candidate`` runs as a
subprocess exactly as the learner starts it (``--threads``, ``OMP_NUM_THREADS``, nice 10) against
a fresh registry whose current version is the shipped 1.2.0. Reported: wall and CPU minutes of the
job, its steps, and held-back macro-F1 and log-loss of the candidate and of 1.2.0 — the whole
model (both halves, as the job reports them) and the fine-tuned half alone.

Caveat: 1.2.0 was trained on all 6,750 questions, so without ``--rotate`` both versions have seen
every held-back text (in-distribution numbers say only that continuing does no harm); with
``--rotate`` neither has seen the labels. ``--fair-base N`` first trains the published version on N
other questions (linear half: the tests' cheap recipe; fine-tuned half: the 1.2.0 recipe, one epoch,
``--base-threads``), so that neither version has seen the gathered or held-back texts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = REPO.parent / "shared" / "datasets" / "so_quality" / "questions.parquet"
ROTATE = {"HQ": "LQ_EDIT", "LQ_EDIT": "LQ_CLOSE", "LQ_CLOSE": "HQ"}


def fair_base(rows, registry_dir: Path, threads: int) -> tuple[str, float]:
    """Train, register and promote a published version on ``rows`` only (0.9.0)."""
    import tempfile

    from inference.factory import create_embedder, default_model_path
    from infra.settings import InferenceSettings
    from processors.quality.preprocess import preprocess
    from processors.quality.registry import Registry
    from processors.quality.training.finetune import FinetuneParams, attach_finetuned
    from processors.quality.training.fit import TrainParams, encode_labels, fit

    t = time.perf_counter()
    texts = [preprocess(x) for x in rows["text"]]
    y = encode_labels(rows["rating"].tolist())
    embedder = create_embedder(InferenceSettings(), REPO / ".assay" / "models")
    E = np.asarray(embedder.embed(texts))
    embedder.close()
    model = fit(texts, y, E, TrainParams(bases=("word", "emb", "stats"), mlp_hidden=0, inner_folds=2,
                                         word_max_features=20_000))
    with tempfile.TemporaryDirectory() as work:
        model = attach_finetuned(model, texts, y, default_model_path(), FinetuneParams(epochs=1), work,
                                 encoder_id="all-MiniLM-L6-v2", threads=threads)
        reg = Registry(registry_dir)
        reg.register(model, "0.9.0")
    reg.promote("0.9.0")
    return "0.9.0", time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=int, default=500)
    ap.add_argument("--held", type=int, default=750)
    ap.add_argument("--rotate", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--fair-base", type=int, default=0, help="train the published version on this many other rows")
    ap.add_argument("--base-threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "finetune_candidate")
    args = ap.parse_args()

    import pandas as pd

    from processors.quality.classes import CLASSES
    from processors.quality.evaluate import evaluate_proba
    from processors.quality.classes import softmax
    from processors.quality.registry import Registry
    from processors.quality.training.continued import LabelRow
    from streams.learner.store import LearnerStore, StoredLabel

    df = pd.read_parquet(DATA)
    df = df.iloc[np.random.default_rng(0).permutation(len(df))].reset_index(drop=True)
    seed_rows = df.iloc[args.labels + args.held: args.labels + args.held + args.fair_base]
    df = df.iloc[: args.labels + args.held]
    labels = [ROTATE[x] if args.rotate else x for x in df["rating"]]
    name = f"{'rotated' if args.rotate else 'same'}-{args.labels}" + (f"-fair{args.fair_base}" if args.fair_base else "")
    work = args.out / name
    if work.exists():
        import shutil

        shutil.rmtree(work)
    store = LearnerStore(work / "data" / "learner" / "learner.db")
    store.keep_labels((0, i, StoredLabel(f"q-{i}", t, "general", lbl, 1.0, i >= args.labels))
                      for i, (t, lbl) in enumerate(zip(df["text"], labels)))
    store.close()

    published = "1.2.0"
    base_s = 0.0
    if args.fair_base:
        published, base_s = fair_base(seed_rows, work / "data" / "models" / "quality", args.base_threads)

    env = {**os.environ, "ASSAY_DATA_DIR": str(work / "data"), "ASSAY_MODEL_CACHE_DIR": str(REPO / ".assay" / "models"),
           "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "ASSAY_INFERENCE_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    cmd = ["nice", "-n", "10", sys.executable, "-m", "streams.cli", "quality", "finetune-candidate",
           "--threads", str(args.threads), "--epochs", str(args.epochs), "--validation-rows", str(args.held),
           "--json", *(["--max-steps", str(args.max_steps)] if args.max_steps else [])]
    load = os.getloadavg()
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    (work / "job.log").write_text(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"job failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    # the fine-tuned half alone, candidate vs 1.2.0, on the same held-back labels
    reg = Registry(work / "data" / "models" / "quality")
    held = [LabelRow(i, f"q-{i}", t, "general", lbl) for i, (t, lbl) in
            enumerate(zip(df["text"][args.labels:], labels[args.labels:]))]
    cleans = [r.clean() for r in held]
    y = np.array([CLASSES.index(r.label) for r in held])
    halves = {}
    for v in (published, report["version"]):
        r = evaluate_proba(y, softmax(reg.load(v).finetuned_logits(cleans)))
        halves[v] = {"macro_f1": round(r["macro_f1"], 4), "log_loss": round(r["log_loss"], 4)}
    result = {
        "setup": {"labels": args.labels, "held": args.held, "rotated": args.rotate, "threads": args.threads,
                  "epochs": args.epochs, "load_avg_before": [round(x, 2) for x in load], "cpus": os.cpu_count(),
                  "published": published, "fair_base_rows": args.fair_base, "fair_base_min": round(base_s / 60, 2)},
        "job": {"wall_min": round(wall / 60, 2), "cpu_min": round((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
                                                                  / 60, 2),
                "train_min": round(report["train_s"] / 60, 2), "steps": report["job"]["steps"],
                "version": report["version"]},
        "whole_model": {"candidate": report["metrics"]["held_back"], "published": report["metrics"]["published_held_back"]},
        "finetuned_half": {"candidate": halves[report["version"]], "published": halves[published]},
    }
    (work / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
