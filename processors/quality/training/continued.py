"""Continued fine-tuning of the encoder half on the labels the learner gathered: one candidate per job.

The online learner moves only the linear half (:mod:`processors.learning`). This job moves the
other one, outside the learner's process (``assay quality finetune-candidate``, started by the
learner as a niced background process every N labels):

* **What it continues.** The fine-tuned half of the *published* version (``--base``), because the
  A/B test decided that this is the half worth building on (a candidate that was rolled back is
  not continued). Its fp32 weights come from the checkpoint of the job that produced it when that
  is still kept (``<checkpoint>/done/<job>.pt``), otherwise from the version's INT8 graph,
  dequantized (:mod:`.dequantize`: the shipped 1.2.0, trained on 6,750 questions, has no torch
  weights). A version with no fine-tuned half starts from the bundled MiniLM with a new head; then
  pass the version's training data (``--data``) so the half does not learn from the labels alone.
* **On what.** The non-held-back labels gathered after the ones the base's half has learned (its
  manifest records the last label mark a job covered; none for the shipped halves), plus
  ``--data`` rows if given. Held-back labels validate the candidate, never train it.
* **How.** The 1.2.0 recipe (:class:`~.finetune.FinetuneParams`), one epoch by default, on a bounded
  number of torch threads. Every ``save_every`` steps the weights, optimizer, schedule, step, data
  position and torch RNG are written atomically (:mod:`.job_checkpoints`); a killed job restarted
  with the same base resumes there, on the same rows in the same order (the batches are a function
  of the seed and the step), and ends where an uninterrupted job would have.
* **Out.** The INT8 export attached to the base's linear half
  (:meth:`~processors.quality.model.QualityModel.with_finetuned`), scored against the base on the
  held-back labels, registered with its lineage; the A/B test decides the rest.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from processors.learning.examples import class_index, example_document
from processors.quality.artifacts import ArtifactError
from processors.quality.evaluate import evaluate_proba
from processors.quality.finetuned import FinetunedClassifier
from processors.quality.model import QualityModel
from processors.quality.preprocess import document_text
from processors.quality.registry import Registry, RegistryError
from processors.quality.training.config import TrainInputError
from processors.quality.training.dataset import LabelledRows
from processors.quality.training.dequantize import state_from_int8
from processors.quality.training.finetune import (CLASSIFIER_FILE, FinetuneParams, classifier_module,
                                                  export_classifier, optimizer_for, planned_steps, train_steps)
from processors.quality.training.job_checkpoints import JobCheckpoints

__all__ = ["CandidateReport", "ContinueConfig", "ContinuedHalf", "LabelRow", "continue_finetune",
           "finetune_candidate", "start_point"]

# parameters the classifier graph does not use, so an INT8 graph cannot give them back
_UNUSED = ("encoder.pooler.",)


@dataclass(frozen=True)
class LabelRow:
    """One gathered label: ``mark`` is its position in the learner's ``labels`` table (rowid)."""

    mark: int
    key: str
    text: str
    doc_type: str | None
    label: str

    def clean(self) -> str:
        """The cleaned text, as the quality stage and the learner see the document."""
        return document_text(example_document(self.key, self.text, self.doc_type))


@dataclass(frozen=True)
class ContinueConfig:
    params: FinetuneParams = field(default_factory=lambda: FinetuneParams(epochs=1))
    max_steps: int | None = None
    save_every: int = 50
    threads: int | None = 1
    min_labels: int = 64
    restart: bool = False  # discard an interrupted job instead of resuming it


@dataclass(frozen=True)
class StartPoint:
    """Where the encoder half's weights come from: ``checkpoint`` (a finished job's fp32 weights,
    ``source`` = the job), ``int8`` (the version's graph, dequantized; ``source`` = the version) or
    ``encoder`` (the bundled encoder and a new head; ``source`` = the encoder)."""

    kind: str
    source: str


