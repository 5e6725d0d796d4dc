"""Start one stream worker: resolve the broker, provision topics, load the real parts, run Faust."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

import faust
import numpy as np

from inference.base import Embedder
from inference.batcher import EmbeddingBatcher
from inference.cache import wrap_with_cache
from inference.factory import create_embedder
from infra.kafka.admin import create_topics
from infra.kafka.connect import resolve_bootstrap
from infra.errors import AssayError, ConfigError
from infra.kafka.topics import MODELS, topic_specs
from infra.qdrant.factory import open_store
from infra.settings import Settings
from processors.quality.scorers import BaselineScorer, LearnedScorer, QualityScorer
from streams.app import create_app
from streams.pipeline import register_pipeline
from schemas.models import ModelPromotion
from streams.model_updates import ModelWatcher
from streams.runtime import PipelineRuntime
from streams.topics import faust_topics
from streams.web import register_web

log = logging.getLogger(__name__)

WORKER_STATE = "worker.json"


class LazyBatcher:
    """Starts the batcher on first use, inside the worker's event loop."""

    def __init__(self, batcher: EmbeddingBatcher) -> None:
        self._batcher = batcher
        self._started = False

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not self._started:
            self._started = True
            await self._batcher.start()
        return await self._batcher.embed(texts)

    async def stop(self) -> None:
        if self._started:
            await self._batcher.stop()


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


def build_runtime(settings: Settings, embedder: Embedder | None = None) -> PipelineRuntime:
    """The worker's real parts: embedder behind a batcher, the vector store for its variant, the quality model."""
    embedder = wrap_with_cache(embedder or create_embedder(settings.inference, settings.models_dir), settings.redis)
    store = open_store(settings, embedder.variant.dim, embedder.variant.id)
    batcher = EmbeddingBatcher.from_settings(embedder, settings.inference)
    try:
        scorer = load_quality_scorer(settings)
    except AssayError as exc:
        log.warning("no learned quality model (%s); scoring with the baseline heuristic", exc)
        scorer = BaselineScorer()
    return PipelineRuntime(settings, store, LazyBatcher(batcher), embedder.variant.id, scorer)


def start_model_watcher(settings: Settings, runtime: PipelineRuntime) -> ModelWatcher:
    """Follow promotions on the models topic for the lifetime of the worker."""
    topic = topic_specs(settings.kafka)[MODELS].name

    def load(promotion: ModelPromotion) -> QualityScorer:
        return load_quality_scorer(settings, promotion.version, promotion.checksum)

    def apply(_promotion: ModelPromotion, scorer: QualityScorer) -> None:
        runtime.swap_quality(scorer)

    watcher = ModelWatcher(settings.kafka.librdkafka_config(), topic, load, apply)
    watcher.start()
    return watcher


def build_app(settings: Settings, runtime: PipelineRuntime) -> faust.App:
    app = create_app(settings)
    topics = faust_topics(app, settings.kafka)
    register_pipeline(app, runtime, topics)
    register_web(app, runtime)
    return app


def run_worker(settings: Settings, loglevel: str = "info") -> int:
    """Blocking: run until SIGINT/SIGTERM. Returns the exit code."""
    settings = resolve_bootstrap(settings)
    create_topics(settings.kafka.librdkafka_config(), topic_specs(settings.kafka).values(),
                  settings.kafka.replication_factor)
    runtime = build_runtime(settings)
    watcher = start_model_watcher(settings, runtime)
    app = build_app(settings, runtime)
    state = settings.data_dir / WORKER_STATE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"url": f"http://{settings.web_host}:{settings.web_port}", "pid": os.getpid()}))
    log.info("worker %s: embedding %s, quality %s, web http://%s:%s", runtime.worker, runtime.embedding_variant,
             runtime.quality.model_version, settings.web_host, settings.web_port)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False, stdout=sys.stdout)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # Faust exits through sys.exit
        return int(exc.code or 0)
    finally:
        watcher.stop()
        runtime.store.close()
        if state.exists():
            try:
                if json.loads(state.read_text()).get("pid") == os.getpid():
                    state.unlink()
            except (OSError, ValueError):
                pass
    return 0


def worker_url(data_dir: Path) -> str | None:
    """The HTTP API of a worker running on this data dir, if one announced itself."""
    try:
        state = json.loads((data_dir / WORKER_STATE).read_text())
        os.kill(int(state["pid"]), 0)
        return state["url"]
    except (OSError, ValueError, KeyError):
        return None
