"""``assay learner``: the online-learning consumer of ``quality.feedback``.

One process (its own consumer group, ``<group>-learner``; ``quality.feedback`` has one partition, so
one learner is active and another one waits as a standby) that:

* mirrors ``sources.raw`` into its store, so labels that name a source find its text;
* learns every labelled batch (:class:`~streams.learner.stage.LearnerStage`), checkpointing its
  state with the offsets it covers before it acks;
* publishes progressive metrics on ``pipeline.metrics`` (``type: learner``), drift alerts on
  ``alerts``, the experiment on ``experiments`` and promotions on ``models``;
* picks up operator requests (``assay experiment start``) from ``experiments``;
* every ``ASSAY_LEARNER_FINETUNE_EVERY_LABELS`` labels, starts a niced background job that continues
  the encoder half's fine-tuning (:mod:`streams.learner.finetune_job`) and A/B-tests its candidate.

Its registry (``ASSAY_QUALITY_REGISTRY``) must be the workers' one: they load candidates and
promoted versions from it. The checkpoint and store live under ``<data_dir>/learner``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import faust
import numpy as np
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inference.batcher import EmbeddingBatcher
from inference.factory import create_embedder
from infra.kafka.connect import resolve_bootstrap
from infra.kafka.producer import AsyncProducer
from infra.kafka.provision import provision_topics
from infra.kafka.topics import ALERTS, EXPERIMENTS, QUALITY_FEEDBACK, SOURCES_RAW, topic_specs
from infra.settings import Settings
from processors.learning.examples import class_index, example_document, head_rows
from processors.learning.fold import initial_head
from processors.learning.session import CutPolicy, OnlineSession, SessionConfig
from processors.quality.registry import Registry
from schemas.experiments import ExperimentRecord
from schemas.messages import OutMessage
from streams.batches import run_stage
from streams.health import WorkerHealth
from streams.learner.checkpoint import load_checkpoint
from streams.learner.experiment import ExperimentRunner, experiment_config
from streams.learner.finetune_job import FinetuneJob
from streams.learner.inputs import InputWatch
from streams.learner.mirror import SourceMirror
from streams.learner.stage import LearnerStage, LearnerState
from streams.learner.store import LearnerStore
from streams.publish import Publisher
from streams.shutdown import BoundedWorker, hard_exit
from streams.topics import faust_topics
from streams.watchdog import Watchdog
from streams.web_auth import protect_web
from streams.parts import LazyBatcher, default_worker_name

log = logging.getLogger(__name__)


class RequestWatcher(threading.Thread):
    """Follows ``experiments``: the latest record, when an operator asked for an experiment."""

    def __init__(self, conf: dict[str, Any], topic: str, stage: LearnerStage) -> None:
        super().__init__(name="assay-experiment-requests", daemon=True)
        self._conf, self._topic, self._stage = conf, topic, stage
        self._stop_event = threading.Event()

    def run(self) -> None:
        consumer = Consumer({**self._conf, "group.id": "assay-learner-requests", "enable.auto.commit": False})
        consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
        latest: ExperimentRecord | None = None
        try:
            while not self._stop_event.is_set():
                msg = consumer.poll(0.5)
                if msg is not None and msg.error() is None and msg.value() is not None:
                    try:
                        latest = ExperimentRecord.model_validate(orjson.loads(msg.value()))
                    except ValueError:
                        continue
                    continue
                if latest is not None and latest.phase == "requested":
                    self._stage.requested.append((latest.candidate_version, latest.reason or "requested"))
                    latest = None
        finally:
            consumer.close()

    def stop(self) -> None:
        self._stop_event.set()


def session_config(settings: Settings) -> SessionConfig:
    ls = settings.learner
    return SessionConfig(cut=CutPolicy(every_labels=ls.cut_every_labels, every_seconds=ls.cut_every_s,
                                       after_drift_labels=ls.cut_after_drift_labels))


def _seed(session: OnlineSession, base: Any, settings: Settings, embed: Any) -> int:
    """Put the model's training rows (``ASSAY_LEARNER_SEED_DATA``) into the replay buffer."""
    path = settings.learner.seed_data
    if path is None or settings.learner.seed_rows == 0:
        return 0
    from processors.quality.training.dataset import read_labelled_rows

    rows = read_labelled_rows(Path(path), "text", "rating")
    n = min(len(rows.texts), settings.learner.seed_rows)
    docs = [example_document(f"seed:{i}", rows.texts[i], "general") for i in range(n)]
    E = np.asarray(embed([base.embedding_text(d) for d in docs]), dtype=np.float32)
    session.learner.seed_replay(head_rows(base, docs, E), np.array([class_index(lbl) for lbl in rows.labels[:n]]))
    return n


