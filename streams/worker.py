"""Start one stream worker: resolve the broker, provision topics, load the parts its role needs, run Faust.

Roles (``assay worker --role``, ``ASSAY_WORKER_ROLE``):

* ``all`` (default): one process computes and indexes; today's single-worker deployment;
* ``compute``: validate, score, extract, embed; publish each source's points to ``points.pending``.
  Run as many as ``sources.raw`` has partitions; they share the work;
* ``index``: the one writer of the vector store. With the embedded Qdrant Edge shard run one; with
  a Qdrant server (``ASSAY_QDRANT_URL``) several may share ``points.pending``.

Don't mix ``all`` workers with ``compute`` ones on the same topics (their consumer groups would
subscribe to different topics).
"""

from __future__ import annotations

import json
import logging
import os
import sys

from pathlib import Path


import faust
import numpy as np

from inference.base import Embedder
from inference.batcher import EmbeddingBatcher
from inference.cache import wrap_with_cache
from inference.factory import create_embedder
from infra.errors import AssayError, ConfigError
from infra.kafka.connect import resolve_bootstrap
from infra.kafka.producer import AsyncProducer
from infra.kafka.provision import provision_topics
from infra.kafka.topics import ALERTS, EXPERIMENTS, MODELS, POINTS_PENDING, SET_STATE, topic_specs
from infra.qdrant.base import VectorStore
from infra.qdrant.factory import open_store
from infra.settings import Settings
from processors.events import encode
from processors.quality.scorers import BaselineScorer, LearnedScorer, QualityScorer
from schemas.alerts import Alert
from schemas.messages import OutMessage
from schemas.models import ModelPromotion
from streams.agents import Stages, register_agents
from streams.app import create_app
from streams.compute import ComputeStage
from streams.experiments import ExperimentWatcher
from streams.health import EXIT_OK, WorkerHealth
from streams.indexing import Indexer
from streams.model_updates import ModelWatcher
from streams.publish import Publisher
from streams.set_stage import ChangelogSetTable, SetStage
from streams.shutdown import BoundedWorker, hard_exit
from streams.topics import faust_topics
from streams.watchdog import Watchdog
from streams.operations import register_operations
from streams.web import WebContext
from streams.parts import LazyBatcher, WorkerParts, default_worker_name
from streams.web_auth import protect_web

log = logging.getLogger(__name__)

WORKER_STATE = "worker.json"


def load_quality_scorer(settings: Settings, version: str | None = None,
                        checksum: str | None = None) -> QualityScorer:
    """The registry's model (``version`` or current), or the baseline when configured so.

    Raises AssayError for a missing, corrupt or mismatching artifact: the caller decides whether
    that is fatal (a promotion is refused) or falls back (start-up).
    """
    if settings.quality_model == "baseline":
        return BaselineScorer()
    from processors.quality.registry import Registry

    model = Registry(settings.quality_registry_dir).load(version)
    if checksum is not None and model.manifest.get("manifest_sha256") != checksum:
        raise ConfigError(f"quality model {model.version}: artifact checksum differs from the promoted one")
    return LearnedScorer(model, explain_top=settings.quality_explain_top)


def build_parts(settings: Settings, embedder: Embedder | None = None) -> WorkerParts:
    """Open what ``settings.worker_role`` needs: the model and scorer to compute, the store to index."""
    role = settings.worker_role
    worker = settings.worker_name or default_worker_name()
    health = WorkerHealth(stall_after_s=settings.stall_after_s)
    # Every role loads the embedder: compute embeds, index answers searches, both name the store's variant.
    model = wrap_with_cache(embedder or create_embedder(settings.inference, settings.models_dir), settings.redis)
    variant = model.variant
    lazy = LazyBatcher(EmbeddingBatcher.from_settings(model, settings.inference))
    store: VectorStore | None = None
    if role in ("all", "index") or settings.qdrant.url:
        store = open_store(settings, variant.dim, variant.id)
    health.store_loaded = True
    kafka = settings.kafka
    producer = AsyncProducer(kafka.librdkafka_config(),
                             max_message_bytes=max(kafka.max_message_bytes, kafka.internal_max_message_bytes))
    specs = topic_specs(kafka)
    publisher = Publisher(producer, {role_: spec.name for role_, spec in specs.items()},
                          {POINTS_PENDING: kafka.internal_max_message_bytes}, worker,
                          default_max_bytes=kafka.max_message_bytes, max_backoff_s=settings.retry_max_backoff_s)
    stages = Stages()
    dlq_bytes = publisher.limit("sources.dlq")
    if role in ("all", "compute"):
        try:
            scorer = load_quality_scorer(settings)
        except AssayError as exc:
            log.warning("no learned quality model (%s); scoring with the baseline heuristic", exc)
            scorer = BaselineScorer()
        experiments = ExperimentWatcher(kafka.librdkafka_config(), specs[EXPERIMENTS].name,
                                        lambda version, checksum: load_quality_scorer(settings, version, checksum))
        stages.compute = ComputeStage(settings, lazy, variant.id, worker, scorer, reader=store,
                                      max_dlq_bytes=dlq_bytes, experiment=lambda: experiments.active)
        stages.set_table = ChangelogSetTable(kafka.librdkafka_config(), specs[SET_STATE].name)
        stages.sets = SetStage(settings, stages.set_table, lazy, variant.id, worker, reader=store,
                               max_dlq_bytes=dlq_bytes)
    if role in ("all", "index"):
        assert store is not None
        stages.indexer = Indexer(settings, store, worker, variant.id, max_dlq_bytes=dlq_bytes,
                                 publish=publisher.publish)
    health.model_loaded = True
    parts = WorkerParts(settings, worker, health, producer, publisher, lazy, variant.id, stages, store)
    if stages.compute is not None:
        parts.watcher = start_model_watcher(settings, stages.compute)
        parts.experiments = experiments
        experiments.start()
    return parts


