"""``assay quality train | evaluate | explain``: the learned document-quality model.

The models are kept in the registry that ``assay model`` manages (``streams/cli/model.py``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from streams.cli.errors import AssayGroup
from streams.cli.model import registry as _registry

__all__ = ["quality_group"]


def _embedder():
    from inference.factory import create_embedder
    from infra.settings import get_settings

    s = get_settings()
    return create_embedder(s.inference, s.models_dir)


class _EmbedProgress:
    """Opens the embedder and shows the embedding pass's progress on stderr."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def open(self):
        self.started = time.perf_counter()
        return _embedder()

    def __call__(self, i: int, n: int) -> None:
        click.echo(f"\r  embedded {i}/{n} ({time.perf_counter() - self.started:.0f}s)", nl=i >= n, err=True)


def _ft_progress(line: str) -> None:
    click.echo(f"  fine-tune: {line}", err=True)


# TrainConfig fields → the options that set them
_OPTIONS = {"version": "--out", "cv_from": "--cv-from"}


def _bad_parameter(e: Any) -> click.BadParameter:
    """A training input error (processors.quality.training.config.TrainInputError) as click reports it."""
    return click.BadParameter(str(e), param_hint=_OPTIONS.get(e.field or ""))


def _labelled_rows(data: Path, text_col: str, label_col: str):
    from processors.quality.training.config import TrainInputError
    from processors.quality.training.dataset import read_labelled_rows

    try:
        return read_labelled_rows(data, text_col, label_col)
    except TrainInputError as e:
        raise _bad_parameter(e) from e



@click.group("quality", cls=AssayGroup)
def quality_group() -> None:
    """Learned document-quality model: train, evaluate, explain."""