def build_learner(settings: Settings) -> tuple[faust.App, list[Any]]:
    worker = settings.worker_name or default_worker_name()
    data = settings.data_dir / "learner"
    registry = Registry(settings.quality_registry_dir)
    store = LearnerStore(data / "learner.db")
    model = create_embedder(settings.inference, settings.models_dir)
    lazy = LazyBatcher(EmbeddingBatcher.from_settings(model, settings.inference))
    template = experiment_config(
        min_labels_shadow=settings.learner.ab_min_labels_shadow, min_labels_per_step=settings.learner.ab_min_labels_per_step,
        min_samples=settings.learner.ab_min_samples, max_samples=settings.learner.ab_max_samples,
        alpha=settings.learner.ab_alpha)
    checkpoint = load_checkpoint(data / "checkpoint.bin")
    if checkpoint is not None:
        base, published = registry.load(checkpoint.base_version), registry.load(checkpoint.published_version)
        session = OnlineSession.from_bytes(checkpoint.session)
        state = LearnerState(base, published, dict(checkpoint.covered), cuts=checkpoint.cuts,
                             validation_from=checkpoint.validation_from)
        if checkpoint.experiment is not None:
            state.runner = ExperimentRunner.from_dict(checkpoint.experiment, template, registry)
            head = checkpoint.experiment.get("head")
            if head is not None:
                from processors.learning.learner import HeadParams

                state.candidate_head = HeadParams(np.array(head["weights"]), np.array(head["bias"]))
        log.info("learner restored: base %s, published %s, %d labels learned", base.version, published.version,
                 session.learner.learned)
    else:
        base = registry.load()
        session = OnlineSession(initial_head(), session_config(settings), now=time.time())
        n = _seed(session, base, settings, model.embed)
        state = LearnerState(base, base)
        log.info("learner starts on %s; replay seeded with %d training rows", base.version, n)
    kafka = settings.kafka
    specs = topic_specs(kafka)
    producer = AsyncProducer(kafka.librdkafka_config(), max_message_bytes=kafka.max_message_bytes)
    publisher = Publisher(producer, {r: spec.name for r, spec in specs.items()}, {}, worker,
                          default_max_bytes=kafka.max_message_bytes, max_backoff_s=settings.retry_max_backoff_s)
    stage = LearnerStage(session=session, state=state, store=store, registry=registry, embedder=lazy,
                         checkpoint_path=data / "checkpoint.bin", experiment_template=template, worker=worker,
                         holdout_share=settings.learner.holdout_share,
                         validation_rows=settings.learner.validation_rows,
                         min_validation_rows=settings.learner.min_validation_rows,
                         inputs=InputWatch(settings.learner.drift_window, settings.learner.drift_sample_every),
                         max_dlq_bytes=publisher.limit("sources.dlq"))
    mirror = SourceMirror(kafka.librdkafka_config(), specs[SOURCES_RAW].name, kafka.partitions, store,
                          max_document_bytes=settings.max_document_bytes, on_documents=stage.inputs.offer
                          if stage.inputs is not None else None)
    requests = RequestWatcher(kafka.librdkafka_config(), specs[EXPERIMENTS].name, stage)
    health = WorkerHealth(stall_after_s=settings.stall_after_s, store_loaded=True, model_loaded=True)

    ls = settings.learner
    job = FinetuneJob(every_labels=ls.finetune_every_labels, threads=ls.finetune_threads, nice=ls.finetune_nice,
                      checkpoint_dir=data / "finetune", labels_db=data / "learner.db",
                      env={**os.environ, "ASSAY_DATA_DIR": str(settings.data_dir),
                           "ASSAY_QUALITY_REGISTRY": str(registry.root)},
                      max_steps=ls.finetune_max_steps, require_better=ls.finetune_require_better)
    app = create_learner_app(settings, stage, publisher, health, producer, worker, job)
    for thread in (mirror, requests):
        thread.start()
    return app, [job, mirror, requests, producer, store]


