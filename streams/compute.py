"""The document stage: one micro-batch of ``sources.raw`` in, the messages it causes out.

The rules are pure (:mod:`processors.outcomes`, :mod:`processors.events`); this module runs them
in order and supplies what they need from the real parts:

1. validate and supersede (a thread);
2. the quality model's document embeddings, then scores, the gate and extraction (a thread);
3. one vector per pattern: reused from the store when it already holds these exact points (same
   content and models), otherwise from the embedding service, the whole batch at once;
4. :func:`processors.events.compute_messages`: a ``points.pending`` record per source for the
   indexer, dead letters and metrics for the rest.

Outages are waited out (:func:`streams.retry.retry_transient`). A failure that is not an outage
is isolated: the batch's texts are embedded again one document at a time and only a document
that still fails is dead-lettered (stage ``embed``), so a poison document cannot stall its
partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from infra.settings import Settings
from processors.events import compute_messages
from processors.outcomes import (Candidate, Deleted, Embedded, Extracted, Final, Gated, Rejected, Scored,
                                 Superseded, decide_input, embedded, extract, gate, reusable_vectors, supersede)
from processors.patterns import extract_patterns
from processors.quality.scorers import BaselineScorer, QualityScorer
from processors.results import Rejection
from schemas.messages import InputMessage, OutMessage
from schemas.metrics import ExperimentScores
from schemas.points import StoredPoint
from streams import metrics
from streams.experiments import ActiveExperiment
from streams.retry import retry_transient

log = logging.getLogger(__name__)


class EmbedService(Protocol):
    """What the stages need from inference: the batcher in-process, or a remote client."""

    async def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class StoreReader(Protocol):
    """Read access to the vector store, where this process has it (to reuse unchanged vectors)."""

    def points_of_source(self, source_id: str, with_vectors: bool = False) -> list[StoredPoint]: ...


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class ComputeStage:
    """Runs document batches with one worker's embedding service, quality scorer and (optional) store reader."""

    def __init__(self, settings: Settings, embedder: EmbedService, embedding_variant: str, worker: str,
                 quality: QualityScorer | None = None, reader: StoreReader | None = None,
                 max_dlq_bytes: int = 1_000_000,
                 experiment: Callable[[], ActiveExperiment | None] | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.embedding_variant = embedding_variant
        self.worker = worker
        self.quality: QualityScorer = quality or BaselineScorer()
        self.reader = reader
        self.max_dlq_bytes = max_dlq_bytes
        self.experiment = experiment or (lambda: None)

    def swap_quality(self, scorer: QualityScorer) -> None:
        """Use ``scorer`` from the next micro-batch on (one reference assignment: atomic)."""
        self.quality = scorer

    def model_versions(self, quality_version: str | None) -> dict[str, str]:
        versions = {"embedding": self.embedding_variant}
        if quality_version is not None:
            versions["quality"] = quality_version
        return versions

    async def process(self, messages: Sequence[InputMessage]) -> list[OutMessage]:
        """One micro-batch; returns every message to publish before its inputs are acked."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        scorer = self.quality  # read once: the whole batch is scored by one model version
        experiment = self.experiment()  # and sees one experiment state
        batch_ms: dict[str, float] = {}

        t = time.perf_counter()
        decisions = await loop.run_in_executor(None, self._decide, list(messages))
        positions = [i for i, d in enumerate(decisions) if isinstance(d, Candidate)]
        candidates = [decisions[i] for i in positions]
        doc_vectors = await self._embed_for_quality(scorer, candidates, experiment)
        steps = await loop.run_in_executor(None, self._score_and_extract, scorer, candidates, doc_vectors, experiment)
        stepped = dict(zip(positions, steps))
        batch_ms["prepare"] = _ms(t)

        t = time.perf_counter()
        extracted = [s for s in stepped.values() if isinstance(s, Extracted)]
        done, texts_embedded = await self._embed(extracted)
        batch_ms["embed"] = _ms(t)

        finals: list[Final] = []
        for i, d in enumerate(decisions):
            outcome = stepped.get(i, d)
            if isinstance(outcome, Extracted):
                outcome = done[id(outcome)]
            assert isinstance(outcome, (Rejected, Deleted, Superseded, Gated, Embedded)), outcome
            finals.append(outcome)
        batch_ms["total"] = _ms(started)
        for stage, ms in batch_ms.items():
            metrics.STAGE_SECONDS.labels(stage=stage).observe(ms / 1000)
        metrics.BATCH_DOCUMENTS.observe(len(finals))
        for final in finals:  # the indexer counts the outcomes it decides
            if isinstance(final, (Rejected, Superseded)):
                metrics.DOCUMENTS.labels(outcome=type(final).__name__.lower()).inc()
            if isinstance(final, Rejected):
                metrics.DEAD_LETTERS.labels(stage=final.rejection.stage, error_class=final.rejection.error_class).inc()
        return compute_messages(finals, embedding_variant=self.embedding_variant, worker=self.worker,
                                max_dlq_bytes=self.max_dlq_bytes, batch_ms=batch_ms, texts_embedded=texts_embedded)

    # -- 1. validate -----------------------------------------------------------------------------

    def _decide(self, messages: list[InputMessage]) -> list[Any]:
        return supersede([decide_input(m, max_bytes=self.settings.max_document_bytes) for m in messages])

    # -- 2. quality, gate, extraction ------------------------------------------------------------

    async def _embed_for_quality(self, scorer: QualityScorer, candidates: list[Candidate],
                                 experiment: ActiveExperiment | None = None) -> list[np.ndarray | None]:
        """The quality model reads each document's own embedding (its first tokens)."""
        vectors: list[np.ndarray | None] = [None] * len(candidates)
        scorers = [scorer] if experiment is None else [scorer, experiment.scorer]
        todo = [i for i, c in enumerate(candidates) if any(s.wants_embedding(c.doc) for s in scorers)]
        if not todo:
            return vectors
        texts = [scorer.embedding_text(candidates[i].doc) for i in todo]
        t = time.perf_counter()
        try:
            embedded_docs = await retry_transient(lambda: self.embedder.embed(texts), stage="quality_embed",
                                                  max_backoff_s=self.settings.retry_max_backoff_s)
        except Exception as exc:  # noqa: BLE001 - the model still scores from text features alone
            log.warning("quality embeddings failed (%s); scoring from text features only", exc)
            return vectors
        ms = _ms(t) / len(todo)
        for i, vec in zip(todo, embedded_docs):
            vectors[i] = vec
            c = candidates[i]
            candidates[i] = Candidate(c.msg, c.doc, {**c.stage_ms, "quality_embed": round(ms, 3)})
        return vectors

    def _score_and_extract(self, scorer: QualityScorer, candidates: list[Candidate],
                           doc_vectors: list[np.ndarray | None],
                           experiment: ActiveExperiment | None = None) -> list[Rejected | Gated | Extracted]:
        """One outcome per candidate, in order. While an experiment runs, documents its candidate
        scores are scored by both versions; the candidate's score is served in its arm."""
        if not candidates:
            return []
        t = time.perf_counter()
        docs = [c.doc for c in candidates]
        qualities = scorer.score_many(docs, doc_vectors)
        both: dict[int, ExperimentScores] = {}
        if experiment is not None:
            mine = [i for i, d in enumerate(docs) if experiment.scorer.wants_embedding(d)]
            theirs = experiment.scorer.score_many([docs[i] for i in mine], [doc_vectors[i] for i in mine])
            exp_id = experiment.record.experiment_id
            for i, q in zip(mine, theirs):
                arm = "candidate" if experiment.serves_candidate(docs[i].id) else "control"
                both[i] = ExperimentScores(experiment_id=exp_id, arm=arm, control=qualities[i].score, candidate=q.score)
                if arm == "candidate":
                    qualities[i] = q
        ms = (time.perf_counter() - t) * 1000 / len(candidates)
        steps = [gate(c, q, self.settings.quality_threshold, ms, both.get(i))
                 for i, (c, q) in enumerate(zip(candidates, qualities))]
        out = [extract(step, extract_patterns) if isinstance(step, Scored) else step for step in steps]
        for step in out:
            for failure in step.failures if isinstance(step, Extracted) else ():
                log.error("document %s: detector %s failed: %s", failure.document_id, failure.detector, failure.error)
                metrics.DETECTOR_FAILURES.labels(detector=failure.detector).inc()
        return out

    # -- 3. vectors --------------------------------------------------------------------------------

    async def _embed(self, xs: list[Extracted]) -> tuple[dict[int, Embedded | Rejected], int]:
        done: dict[int, Embedded | Rejected] = {}
        todo: list[Extracted] = []
        for x in xs:
            reused = await self._reuse(x)
            if reused is not None:
                done[id(x)] = embedded(x, reused, reused=True)
            elif x.patterns:
                todo.append(x)
            else:
                done[id(x)] = embedded(x, np.zeros((0, 0), dtype=np.float32), reused=False)
        texts = [p.text for x in todo for p in x.patterns]
        if not texts:
            return done, 0
        t = time.perf_counter()
        try:
            vectors = await retry_transient(lambda: self.embedder.embed(texts), stage="embed",
                                            max_backoff_s=self.settings.retry_max_backoff_s)
        except Exception as exc:  # noqa: BLE001 - not an outage: find the document that causes it
            log.warning("embedding a batch of %d texts failed (%s); trying each document alone", len(texts), exc)
            for x in todo:
                done[id(x)] = await self._embed_alone(x)
            return done, len(texts)
        per_text = _ms(t) / len(texts)
        offset = 0
        for x in todo:
            n = len(x.patterns)
            done[id(x)] = embedded(x, vectors[offset: offset + n], reused=False, embed_ms=per_text * n)
            offset += n
        return done, len(texts)

    async def _embed_alone(self, x: Extracted) -> Embedded | Rejected:
        texts = [p.text for p in x.patterns]
        try:
            vectors = await retry_transient(lambda: self.embedder.embed(texts), stage="embed",
                                            max_backoff_s=self.settings.retry_max_backoff_s)
        except Exception as exc:  # noqa: BLE001 - a poison document → DLQ
            return Rejected(x.msg, Rejection("embed", "inference_error",
                                             f"embedding failed: {type(exc).__name__}: {exc}"), x.doc.id, x.stage_ms)
        return embedded(x, vectors, reused=False)

    async def _reuse(self, x: Extracted) -> np.ndarray | None:
        if self.reader is None or not x.patterns:
            return None
        reader = self.reader
        stored = await retry_transient(lambda: asyncio.to_thread(reader.points_of_source, x.doc.id, True),
                                       stage="qdrant_lookup", max_backoff_s=self.settings.retry_max_backoff_s)
        return reusable_vectors(x.doc, x.patterns, stored, self.model_versions(x.quality.model_version))