@quality_group.command("train")
@click.option("--data", "data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Labelled rows: parquet, csv, tsv, json or jsonl")
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="rating", show_default=True, help="Values LQ_CLOSE | LQ_EDIT | HQ")
@click.option("--folds", default=5, show_default=True, help="Stratified CV folds reported in the manifest (0 = skip)")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "version", default=None, help="Version to create (semver; default: next minor)")
@click.option("--params", "params_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON file of TrainParams overrides")
@click.option("--char/--no-char", default=None, help="Add character n-gram TF-IDF (default: as TrainParams)")
@click.option("--promote", is_flag=True, help="Make the new version current")
@click.option("--charts", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write CV charts (PNG) here")
@click.option("--finetune", is_flag=True,
              help="Also fine-tune MiniLM end to end and average it with the linear model (about 20 min on "
                   "2 CPU cores for 6,750 rows; 17 min more per CV fold)")
@click.option("--finetune-epochs", default=None, type=int, help="Override FinetuneParams.epochs")
@click.option("--cv-from", "cv_from", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="Record these per-fold results of bench/quality_finetune.py (--ensemble --json, same split and "
                   "recipe) as the model's CV instead of re-running it (use with --folds 0)")
def train_cmd(data: Path, text_col: str, label_col: str, folds: int, seed: int, version: str | None,
              params_file: Path | None, char: bool | None, promote: bool, charts: Path | None,
              finetune: bool, finetune_epochs: int | None, cv_from: tuple[Path, ...]) -> None:
    """Train a model on DATA (CV first), store it in the registry."""
    from processors.quality.training.config import TrainConfig, TrainInputError
    from processors.quality.training.finetune import FinetuneParams
    from processors.quality.training.fit import TrainParams
    from processors.quality.training.run import train_and_register

    params = TrainParams.from_dict(json.loads(params_file.read_text())) if params_file else TrainParams()
    if char is not None:
        params.char = char
    params.seed = seed
    fparams = encoder_dir = encoder_id = None
    if finetune:
        from inference.export import model_revision
        from inference.factory import default_model_path, model_name

        fparams = FinetuneParams(seed=seed, **({"epochs": finetune_epochs} if finetune_epochs else {}))
        encoder_dir = default_model_path()
        encoder_id = f"{model_name(encoder_dir)}@{model_revision(encoder_dir)}"
    config = TrainConfig(data=data, text_col=text_col, label_col=label_col, folds=folds, seed=seed, version=version,
                         params=params, finetune=fparams, encoder_dir=encoder_dir, encoder_id=encoder_id,
                         cv_from=cv_from, charts=charts, promote=promote)
    embedding = _EmbedProgress()
    try:
        report = train_and_register(config, _registry(), embedding.open, say=click.echo, embed_progress=embedding,
                                    finetune_progress=_ft_progress)
    except TrainInputError as e:
        raise _bad_parameter(e) from e
    click.echo(f"saved quality model {report.version} to {report.path} ({report.size_bytes / 1e6:.1f} MB)")
    if report.promoted:
        click.echo(f"promoted {report.version}")


@quality_group.command("evaluate")
@click.option("--model", "version", default=None, help="Version (default: current)")
@click.option("--data", "data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="rating", show_default=True)
@click.option("--charts", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON")
def evaluate_cmd(version: str | None, data: Path, text_col: str, label_col: str, charts: Path | None,
                 as_json: bool) -> None:
    """Score labelled DATA with a model and report accuracy, macro-F1, per-class P/R, ECE."""
    from processors.quality import evaluate as ev
    from processors.quality.embed_cache import embed_texts
    from processors.quality.preprocess import preprocess
    from processors.quality.training.fit import encode_labels

    reg = _registry()
    model = reg.load(version)
    rows = _labelled_rows(data, text_col, label_col)
    y = encode_labels(rows.labels)
    clean = [preprocess(t) for t in rows.texts]
    embedding = _EmbedProgress()
    E, _ = embed_texts(clean, embedding.open, reg.root / "cache", progress=embedding)
    t = time.perf_counter()
    proba = model.predict_proba(clean, E)
    dt = time.perf_counter() - t
    r = ev.evaluate_proba(y, proba)
    if as_json:
        click.echo(json.dumps(r, indent=2))
    else:
        n = len(clean)
        click.echo(f"model {model.version}: {n} rows scored in {dt:.1f}s ({1000 * dt / max(1, n):.2f} ms/row)")
        data_hash = (model.manifest.get("data") or {}).get("hash")
        if data_hash and data_hash == rows.data_hash:
            click.echo("note: this is the model's training data; see its CV metrics (`assay model show`) for held-out numbers")
        click.echo(ev.format_report(r))
    if charts:
        for p in ev.plot_charts(y, proba, charts):
            click.echo(f"chart {p}")


@quality_group.command("explain")
@click.argument("text")
@click.option("--model", "version", default=None, help="Version (default: current)")
@click.option("--type", "doc_type", default="general", show_default=True,
              type=click.Choice(["general", "documentation", "code", "architecture"]))
@click.option("--top", default=15, show_default=True)
@click.option("--target", default="quality", show_default=True, help="quality (HQ − LQ_CLOSE) | LQ_CLOSE | LQ_EDIT | HQ")
@click.option("--no-embedding", is_flag=True, help="Do not run the embedder (uses the training mean)")
def explain_cmd(text: str, version: str | None, doc_type: str, top: int, target: str, no_embedding: bool) -> None:
    """Score TEXT (raw; '-' reads stdin; '@FILE' reads a file) and show the top feature contributions."""
    from processors.quality.preprocess import document_text
    from schemas.documents import Document

    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@") and Path(text[1:]).is_file():
        text = Path(text[1:]).read_text(encoding="utf-8", errors="replace")
    model = _registry().load(version)
    doc = Document(id="cli", type=doc_type, content=text, version="cli")
    clean = document_text(doc)
    emb = None
    if not no_embedding:
        e = _embedder()
        try:
            emb = e.embed([clean])[0]
        finally:
            e.close()
    q = model.score(doc, emb)
    ex = model.explain(doc, emb, target=target)
    click.echo(f"model {model.version}: score {q.score:.2f} ({q.label})  " +
               "  ".join(f"P({c})={p:.3f}" for c, p in ex.probabilities.items()))
    click.echo(f"cleaned: {clean[:200]}{'…' if len(clean) > 200 else ''}")
    click.echo(f"logit[{target}] = {ex.logit:+.3f} = bias {ex.bias:+.3f} + Σ {len(ex.contributions)} contributions")
    for name, v in ex.top(top):
        click.echo(f"  {v:+.3f}  {name}")
    if model.finetuned is not None:
        from processors.quality.classes import quality_direction
        from processors.quality.explain import occlusion

        words = occlusion(model.finetuned, clean, quality_direction(target))
        click.echo(f"'finetuned', word occlusion (drop in the fine-tuned classifier's logit[{target}] without "
                   f"the word; approximate, not additive):")
        for word, v in words[:top]:
            click.echo(f"  {v:+.3f}  {word}")


@quality_group.command("finetune-candidate")
@click.option("--base", "base_version", default=None, help="Published version whose fine-tuned half to continue "
              "(default: current)")
@click.option("--data", "data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Also train on these labelled rows (e.g. the base's training set, as for `train --data`)")
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="rating", show_default=True)
@click.option("--labels-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The learner's database (default: <data_dir>/learner/learner.db)")
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Torch checkpoints of the jobs (default: <data_dir>/learner/finetune)")
@click.option("--threads", default=1, show_default=True, help="torch threads (and onnxruntime's, for validation)")
@click.option("--epochs", default=1, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimizer steps")
@click.option("--save-every", default=50, show_default=True, help="Checkpoint every K steps")
@click.option("--min-labels", default=64, show_default=True, help="Refuse with fewer new labels than this")
@click.option("--validation-rows", default=500, show_default=True,
              help="Score candidate and base on this many recent held-back labels (0: skip)")
@click.option("--require-better", is_flag=True, help="Register only if the held-back log-loss beats the base's")
@click.option("--restart", is_flag=True, help="Discard an interrupted job instead of resuming it")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line")
@click.option("--exit-with-parent", is_flag=True, help="Stop (resumably) when the process that started it is gone, "
              "as the learner's background job does")
def finetune_candidate_cmd(base_version: str | None, data: Path | None, text_col: str, label_col: str,
                           labels_db: Path | None, checkpoint_dir: Path | None, threads: int, epochs: int,
                           max_steps: int | None, save_every: int, min_labels: int, validation_rows: int,
                           require_better: bool, restart: bool, as_json: bool, exit_with_parent: bool) -> None:
    """Continue fine-tuning the encoder half on the learner's gathered labels; register a candidate.

    Resumes an interrupted job from its checkpoint. Prints the registered version (exit 0), or why
    none was registered; exit 2 when there are too few labels.
    """
    import torch

    from inference.export import model_revision
    from inference.factory import default_model_path, model_name
    from infra.settings import get_settings
    from processors.quality.training.continued import ContinueConfig, LabelRow, finetune_candidate
    from processors.quality.training.finetune import FinetuneParams
    from processors.quality.training.job_checkpoints import JobCheckpoints
    from streams.learner.store import read_labels

    torch.set_num_threads(threads)
    s = get_settings()
    db = labels_db or s.data_dir / "learner" / "learner.db"
    try:
        rows = [LabelRow(m, lbl.key, lbl.text, lbl.doc_type, lbl.label) for m, lbl in read_labels(db, holdout=False)]
        held = [LabelRow(m, lbl.key, lbl.text, lbl.doc_type, lbl.label)
                for m, lbl in read_labels(db, holdout=True, limit=validation_rows)] if validation_rows else []
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from e
    reg = _registry()
    base = reg.load(base_version)
    extra = _labelled_rows(data, text_col, label_col) if data else None
    encoder_dir = default_model_path()
    config = ContinueConfig(params=FinetuneParams(epochs=epochs), max_steps=max_steps, save_every=save_every,
                            threads=threads, min_labels=min_labels, restart=restart)
    embedder = None
    parent = os.getppid()

    def orphaned(_step: int) -> None:
        if os.getppid() != parent:  # re-parented: the learner was killed; the checkpoint stays for the next one
            click.echo("the process that started this job is gone: stopping", err=True)
            sys.exit(3)

    def embed(texts: list[str]):
        nonlocal embedder
        embedder = embedder or _embedder()
        return embedder.embed(texts)

    try:
        report = finetune_candidate(
            base, rows, held, JobCheckpoints(checkpoint_dir or s.data_dir / "learner" / "finetune"), reg, encoder_dir,
            config, encoder_id=f"{model_name(encoder_dir)}@{model_revision(encoder_dir)}", embed=embed,
            require_better=require_better, extra=extra, extra_name=data.name if data else None, say=_ft_progress,
            on_step=orphaned if exit_with_parent else None)
    finally:  # too few labels, changed rows, a busy checkpoint: one "error:" line, exit 2
        if embedder is not None:
            embedder.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), separators=(",", ":")))
    elif report.version:
        click.echo(f"registered quality model {report.version} ({report.spec['labels']['rows']} labels, "
                   f"{report.spec['steps']} steps, {report.train_s / 60:.1f} min)")
    else:
        click.echo(report.reason)