def start_model_watcher(settings: Settings, compute: ComputeStage) -> ModelWatcher:
    """Follow promotions on the models topic for the lifetime of the worker."""
    topic = topic_specs(settings.kafka)[MODELS].name

    def load(promotion: ModelPromotion) -> QualityScorer:
        return load_quality_scorer(settings, promotion.version, promotion.checksum)

    def apply(_promotion: ModelPromotion, scorer: QualityScorer) -> None:
        compute.swap_quality(scorer)

    watcher = ModelWatcher(settings.kafka.librdkafka_config(), topic, load, apply)
    watcher.start()
    return watcher


def build_app(parts: WorkerParts) -> faust.App:
    settings = parts.settings
    app = create_app(settings)
    topics = faust_topics(app, settings.kafka)
    register_agents(app, settings, topics, parts.stages, parts.publisher, parts.health)

    async def send_alert(alert: Alert) -> None:
        await parts.publisher.publish([OutMessage(ALERTS, alert.kind.encode(), encode(alert))])

    def exit_now(code: int) -> None:
        hard_exit(code, lambda: parts.producer.flush(3.0))

    watchdog = Watchdog(app, parts.health, worker=parts.worker, exit_on_stall=settings.watchdog_exit,
                        send_alert=send_alert, exit_now=exit_now)

    @app.timer(interval=settings.watchdog_interval_s)
    async def watch() -> None:
        await watchdog.check()

    @app.task
    async def started() -> None:
        parts.health.started = True

    compute = parts.stages.compute

    async def embed_query(text: str) -> np.ndarray:
        return (await parts.embedder.embed([text]))[0]

    register_operations(app, parts, WebContext(
        worker=parts.worker, role=settings.worker_role, health=parts.health, embedding_variant=parts.embedding_variant,
        embed_query=embed_query, quality_version=lambda: compute.quality.model_version if compute else None,
        store=parts.store))
    protect_web(app, settings)  # the token and size caps; refuses an exposed API without a token
    return app


def run_worker(settings: Settings, loglevel: str = "info") -> int:
    """Blocking: run until SIGINT/SIGTERM (or a stall). Returns the exit code."""
    settings = resolve_bootstrap(settings)
    provision_topics(settings.kafka)  # creates them, or only checks with ASSAY_KAFKA_CREATE_TOPICS=false
    parts = build_parts(settings)
    app = build_app(parts)
    state = settings.data_dir / WORKER_STATE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if parts.store is not None:  # the API that can search: `assay search` finds it here
        state.write_text(json.dumps({"url": f"http://{settings.web_host}:{settings.web_port}", "pid": os.getpid()}))
    compute = parts.stages.compute
    log.info("worker %s (%s): embedding %s, quality %s, web http://%s:%s", parts.worker, settings.worker_role,
             parts.embedding_variant, compute.quality.model_version if compute else "-", settings.web_host,
             settings.web_port)
    worker = BoundedWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False, stdout=sys.stdout,
                           shutdown_timeout_s=settings.shutdown_timeout_s,
                           before_forced_exit=lambda: parts.producer.flush(2.0))
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # Faust exits through sys.exit
        return int(exc.code or 0)
    finally:
        parts.close()
        _forget_state(state)
    return EXIT_OK


def _forget_state(state: Path) -> None:
    if state.exists():
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass


def worker_url(data_dir: Path) -> str | None:
    """The HTTP API of a worker running on this data dir, if one announced itself."""
    try:
        state = json.loads((data_dir / WORKER_STATE).read_text())
        os.kill(int(state["pid"]), 0)
        return state["url"]
    except (OSError, ValueError, KeyError):
        return None