@dataclass
class ContinuedHalf:
    module: Any  # the torch classifier (eval mode)
    spec: dict[str, Any]  # the job: id, base, start, labels, extra data, hash, recipe, steps
    train_s: float
    resumed_at: int  # the step the job resumed from (0: a fresh job)


@dataclass(frozen=True)
class CandidateReport:
    version: str | None  # None: not registered (``reason`` says why)
    reason: str
    spec: dict[str, Any]
    metrics: dict[str, Any]
    train_s: float
    resumed_at: int

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "registered": self.version is not None, "reason": self.reason,
                "job": self.spec, "metrics": self.metrics, "train_s": round(self.train_s, 1),
                "resumed_at": self.resumed_at}


def _ft_lineage(model: QualityModel) -> dict[str, Any]:
    return dict((model.manifest.get("finetuned") or {}).get("lineage") or {})


def start_point(base: QualityModel, checkpoints: JobCheckpoints, encoder_id: str) -> StartPoint:
    """What a new job continues: see the module docstring."""
    if base.finetuned is None:
        return StartPoint("encoder", encoder_id)
    job = _ft_lineage(base).get("job")
    if job and checkpoints.finished(job) is not None:
        return StartPoint("checkpoint", job)
    return StartPoint("int8", base.version)


def _data_hash(rows: Sequence[LabelRow], extra: LabelledRows | None) -> str:
    extra = extra or LabelledRows([], [])
    return LabelledRows([r.text for r in rows] + extra.texts, [r.label for r in rows] + extra.labels).data_hash


def _new_spec(base: QualityModel, rows: Sequence[LabelRow], extra: LabelledRows | None, extra_name: str | None,
              start: StartPoint, config: ContinueConfig, encoder_id: str) -> tuple[dict[str, Any], list[LabelRow]]:
    after = int(_ft_lineage(base).get("labels_through", 0))
    todo = [r for r in rows if r.mark > after]
    if len(todo) < config.min_labels:
        raise TrainInputError(f"{len(todo)} labels gathered (not held back) since {base.version}'s fine-tuned half "
                              f"last learned (label mark {after}); at least {config.min_labels} needed: wait for "
                              "more feedback or lower --min-labels")
    n = len(todo) + (len(extra.texts) if extra else 0)
    return {
        "job": uuid.uuid4().hex[:12], "base": base.version, "start": {"kind": start.kind, "source": start.source},
        "labels": {"after": after, "through": max(r.mark for r in todo), "rows": len(todo)},
        "extra": None if extra is None else {"file": extra_name, "hash": extra.data_hash, "rows": len(extra.texts)},
        "data_hash": _data_hash(todo, extra), "params": config.params.to_dict(), "encoder": encoder_id,
        "steps": planned_steps(n, config.params, config.max_steps),
    }, todo


def _resumed_rows(spec: dict[str, Any], rows: Sequence[LabelRow], extra: LabelledRows | None) -> list[LabelRow]:
    todo = [r for r in rows if spec["labels"]["after"] < r.mark <= spec["labels"]["through"]]
    if _data_hash(todo, extra) != spec["data_hash"]:
        was = spec["extra"]
        raise TrainInputError(
            f"the interrupted job {spec['job']} trained on {spec['labels']['rows']} labels (marks "
            f"{spec['labels']['after']}–{spec['labels']['through']})" + (f" and {was['file']}" if was else "") +
            f"; those rows have changed ({len(todo)} labels found" + (", --data given" if extra else "") +
            "): pass the same --data, or --restart to discard it")
    return todo


