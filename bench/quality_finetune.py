"""One fold of the quality model's fine-tuned half: alone, and averaged with the linear half.

1.1.0 is a linear model over a *frozen* MiniLM embedding, TF-IDF and text statistics; 1.2.0
averages it with all-MiniLM-L6-v2 fine-tuned end to end (mean pooling + a linear head,
cross-entropy). This script measures that on one fold of the stratified 5-fold split (seed 0) that
``assay quality train`` cross-validates with: it fine-tunes on the other four folds with
:func:`processors.quality.training.finetune.finetune` (what ``assay quality train --finetune`` runs), scores
the held-out fold in torch fp32 and, with ``--export``, as the INT8 ONNX graph the pipeline runs;
``--ensemble`` refits 1.1.0's linear recipe on the same rows and scores the ½/½ average.

    .venv/bin/python bench/quality_finetune.py --fold 0 --ensemble [--export F.onnx] [--json F.json]

Runs on the CPU with torch (2 threads here). ``--json`` results (with the held-out probabilities
in a ``.npz`` beside them) are what ``assay quality train --cv-from`` records as a model's CV.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "so_quality" / "questions.parquet"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--fold", type=int, default=0, help="which of the 5 stratified folds (seed 0) is held out")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="use only this many training and test rows (smoke test)")
    ap.add_argument("--ensemble", action="store_true",
                    help="also refit the shipped recipe (1.1.0's parameters) on the same training rows and "
                         "score the equal-weight average of both models' probabilities (weights fixed, not tuned)")
    ap.add_argument("--export", type=Path, default=None,
                    help="also export the fine-tuned model as ONNX INT8 to this file and score the fold with it")
    ap.add_argument("--from-onnx", type=Path, default=None,
                    help="skip fine-tuning: score the fold with this exported classifier (from an earlier --export)")
    ap.add_argument("--json", type=Path, default=None,
                    help="write the result here, and the held-out probabilities next to it (.npz)")
    args = ap.parse_args()

    import torch
    from sklearn.model_selection import StratifiedKFold

    from inference.factory import create_embedder, default_model_path
    from infra.settings import get_settings
    from processors.quality.classes import average_halves
    from processors.quality.embed_cache import embed_texts
    from processors.quality.evaluate import evaluate_proba
    from processors.quality.finetuned import FinetunedClassifier
    from processors.quality.preprocess import preprocess
    from processors.quality.training.dataset import read_labelled_rows
    from processors.quality.training.finetune import FinetuneParams, export_classifier, finetune, torch_proba
    from processors.quality.training.fit import TrainParams, encode_labels, fit

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = read_labelled_rows(args.data, "text", "rating")
    data_hash = rows.data_hash  # as assay quality train
    texts = [preprocess(t) for t in rows.texts]
    y = encode_labels(rows.labels)
    split = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    train_idx, test_idx = split[args.fold]
    if args.limit:
        train_idx, test_idx = train_idx[: args.limit], test_idx[: args.limit]

    manifest = json.loads((Path(__file__).resolve().parents[1] / "models" / "quality" / "1.1.0" / "manifest.json").read_text())
    frozen_proba = None
    if args.ensemble:
        settings = get_settings()
        t = time.perf_counter()
        E, _variant = embed_texts(texts, lambda: create_embedder(settings.inference, settings.models_dir),
                                  Path(".assay/models/quality/cache"))
        params = TrainParams(**{k: tuple(v) if isinstance(v, list) and k.endswith("ngram") else v
                                for k, v in manifest["params"].items()})
        frozen = fit([texts[j] for j in train_idx], y[train_idx], E[train_idx], params)
        frozen_proba = frozen.predict_proba([texts[j] for j in test_idx], E[test_idx])
        print(f"shipped recipe refit on the same rows: macro-F1 "
              f"{evaluate_proba(y[test_idx], frozen_proba)['macro_f1']:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)

    model_dir = default_model_path()
    fparams = FinetuneParams(epochs=args.epochs, max_tokens=args.max_tokens, batch_size=args.batch_size, lr=args.lr)
    test_texts = [texts[j] for j in test_idx]
    y_test = y[test_idx]
    result: dict = {"fold": args.fold, "data_hash": data_hash, "train_rows": len(train_idx), "test_rows": len(test_idx),
                    "finetune_params": fparams.to_dict(),
                    "shipped_1_1_0_macro_f1_same_fold": round(manifest["metrics"]["cv"]["per_fold"][args.fold]["macro_f1"], 4)}
    ft_proba = int8 = None
    onnx_path = args.from_onnx
    if onnx_path is None:
        started = time.perf_counter()
        model = finetune([texts[j] for j in train_idx], y[train_idx], model_dir, fparams, threads=args.threads,
                         progress=lambda line: print(line, flush=True))
        result["train_s"] = round(time.perf_counter() - started, 1)
        t = time.perf_counter()
        ft_proba = torch_proba(model, test_texts, model_dir / "tokenizer.json", args.max_tokens)
        result["fp32_torch_ms_per_doc"] = round((time.perf_counter() - t) * 1000 / len(test_idx), 1)
        result["finetuned_fp32_macro_f1"] = round(evaluate_proba(y_test, ft_proba)["macro_f1"], 4)
        if args.export:
            onnx_path = export_classifier(model, args.export)
    if onnx_path is not None:
        clf = FinetunedClassifier(onnx_path, model_dir / "tokenizer.json", args.max_tokens, threads=args.threads)
        t = time.perf_counter()
        z = clf.logits(test_texts)
        result["int8_onnx_ms_per_doc"] = round((time.perf_counter() - t) * 1000 / len(test_idx), 1)
        int8 = np.exp(z - z.max(1, keepdims=True))
        int8 /= int8.sum(1, keepdims=True)
        result["finetuned_int8_macro_f1"] = round(evaluate_proba(y_test, int8)["macro_f1"], 4)
        if ft_proba is not None:
            result["int8_fp32_label_agreement"] = round(float(np.mean(int8.argmax(1) == ft_proba.argmax(1))), 4)
    if frozen_proba is not None:
        result["refit_shipped_recipe_macro_f1"] = round(evaluate_proba(y_test, frozen_proba)["macro_f1"], 4)
        if ft_proba is not None:
            result["ensemble_fp32_macro_f1"] = round(evaluate_proba(y_test, average_halves(frozen_proba, ft_proba))["macro_f1"], 4)
        best = int8 if int8 is not None else ft_proba
        # the full report of what the pipeline would run: INT8 when exported, else fp32
        result["ensemble_report"] = {"finetuned": "int8 onnx" if int8 is not None else "fp32 torch",
                                     **evaluate_proba(y_test, average_halves(frozen_proba, best))}
    print(json.dumps({k: v for k, v in result.items() if k != "ensemble_report"}, indent=2))
    if result.get("ensemble_report"):
        print(f"ensemble ({result['ensemble_report']['finetuned']}): macro-F1 {result['ensemble_report']['macro_f1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        arrays = {"test_idx": test_idx, "y": y_test}
        for name, a in (("linear", frozen_proba), ("finetuned_fp32", ft_proba), ("finetuned_int8", int8)):
            if a is not None:
                arrays[name] = a
        np.savez(args.json.with_suffix(".npz"), **arrays)  # held-out probabilities, for pooled reports


if __name__ == "__main__":
    main()