def create_learner_app(settings: Settings, stage: LearnerStage, publisher: Publisher, health: WorkerHealth,
                       producer: AsyncProducer, worker: str, job: FinetuneJob | None = None) -> faust.App:
    from streams.app import create_app

    app = create_app(settings, suffix="-learner")
    topics = faust_topics(app, settings.kafka)
    feedback = topics[QUALITY_FEEDBACK]

    @app.agent(feedback, name="learn_feedback")
    async def learn_feedback(stream: faust.StreamT) -> None:
        await run_stage("learn_feedback", feedback.get_topic_name(), stream, stage.process, publisher, health,
                        batch_size=settings.learner.batch_size, within_s=settings.learner.batch_within_s)

    @app.task
    async def announce() -> None:
        """Say again what the checkpoint knows: the experiment's state (a crash may have cut it off)."""
        health.started = True
        if stage.state.runner is not None:
            await publisher.publish([stage.experiment_message(time.time())])

    @app.timer(interval=3.0)
    async def between_batches() -> None:
        """Input-drift windows; the fine-tuning job; parked labels whose source arrived, requests and due cuts."""
        finished = job.poll(stage.store.label_count(), stage.state.published.version) if job is not None else None
        if finished is not None:
            stage.requested.append(finished)
        alerts = await stage.watch_inputs()
        if alerts:
            await publisher.publish(alerts)
        if stage.requested or stage.cut_now or stage.store.pending():
            await publisher.publish(await stage.process([]))

    async def send_alert(alert: Any) -> None:
        from processors.events import encode

        await publisher.publish([OutMessage(ALERTS, alert.kind.encode(), encode(alert))])

    watchdog = Watchdog(app, health, worker=worker, exit_on_stall=settings.watchdog_exit, send_alert=send_alert,
                        exit_now=lambda code: hard_exit(code, lambda: producer.flush(3.0)))

    @app.timer(interval=settings.watchdog_interval_s)
    async def watch() -> None:
        await watchdog.check()

    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "worker": worker, "role": "learner"})

    @app.page("/ready")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            verdict = health.evaluate()
            return self.json({"ready": verdict.ready, "reasons": list(verdict.reasons)},
                             status=200 if verdict.ready else 503)

    @app.page("/learner")
    class Status(View):
        async def get(self, request: Request) -> Response:
            s = stage.session
            w = s.metrics.windowed()
            runner = stage.state.runner
            return self.json({"base": stage.state.base.version, "published": stage.state.published.version,
                              "learned": s.learner.learned, "window": w.to_dict(), "alarms": len(s.alarms),
                              "pending": stage.store.pending(), "cuts": stage.state.cuts,
                              "experiment": runner.record().model_dump(mode="json") if runner else None})

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    protect_web(app, settings)
    return app


def run_learner(settings: Settings, loglevel: str = "info") -> int:
    """Blocking: learn until SIGINT/SIGTERM. Returns the exit code."""
    settings = resolve_bootstrap(settings)
    provision_topics(settings.kafka)
    app, parts = build_learner(settings)
    worker = BoundedWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False, stdout=sys.stdout,
                           shutdown_timeout_s=settings.shutdown_timeout_s)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        for part in parts:
            (getattr(part, "stop", None) or getattr(part, "close"))()
    return 0