def _load_start(model, start: StartPoint, base: QualityModel, checkpoints: JobCheckpoints) -> None:
    import torch

    if start.kind == "checkpoint":
        model.load_state_dict(checkpoints.load_finished(start.source))
    elif start.kind == "int8":
        assert base.finetuned is not None
        state = {k: torch.tensor(v) for k, v in state_from_int8(base.finetuned.onnx_path).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(_UNUSED)]
        if missing or unexpected:
            raise TrainInputError(f"{base.version}'s fine-tuned half does not match the encoder "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")


def continue_finetune(
    base: QualityModel,
    rows: Sequence[LabelRow],
    checkpoints: JobCheckpoints,
    encoder_dir: str | Path,
    config: ContinueConfig = ContinueConfig(),
    *,
    encoder_id: str,
    extra: LabelledRows | None = None,
    extra_name: str | None = None,
    say: Callable[[str], None] = lambda _line: None,
    on_step: Callable[[int], None] | None = None,
) -> ContinuedHalf:
    """Continue ``base``'s encoder half on ``rows`` (the non-held-back gathered labels, any order)
    and ``extra``; resumes the interrupted job in ``checkpoints`` when it continued the same base.

    ``on_step(step)`` runs after each step and its checkpoint (a test stops the job there, as a
    kill would). :class:`TrainInputError` when there are too few labels or the rows of an
    interrupted job changed.
    """
    import torch

    job = checkpoints.running()
    if job is not None and (config.restart or job["spec"]["base"] != base.version):
        why = "--restart" if config.restart else f"it continued {job['spec']['base']}, not {base.version}"
        say(f"discarding the interrupted job {job['spec']['job']} ({why})")
        checkpoints.discard_running()
        job = None
    if job is not None:
        spec = job["spec"]
        todo = _resumed_rows(spec, rows, extra)
        start = StartPoint(spec["start"]["kind"], spec["start"]["source"])
    else:
        start = start_point(base, checkpoints, encoder_id)
        spec, todo = _new_spec(base, rows, extra, extra_name, start, config, encoder_id)
    params, steps = FinetuneParams(**spec["params"]), int(spec["steps"])
    texts = [r.clean() for r in todo] + [document_text(example_document("extra", t, None))
                                         for t in (extra.texts if extra else [])]
    y = np.array([class_index(r.label) for r in todo] + [class_index(lbl) for lbl in (extra.labels if extra else [])])

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(params.seed)
    model = classifier_module(encoder_dir)
    opt, sched = optimizer_for(model, params, steps)
    resumed_at = 0
    if job is not None:
        model.load_state_dict(job["model"])
        opt.load_state_dict(job["optimizer"])
        sched.load_state_dict(job["scheduler"])
        torch.set_rng_state(job["torch_rng"])
        resumed_at = int(job["step"])
        say(f"resuming job {spec['job']} at step {resumed_at}/{steps} (epoch {job['epoch'] + 1}, "
            f"batch {job['position']}) on {len(todo)} labels")
    else:
        _load_start(model, start, base, checkpoints)
        say(f"job {spec['job']}: continuing {base.version} from {start.kind} {start.source} on {len(todo)} labels"
            + (f" + {len(extra.texts)} rows of {extra_name}" if extra else "") + f", {steps} steps")
    started = time.perf_counter()

    def after_step(step: int, epoch: int, position: int, loss: float) -> None:
        if step % config.save_every == 0 or step == steps:
            checkpoints.save_running({"spec": spec, "model": model.state_dict(), "optimizer": opt.state_dict(),
                                      "scheduler": sched.state_dict(), "step": step, "epoch": epoch,
                                      "position": position, "torch_rng": torch.get_rng_state()})
        if step % 10 == 0 or step == steps:
            say(f"step {step}/{steps} loss {loss:.3f} ({time.perf_counter() - started:.0f} s)")
        if on_step is not None:
            on_step(step)

    train_steps(model, opt, sched, texts, y, Path(encoder_dir) / "tokenizer.json", params, steps, start=resumed_at,
                after_step=after_step)
    model.eval()
    return ContinuedHalf(model, spec, time.perf_counter() - started, resumed_at)


def held_back_scores(models: dict[str, QualityModel], held: Sequence[LabelRow],
                     embed: Callable[[list[str]], np.ndarray]) -> dict[str, dict[str, float]]:
    """Log-loss and macro-F1 of whole models (both halves) on held-back labels."""
    cleans = [r.clean() for r in held]
    E = np.asarray(embed(cleans), dtype=np.float32)
    y = np.array([class_index(r.label) for r in held])
    out = {}
    for name, m in models.items():
        r = evaluate_proba(y, m.predict_proba(cleans, E))
        out[name] = {"log_loss": round(r["log_loss"], 5), "macro_f1": round(r["macro_f1"], 5), "n": r["n"]}
    return out


def _register(registry: Registry, model: QualityModel, **kw: Any) -> str:
    for _ in range(3):  # the learner may register a cut of its own meanwhile
        try:
            return registry.register(model, registry.next_version("patch"), **kw)
        except (RegistryError, ArtifactError):
            time.sleep(0.5)
    return registry.register(model, registry.next_version("patch"), **kw)


def finetune_candidate(
    base: QualityModel,
    rows: Sequence[LabelRow],
    held: Sequence[LabelRow],
    checkpoints: JobCheckpoints,
    registry: Registry,
    encoder_dir: str | Path,
    config: ContinueConfig = ContinueConfig(),
    *,
    encoder_id: str,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    require_better: bool = False,
    extra: LabelledRows | None = None,
    extra_name: str | None = None,
    say: Callable[[str], None] = lambda _line: None,
    on_step: Callable[[int], None] | None = None,
) -> CandidateReport:
    """One job end to end: continue the half (:func:`continue_finetune`), export it INT8, attach it
    to ``base``'s linear half, score both on ``held`` (when ``embed`` is given) and register the
    candidate (a patch version; not with ``require_better`` when its held-back log-loss is not
    lower than ``base``'s). Holds the checkpoint directory's lock throughout."""
    with checkpoints.lock():
        half = continue_finetune(base, rows, checkpoints, encoder_dir, config, encoder_id=encoder_id, extra=extra,
                                 extra_name=extra_name, say=say, on_step=on_step)
        spec = half.spec
        with tempfile.TemporaryDirectory() as work:
            path = export_classifier(half.module, Path(work) / CLASSIFIER_FILE)
            params = FinetuneParams(**spec["params"])
            classifier = FinetunedClassifier(path, Path(encoder_dir) / "tokenizer.json", params.max_tokens,
                                             threads=config.threads)
            ft_lineage = {"job": spec["job"], "continued_from": spec["start"], "base": spec["base"],
                          "labels_through": spec["labels"]["through"], "steps": spec["steps"]}
            candidate = base.with_finetuned(classifier, {
                "params": spec["params"], "encoder": spec["encoder"], "rows": spec["labels"]["rows"] +
                (spec["extra"]["rows"] if spec["extra"] else 0), "train_s": round(half.train_s, 1),
                "lineage": ft_lineage})
            metrics: dict[str, Any] = {}
            if held and embed is not None:
                scores = held_back_scores({"published": base, "candidate": candidate}, held, embed)
                metrics = {"held_back": scores["candidate"], "published_held_back": scores["published"]}
                say(f"held-back ({len(held)} labels): macro-F1 {scores['candidate']['macro_f1']:.4f} vs "
                    f"{scores['published']['macro_f1']:.4f} ({base.version}), log-loss "
                    f"{scores['candidate']['log_loss']:.4f} vs {scores['published']['log_loss']:.4f}")
            if require_better and (not metrics or metrics["held_back"]["log_loss"]
                                   >= metrics["published_held_back"]["log_loss"]):
                checkpoints.discard_running()  # the next job starts from the published half again
                why = "no held-back labels to validate it on" if not metrics else \
                    f"held-back log-loss not lower than {base.version}'s"
                return CandidateReport(None, f"not registered: {why}", spec, metrics, half.train_s, half.resumed_at)
            lineage = {"base": base.version, "variant": "finetuned", "job": spec["job"],
                       "continued_from": spec["start"], "labels": spec["labels"], "extra_data": spec["extra"],
                       "data_hash": spec["data_hash"], "steps": spec["steps"], "resumed_at": half.resumed_at}
            version = _register(registry, candidate, parent=base.version, metrics=metrics, lineage=lineage)
        checkpoints.finish(spec["job"], half.module.state_dict())
    return CandidateReport(version, "registered", spec, metrics, half.train_s, half.resumed_at)
