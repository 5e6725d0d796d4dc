"""The learner's stage: one micro-batch of ``quality.feedback`` in, a better model (eventually) out.

Per batch, in order:

1. skip feedback the checkpoint already covers (a redelivery after a crash); parse the rest (bad
   records are dead-lettered, stage ``feedback``); join each label with its text — its own
   ``content``, or the source's latest text from the mirrored ``sources.raw`` — or park it until the
   source arrives (parked labels that can now join are taken too);
2. embed the texts as the quality stage does; compute the online head's features over the *base*
   model's linear half;
3. :meth:`OnlineSession.observe`: every example is scored *before* it is learned (progressive
   validation), the error stream feeds the drift detector, held-back examples are kept apart;
4. a running experiment scores every labelled example with both versions and moves by the
   always-valid test: shadow → 1 → 5 → 25 % → promoted (a ``models`` promotion every worker
   follows) or rolled back;
5. when a cut is due and no experiment runs, the candidate is validated on held-back labels and,
   if it beats the published version there, registered with its lineage and put in shadow;
6. the checkpoint is written (state + covered offsets), then the outputs are returned: metric
   events, experiment records, promotions, alerts, dead letters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from processors.dead_letters import dead_letter_message
from processors.events import encode
from processors.feedback import class_of, parse_feedback
from processors.learning.examples import (candidate_models, class_index, example_document, example_key, head_rows,
                                          holdout_of, model_proba)
from processors.learning.metrics import PrequentialMetrics, Tally
from processors.learning.learner import HeadParams
from processors.learning.session import FeedbackBatch, OnlineSession
from processors.quality.classes import CLASSES
from processors.quality.model import QualityModel
from processors.quality.registry import Registry
from processors.results import Rejection
from schemas.alerts import Alert
from schemas.documents import Document
from schemas.feedback import Feedback
from schemas.messages import InputMessage, OutMessage
from schemas.metrics import LearnerMetric
from schemas.models import ModelPromotion
from streams.compute import EmbedService
from streams.learner.checkpoint import LearnerCheckpoint, save_checkpoint
from streams.learner.experiment import ExperimentRunner
from streams.learner.inputs import InputWatch, describe
from streams.learner.store import PENDING_PARTITION, LearnerStore, StoredLabel

log = logging.getLogger(__name__)


@dataclass
class Example:
    partition: int
    offset: int
    key: str
    doc: Document
    label: int
    weight: float
    holdout: bool


@dataclass
class LearnerState:
    """What the checkpoint holds besides the session."""

    base: QualityModel
    published: QualityModel
    covered: dict[int, int] = field(default_factory=dict)
    runner: ExperimentRunner | None = None
    candidate_head: HeadParams | None = None  # the online head behind the running candidate, if ours
    cuts: int = 0
    validation_from: int = 0  # a label mark: held-back labels before it belong to an earlier concept


class LearnerStage:
    def __init__(self, *, session: OnlineSession, state: LearnerState, store: LearnerStore, registry: Registry,
                 embedder: EmbedService, checkpoint_path: Path, experiment_template: Any, worker: str,
                 holdout_share: float, validation_rows: int, max_dlq_bytes: int,
                 min_validation_rows: int = 100, inputs: InputWatch | None = None) -> None:
        self.session = session
        self.state = state
        self.store = store
        self.registry = registry
        self.embedder = embedder
        self.checkpoint_path = checkpoint_path
        self.experiment_template = experiment_template
        self.worker = worker
        self.holdout_share = holdout_share
        self.validation_rows = validation_rows
        self.min_validation_rows = min_validation_rows
        self.inputs = inputs
        # The published head on the same examples, scored before they are learned: what learning bought.
        self.published_metrics = PrequentialMetrics(3, session.config.metrics_window)
        self.max_dlq_bytes = max_dlq_bytes
        self.lock = asyncio.Lock()
        self.requested: list[tuple[str, str]] = []  # (candidate version, reason) asked for by an operator
        self.cut_now: str | None = None  # a reason to cut at the next batch (input drift)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the batch -----------------------------------------------------------------------------

    async def process(self, messages: Sequence[InputMessage]) -> list[OutMessage]:
        async with self.lock:
            return await self._process(messages)

    async def _process(self, messages: Sequence[InputMessage]) -> list[OutMessage]:
        out: list[OutMessage] = []
        now = time.time()
        loop = self._loop = asyncio.get_running_loop()
        covered = self.state.covered
        labelled: list[tuple[InputMessage, Feedback]] = []
        for msg in messages:
            if msg.offset < covered.get(msg.partition, 0):
                continue  # applied before the last checkpoint
            covered[msg.partition] = msg.offset + 1
            parsed = parse_feedback(msg.value)
            if isinstance(parsed, Rejection):
                out.append(dead_letter_message(parsed, msg, worker=self.worker, max_bytes=self.max_dlq_bytes))
            else:
                labelled.append((msg, parsed))
        examples = self._join(labelled, now)
        examples += self._parked()
        out += await self._start_requested(now)
        if examples:
            texts = [self.state.base.embedding_text(e.doc) for e in examples]
            embeddings = np.asarray(await self.embedder.embed(texts), dtype=np.float32)
            out += await loop.run_in_executor(None, self._learn, examples, embeddings, now)
        elif self.cut_now and (self.state.runner is None or self.state.runner.finished):
            out += await loop.run_in_executor(None, self._cut, now)
        await loop.run_in_executor(None, self._save)
        self.store.forget_parked(covered.get(PENDING_PARTITION, 0))
        return out

    def _join(self, labelled: list[tuple[InputMessage, Feedback]], now: float) -> list[Example]:
        texts = self.store.texts(f.source_id for _, f in labelled if f.content is None and f.source_id)
        out: list[Example] = []
        for msg, fb in labelled:
            key = example_key(fb)
            if fb.content is not None:
                text, doc_type = fb.content, fb.doc_type
            elif key in texts:
                text, doc_type = texts[key].content, fb.doc_type or texts[key].doc_type
            else:
                self.store.park(key, fb.doc_type, class_of(fb), fb.weight, msg.partition, msg.offset, now)
                continue
            out.append(Example(msg.partition, msg.offset, key, example_document(key, text, doc_type),
                               class_index(class_of(fb)), fb.weight, holdout_of(key, self.holdout_share)))
        return out

    async def watch_inputs(self) -> list[OutMessage]:
        """Window the sampled input documents; on drift: an alert, and a candidate cut at the next batch."""
        if self.inputs is None:
            return []
        docs = self.inputs.take()
        if not docs:
            return []
        async with self.lock:
            model = self.state.published
            embeddings = np.asarray(await self.embedder.embed([model.embedding_text(d) for d in docs]), np.float32)
            drifted = await asyncio.get_running_loop().run_in_executor(None, self.inputs.add, docs, embeddings, model)
            if not drifted:
                return []
            self.cut_now = "input_drift"
            details = {t: describe(r) for t, r in drifted.items()}
            log.warning("input drift against the reference window: %s", details)
            return [self._alert("input_drift", "warning", "the documents coming in differ from the reference window "
                                f"({', '.join(sorted(details))})", details, time.time())]

    def _parked(self) -> list[Example]:
        after = self.state.covered.get(PENDING_PARTITION, 0)
        rows = self.store.joinable(after, 500)
        if rows:
            self.state.covered[PENDING_PARTITION] = rows[-1][0].seq + 1
        return [Example(PENDING_PARTITION, p.seq, p.source_id, example_document(p.source_id, s.content, s.doc_type),
                        class_index(p.label), p.weight, holdout_of(p.source_id, self.holdout_share)) for p, s in rows]

    # -- learning (in a thread) ---------------------------------------------------------------------

    def _learn(self, examples: list[Example], embeddings: np.ndarray, now: float) -> list[OutMessage]:
        out: list[OutMessage] = []
        docs = [e.doc for e in examples]
        labels = np.array([e.label for e in examples])
        order = sorted(range(len(examples)), key=lambda i: (examples[i].partition, examples[i].offset))
        X = head_rows(self.state.base, docs, embeddings)
        batch = FeedbackBatch(X[order], labels[order], np.array([examples[i].partition for i in order]),
                              np.array([examples[i].offset for i in order]),
                              np.array([examples[i].holdout for i in order]),
                              np.array([examples[i].weight for i in order]))
        fresh = batch.offsets >= np.array([self.session.next_offsets.get(int(p), 0) for p in batch.partitions])
        if fresh.any():
            self.published_metrics.update(batch.labels[fresh], self.session.published.predict_proba(batch.features[fresh]))
        report = self.session.observe(batch, now=now)
        self.store.keep_labels((e.partition, e.offset, StoredLabel(e.key, e.doc.content, e.doc.type.value,
                                                                   self._class_name(e.label), e.weight, e.holdout))
                               for e in examples)
        w, pw = report.window, self.published_metrics.windowed()
        out.append(OutMessage("pipeline.metrics", None, encode(LearnerMetric(
            published_macro_f1=round(pw.macro_f1, 4) if pw.n else None,
            published_log_loss=round(pw.log_loss, 4) if pw.n else None,
            accepted=report.accepted, duplicates=report.duplicates, learned=report.learned,
            pending=self.store.pending(), window_n=w.n, macro_f1=round(w.macro_f1, 4) if w.n else None,
            log_loss=round(w.log_loss, 4) if w.n else None, ece=round(w.ece, 4) if w.n else None,
            accuracy=round(w.accuracy, 4) if w.n else None, total_learned=self.session.learner.learned,
            drift=report.alarm is not None, base_version=self.state.base.version,
            published_version=self.state.published.version, worker=self.worker, emitted_at=now))))
        if report.alarm is not None:
            # Held-back labels of the old concept no longer say what a good candidate is.
            self.state.validation_from = self.store.label_mark()
            log.warning("drift: the error stream of the learned model changed (%s)", report.alarm)
            out.append(self._alert("drift", "warning", "concept drift: the quality model's error rate changed",
                                   {"alarm": str(report.alarm), "learned": self.session.learner.learned}, now))
        runner = self.state.runner
        if runner is not None and not runner.finished:
            if runner.observe(docs, embeddings, labels, now):
                out += self._experiment_moved(now)
        elif report.cut_due or self.cut_now:
            out += self._cut(now)
        return out

    @staticmethod
    def _class_name(label: int) -> str:
        return CLASSES[label]

    # -- candidates ---------------------------------------------------------------------------------

    def _cut(self, now: float) -> list[OutMessage]:
        """Cut a candidate from the session and validate both halves of the choice on held-back labels.

        The session offers its online head or a head refitted on the replay reservoir (whichever has
        the lower log-loss on its held-back rows); here each version that head can become (with or
        without the fine-tuned half) is scored as a whole model on the stored held-back labels, and
        the best is registered only when its log-loss is lower than the published version's there.
        The A/B test that follows decides; this only keeps hopeless candidates out of it.
        """
        held = self.store.recent_labels(self.validation_rows, holdout=True, after=self.state.validation_from)
        if len(held) < self.min_validation_rows:
            return []  # not enough held-back labels yet: the cut stays due
        self.cut_now = None
        report = self.session.cut(now=now)
        version = self.registry.next_version("patch")
        lineage = {"base": self.state.base.version, "feedback_offsets": {str(p): o for p, o in
                                                                        sorted(self.state.covered.items())},
                   "learned_labels": report.learned, "cut_reason": report.reason, "head": report.source,
                   "data_hash": hashlib.sha256("".join(f"{s.key}:{s.label}" for s in held).encode()).hexdigest()[:16]}
        variants = candidate_models(self.state.base, report.head, version=version, lineage=lineage,
                                    published=self.state.published)
        scores = self._validate({"published": self.state.published, **variants}, held)
        best = min(variants, key=lambda k: scores[k]["log_loss"])
        if scores[best]["log_loss"] >= scores["published"]["log_loss"]:
            log.info("candidate (%s, %s) not better than %s on %d held-back labels: log-loss %.4f vs %.4f", best,
                     report.source, self.state.published.version, len(held), scores[best]["log_loss"],
                     scores["published"]["log_loss"])
            return []
        model = variants[best]
        # the version is taken again here: a fine-tuning job may have registered one meanwhile
        version = self.registry.register(
            model, self.registry.next_version("patch"), parent=self.state.published.version,
            metrics={"held_back": scores[best], "published_held_back": scores["published"],
                     "head": report.candidate.to_dict()}, lineage=model.manifest.get("lineage"))
        self.state.cuts += 1
        log.info("candidate %s (%s head, %s, after %s) registered: held-back log-loss %.4f vs %.4f; shadow begins",
                 version, report.source, best, report.reason, scores[best]["log_loss"],
                 scores["published"]["log_loss"])
        out = self._begin(self.registry.load(version), "learner", f"cut after {report.reason}: {report.source} "
                          f"head, {best}", now)
        self.state.candidate_head = report.head
        return out

    def _validate(self, models: dict[str, QualityModel], held: list[StoredLabel]) -> dict[str, dict[str, float]]:
        if not held:
            return {k: {"log_loss": 0.0, "macro_f1": 0.0, "n": 0} for k in models}
        docs = [example_document(s.key, s.text, s.doc_type) for s in held]
        y = np.array([class_index(s.label) for s in held])
        emb = self._embed_sync([self.state.base.embedding_text(d) for d in docs])
        out = {}
        for name, m in models.items():
            snap = Tally.of(y, model_proba(m, docs, emb)).snapshot()
            out[name] = {"log_loss": round(snap.log_loss, 5), "macro_f1": round(snap.macro_f1, 5), "n": snap.n}
        return out

    def _embed_sync(self, texts: list[str]) -> np.ndarray:
        """Embed from a worker thread through the event loop's batcher."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.embedder.embed(texts), self._loop)
        return np.asarray(future.result(), dtype=np.float32)

    # -- experiments --------------------------------------------------------------------------------

    def _begin(self, candidate: QualityModel, origin: str, reason: str, now: float) -> list[OutMessage]:
        self.state.runner = ExperimentRunner.begin(self.experiment_template, self.state.published, candidate,
                                                   origin=origin, reason=reason, now=now)
        return [self.experiment_message(now)]

    async def _start_requested(self, now: float) -> list[OutMessage]:
        if not self.requested or (self.state.runner is not None and not self.state.runner.finished):
            return []
        version, reason = self.requested.pop(0)
        loop = asyncio.get_running_loop()
        try:
            candidate = await loop.run_in_executor(None, self.registry.load, version)
        except Exception as exc:  # noqa: BLE001 - a bad request is refused, the learner goes on
            log.error("experiment with %s refused: %s", version, exc)
            return []
        return self._begin(candidate, "operator", reason, now)

    def experiment_message(self, now: float) -> OutMessage:
        assert self.state.runner is not None
        return OutMessage("experiments", b"quality", encode(self.state.runner.record(now)))

    def _experiment_moved(self, now: float) -> list[OutMessage]:
        runner = self.state.runner
        assert runner is not None
        out = [self.experiment_message(now)]
        log.info("experiment %s: %s", runner.config.experiment_id, runner.record(now).phase)
        if runner.promoted:
            out += self._promote(runner.candidate, now)
        return out

    def _promote(self, candidate: QualityModel, now: float) -> list[OutMessage]:
        previous = self.registry.promote(candidate.version)
        self.state.published = candidate
        if self.inputs is not None:
            self.inputs.reset_reference()
        if self.state.candidate_head is not None:  # one of ours: candidates are now measured against it
            self.session.publish(self.state.candidate_head, adopt=False)
            self.state.candidate_head = None
        promotion = ModelPromotion(kind="quality", version=candidate.version, action="promote",
                                   previous_version=previous or None,
                                   checksum=candidate.manifest.get("manifest_sha256"), promoted_at=now,
                                   promoted_by=f"learner {self.worker}")
        return [OutMessage("models", b"quality", encode(promotion))]

    def _alert(self, kind: str, severity: str, summary: str, details: dict[str, Any], now: float) -> OutMessage:
        alert = Alert(kind=kind, severity=severity, summary=summary, worker=self.worker, details=details,
                      emitted_at=now)
        return OutMessage("alerts", kind.encode(), encode(alert))

    # -- checkpoint -----------------------------------------------------------------------------------

    def _save(self) -> None:
        runner, head = self.state.runner, self.state.candidate_head
        experiment = None
        if runner is not None:
            experiment = {**runner.to_dict(), "head": None if head is None else
                          {"weights": head.weights.tolist(), "bias": head.bias.tolist()}}
        save_checkpoint(self.checkpoint_path, LearnerCheckpoint(
            session=self.session.to_bytes(), base_version=self.state.base.version,
            published_version=self.state.published.version, covered=dict(self.state.covered),
            experiment=experiment, cuts=self.state.cuts, validation_from=self.state.validation_from))
