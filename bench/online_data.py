"""Data for ``bench/online.py``: the Stack Overflow questions, a fixed split, and head features.

Split (seed 0, stratified): 1,500 *seed* rows (the "training set": the current model is fitted on
them), 750 *held-back* rows (never learned by anything; validation, recovery and A/B events) and
4,500 *stream* rows in a fixed seeded order (the labelled feedback).

The current model is :func:`processors.quality.train.fit` on the seed rows with a cheaper variant of
the linear recipe (word TF-IDF LR + NB-LR, embedding LR, statistics LR, one MLP; 3 inner folds, no
character n-grams): the 1.1.0 recipe takes 4 min per fit on this shared 2-core VM, this one about
one. Head features ``[linear logits, embedding, statistics]`` of every row come from it; the seed
rows' logits are *out of fold* (3 fits on two thirds of the seed rows each), because the replay
buffer is seeded with them and in-sample logits are over-confident. All of it is cached in
``bench/out/online/cache`` keyed by a hash of the data and the recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from processors.learning.fold import head_features  # noqa: E402

DATA = Path("/work/shared/datasets/so_quality/questions.parquet")
CACHE = Path(__file__).resolve().parent / "out" / "online" / "cache"
RECIPE = {"bases": ["word", "word_nb", "emb", "stats", "mlp"], "mlp_seeds": 1, "inner_folds": 3}
N_SEED, N_HOLD = 1500, 750


@dataclass(frozen=True)
class BenchData:
    X: np.ndarray  # (n, 405) head features from the model fitted on all seed rows
    X_seed_oof: np.ndarray  # (N_SEED, 405) seed rows with out-of-fold logits
    X_seed_in: np.ndarray  # (N_SEED, 405) seed rows with in-sample logits (for comparison)
    y: np.ndarray
    E: np.ndarray  # (n, 384) embeddings
    seed: np.ndarray
    hold: np.ndarray
    stream: np.ndarray  # in stream order
    fit_seconds: float


def _split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    seed, hold, stream = [], [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        seed.append(idx[:N_SEED // 3])
        hold.append(idx[N_SEED // 3:(N_SEED + N_HOLD) // 3])
        stream.append(idx[(N_SEED + N_HOLD) // 3:])
    return (rng.permutation(np.concatenate(seed)), np.sort(np.concatenate(hold)),
            rng.permutation(np.concatenate(stream)))


def _embeddings(clean: list[str]) -> np.ndarray:
    from inference.factory import create_embedder
    from infra.settings import InferenceSettings
    from processors.quality.embed_cache import cached_embeddings

    emb = create_embedder(InferenceSettings(threads=1), Path(".assay/models"))
    try:
        return cached_embeddings(clean, emb.embed, emb.variant.id, CACHE,
                                 progress=lambda i, n: print(f"\r  embedded {i}/{n}", end="", file=sys.stderr))
    finally:
        emb.close()


def _features(model, clean: list[str], E: np.ndarray, rows: np.ndarray) -> np.ndarray:
    from processors.quality.features import text_stats

    L = np.array([model.logits(clean[i], E[i]) for i in rows])
    p = model.linear_params
    mu, sd = p.stats_mean.astype(np.float64), p.stats_scale.astype(np.float64)
    Z = np.array([(text_stats(clean[i]) - mu) / sd for i in rows])
    return head_features(L, E[rows], Z)


def load() -> BenchData:
    import pandas as pd

    from processors.quality.preprocess import preprocess
    from processors.quality.training.fit import TrainParams, encode_labels, fit

    df = pd.read_parquet(DATA)
    clean = [preprocess(t) for t in df["text"].fillna("").astype(str)]
    y = encode_labels(df["rating"].astype(str).tolist())
    seed, hold, stream = _split(y)
    E = _embeddings(clean)
    key = hashlib.sha256(json.dumps(RECIPE).encode() + DATA.read_bytes()[:1 << 20] + seed.tobytes()).hexdigest()[:16]
    path = CACHE / f"features-{key}.npz"
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        X, oof, ins, secs = z["X"], z["oof"], z["ins"], float(z["fit_seconds"])
    else:
        params = TrainParams.from_dict(RECIPE)
        print("fitting the current model on the seed rows (cached afterwards) …", file=sys.stderr)
        t = time.perf_counter()
        model = fit([clean[i] for i in seed], y[seed], E[seed], params)
        secs = time.perf_counter() - t
        X = _features(model, clean, E, np.arange(len(y)))
        ins = X[seed]
        oof = np.zeros_like(ins)
        fold = np.arange(len(seed)) % 3
        for k in range(3):
            print(f"  out-of-fold logits, fold {k + 1}/3 …", file=sys.stderr)
            m = fit([clean[i] for i in seed[fold != k]], y[seed[fold != k]], E[seed[fold != k]], params)
            part = _features(m, clean, E, seed[fold == k])
            part[:, 3 + 384:] = X[seed[fold == k]][:, 3 + 384:]  # statistics standardized as the final model does
            oof[fold == k] = part
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=X, oof=oof, ins=ins, fit_seconds=np.array(secs))
    return BenchData(X.astype(np.float64), oof.astype(np.float64), ins.astype(np.float64), y, E, seed, hold, stream, secs)
