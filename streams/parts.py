"""What one worker process holds: its parts by role, and the embedding batcher started on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from inference.batcher import EmbeddingBatcher
from infra.kafka.producer import AsyncProducer
from infra.qdrant.base import VectorStore
from infra.settings import Settings
from streams.agents import Stages
from streams.experiments import ExperimentWatcher
from streams.health import WorkerHealth
from streams.model_updates import ModelWatcher
from streams.publish import Publisher


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


def default_worker_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerParts:
    """Everything one worker process holds, by role."""

    settings: Settings
    worker: str
    health: WorkerHealth
    producer: AsyncProducer
    publisher: Publisher
    embedder: LazyBatcher
    embedding_variant: str
    stages: Stages
    store: VectorStore | None = None
    watcher: ModelWatcher | None = None
    experiments: ExperimentWatcher | None = None

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.experiments is not None:
            self.experiments.stop()
        self.producer.close()
        if self.store is not None:
            self.store.close()
