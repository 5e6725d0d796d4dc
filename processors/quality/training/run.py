"""One training run end to end: data → cleaned texts → embeddings → CV → fit (→ fine-tune) →
a new registry version. ``assay quality train`` is this function behind command-line options.

The caller brings the outside world: the registry, a way to open the embedder (opened for the
embedding pass only, closed before the models are fitted) and where progress lines go.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any, Callable

from inference.base import Embedder
from processors.quality import evaluate as ev
from processors.quality.classes import CLASSES
from processors.quality.embed_cache import embed_texts
from processors.quality.preprocess import preprocess
from processors.quality.registry import Registry, parse_semver
from processors.quality.training.config import TrainConfig, TrainInputError, TrainReport
from processors.quality.training.cross_validation import cross_validate, cv_from_fold_results, without_arrays
from processors.quality.training.dataset import read_labelled_rows
from processors.quality.training.finetune import attach_finetuned
from processors.quality.training.fit import encode_labels, fit

__all__ = ["train_and_register"]

EMBEDDING_TEXT = "processors.quality.preprocess.document_text(doc), first 256 tokens"


def _silent(_line: str) -> None:
    pass


def _say_cv(title: str, cv: dict[str, Any], config: TrainConfig, say: Callable[[str], None]) -> None:
    s = cv["summary"]
    say(f"{title}: macro-F1 {s['macro_f1']['mean']:.4f} ± {s['macro_f1']['std']:.4f}, "
        f"accuracy {s['accuracy']['mean']:.4f} ± {s['accuracy']['std']:.4f}, "
        f"ECE {s['ece']['mean']:.4f} ± {s['ece']['std']:.4f}")
    if "pooled" not in cv:
        return
    say(ev.format_report(cv["pooled"]))
    if config.charts:
        for p in ev.plot_charts(cv["y"], cv["oof_proba"], config.charts):
            say(f"  chart {p}")


def train_and_register(
    config: TrainConfig,
    registry: Registry,
    open_embedder: Callable[[], Embedder],
    *,
    say: Callable[[str], None] = _silent,
    embed_progress: Callable[[int, int], None] | None = None,
    finetune_progress: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train a model as ``config`` asks and store it in ``registry`` (promoted if asked).

    ``say`` receives the run's result lines as they come (rows, CV per fold and pooled, fit and
    fine-tuning times); ``embed_progress`` (done, total) and ``finetune_progress`` the transient
    progress. Raises :class:`TrainInputError` for a request it cannot carry out (before any
    training), :class:`~processors.quality.registry.RegistryError` for a bad version.
    """
    if config.version:
        parse_semver(config.version)
        if config.version in registry.versions():
            raise TrainInputError(f"version {config.version} exists", "version")
    if config.cv_from and config.folds > 1:
        raise TrainInputError("--cv-from records CV measured elsewhere: use it with --folds 0", "cv_from")
    if config.finetune is not None and config.encoder_dir is None:
        raise TrainInputError("fine-tuning needs the encoder's directory", "encoder_dir")
    rows = read_labelled_rows(config.data, config.text_col, config.label_col)
    y = encode_labels(rows.labels)
    data_hash = rows.data_hash
    t0 = time.perf_counter()
    clean = [preprocess(t) for t in rows.texts]
    say(f"{len(clean)} rows from {config.data.name} (hash {data_hash[:12]}); "
        f"preprocessed in {time.perf_counter() - t0:.1f}s")
    E, variant = embed_texts(clean, open_embedder, registry.root / "cache", progress=embed_progress)

    metrics: dict[str, Any] = {}
    cv = None
    if config.folds and config.folds > 1:
        t = time.perf_counter()

        def fold_done(i: int, n: int, r: dict) -> None:
            say(f"  fold {i}/{n}: macro-F1 {r['macro_f1']:.4f} accuracy {r['accuracy']:.4f} "
                f"ECE {r['ece']:.4f} ({time.perf_counter() - t:.0f}s)")

        cv = cross_validate(clean, y, E, config.params, folds=config.folds, seed=config.seed, progress=fold_done,
                            finetune=config.finetune, encoder_dir=config.encoder_dir,
                            finetune_progress=finetune_progress)
        _say_cv(f"CV {config.folds}-fold", cv, config, say)
    if config.cv_from:
        cv = cv_from_fold_results(config.cv_from, data_hash, config.finetune)
        _say_cv(f"CV recorded from {len(config.cv_from)} fold results", cv, config, say)
    if cv is not None:
        metrics["cv"] = without_arrays(cv)

    manifest = {
        "data": {"hash": data_hash, "file": config.data.name, "rows": len(clean), "text_col": config.text_col,
                 "label_col": config.label_col, "class_counts": {c: int((y == i).sum()) for i, c in enumerate(CLASSES)}},
        "embedding": {"model": variant.id, "dim": variant.dim, "text": EMBEDDING_TEXT},
        "metrics": metrics,
        "params": config.params.to_dict(),
    }
    t = time.perf_counter()
    model = fit(clean, y, E, config.params, manifest=manifest)
    say(f"fitted on all {len(clean)} rows in {time.perf_counter() - t:.0f}s")
    with tempfile.TemporaryDirectory() as work:  # the exported classifier lives here until saved
        if config.finetune is not None:
            assert config.encoder_dir is not None
            t = time.perf_counter()
            model = attach_finetuned(model, clean, y, config.encoder_dir, config.finetune, work,
                                     encoder_id=config.encoder_id, progress=finetune_progress)
            say(f"fine-tuned {config.encoder_id} on all {len(clean)} rows in {time.perf_counter() - t:.0f}s")
        version = registry.register(model, config.version)
    path = registry.root / version
    if config.promote:
        registry.promote(version)
    return TrainReport(version=version, path=path, size_bytes=sum(f.stat().st_size for f in path.iterdir()),
                       rows=len(clean), data_hash=data_hash, cv_summary=None if cv is None else cv["summary"],
                       promoted=config.promote)
