"""One micro-batch through the pipeline: decide, embed, write to Qdrant, build the output messages.

The agent (``streams.pipeline``) hands a batch of input messages to ``PipelineRuntime.process``
and gets back every message it must send. The order of effects is what makes replays safe:

1. pure work (validate → quality → gate → extract) runs off the event loop;
2. embeddings for the batch's new patterns come from the shared batcher;
3. points are upserted (deterministic ids: a replay overwrites) and only then stale points of
   the same sources are removed;
4. the agent sends the outputs, waits for the broker's acks, and only then acks the inputs,
   so their offsets are committed after everything they caused is durable.

Qdrant failures are retried until they succeed (nothing is committed meanwhile). Embedding
failures are retried a few times, then each document is tried alone and one that still fails
is dead-lettered, so a poison document cannot stall its partition.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np
import orjson

from infra.qdrant.base import PointRecord, VectorStore
from infra.settings import Settings
from processors.dead_letters import dead_letter
from processors.enrich import delete_event, point_payload, upsert_event
from processors.ids import point_id
from processors.patterns import extract_patterns
from processors.quality.baseline import score_quality
from processors.results import Rejection
from processors.validate import parse_document, source_id_from_key
from schemas.documents import Document, DocumentType
from schemas.metrics import BatchMetric, DocumentMetric
from schemas.patterns import PatternRecord, QualityScore
from schemas.sets import SetMemberUpdate
from schemas.structure import StructureSummary
from streams import metrics
from streams.retry import with_backoff

log = logging.getLogger(__name__)

EMBED_ATTEMPTS = 4
UPSERT_CHUNK = 256


class QualityScorer(Protocol):
    """The quality stage: the baseline heuristic or a learned model from the registry."""

    model_version: str
    needs_embedding: bool

    def embedding_text(self, doc: Document) -> str: ...

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore: ...

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]: ...


class BaselineScorer:
    """The documented heuristic (``processors.quality.baseline``); needs no embedding."""

    model_version = "baseline-1.0.0"
    needs_embedding = False

    def embedding_text(self, doc: Document) -> str:
        return doc.content

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        return score_quality(doc)

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        return [score_quality(d) for d in docs]


class LearnedScorer:
    """A registry model (``processors.quality.model.QualityModel``) that reads the document embedding.

    It scores the document types its training data resembles; the others keep the baseline. The
    default model learned from Stack Overflow questions and is not validated on source code
    (1.1.0 gates 4 of 200 stdlib modules at the default threshold; an early build scored them
    1.6–1.9). Each QualityScore names the model that produced it.
    """

    needs_embedding = True

    def __init__(self, model: Any, types: frozenset[str] = frozenset({"documentation", "general"}),
                 explain_top: int = 0) -> None:
        self.model = model
        self.types = types
        self.explain_top = explain_top
        self.model_version = model.model_version
        self._baseline = BaselineScorer()

    def embedding_text(self, doc: Document) -> str:
        return self.model.embedding_text(doc)

    def score(self, doc: Document, embedding: np.ndarray | None = None) -> QualityScore:
        if doc.type.value not in self.types:
            return self._baseline.score(doc)
        return self.model.score(doc, embedding, explain_top=self.explain_top)

    def score_many(self, docs: Sequence[Document], embeddings: Sequence[np.ndarray | None]) -> list[QualityScore]:
        """Score a batch: a model with a fine-tuned half runs it once over all its documents."""
        mine = [i for i, d in enumerate(docs) if d.type.value in self.types]
        out = [self._baseline.score(d) if d.type.value not in self.types else None for d in docs]
        for i, q in zip(mine, self.model.score_many([docs[i] for i in mine], [embeddings[i] for i in mine],
                                                    explain_top=self.explain_top)):
            out[i] = q
        return out  # type: ignore[return-value]


class EmbedService(Protocol):
    """What the runtime needs from inference: the batcher in-process, or a remote client."""

    async def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class InputMessage:
    """A consumed message, independent of the Kafka client that read it."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None


@dataclass
class Outputs:
    """Everything one batch must publish, as (key, value) bytes per topic role."""

    enriched: list[tuple[bytes, bytes]] = field(default_factory=list)
    metrics: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    set_members: list[tuple[bytes, bytes]] = field(default_factory=list)  # to sets.members, keyed by set id


@dataclass
class _Plan:
    """What happens to one input message; filled in as the batch moves through the stages."""

    msg: InputMessage
    action: str  # reject | delete | gate | index | superseded
    source_id: str | None = None
    doc: Document | None = None
    quality: QualityScore | None = None
    patterns: list[PatternRecord] = field(default_factory=list)
    rejection: Rejection | None = None
    stage_ms: dict[str, float] = field(default_factory=dict)
    existing: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unchanged: bool = False
    vectors: np.ndarray | None = None
    stale: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # removed (point id, payload)
    summary: StructureSummary | None = None  # structural summary of a code document in a set


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PipelineRuntime:
    """Holds the real parts one worker uses (vector store, embedding service) and runs batches."""

    def __init__(self, settings: Settings, store: VectorStore, embedder: EmbedService,
                 embedding_variant: str, quality: QualityScorer | None = None) -> None:
        self.settings = settings
        self.quality: QualityScorer = quality or BaselineScorer()
        self.store = store
        self.embedder = embedder
        self.embedding_variant = embedding_variant
        self.worker = settings.worker_name or default_worker_name()
        self._writes_since_optimize = 0

    def model_versions(self, quality: QualityScore | None) -> dict[str, str]:
        versions = {"embedding": self.embedding_variant}
        if quality is not None:
            versions["quality"] = quality.model_version
        return versions

    async def process(self, messages: Sequence[InputMessage]) -> Outputs:
        """Run one micro-batch; returns the messages to publish before acking the inputs."""
        started = time.perf_counter()
        batch_ms: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        scorer = self.quality  # read once: the whole batch is scored by one model version

        t = time.perf_counter()
        plans = await loop.run_in_executor(None, self._validate_all, list(messages))
        doc_vectors = await self._embed_for_quality(scorer, plans)
        await loop.run_in_executor(None, self._score_and_extract, scorer, plans, doc_vectors)
        batch_ms["prepare"] = _ms(t)

        t = time.perf_counter()
        await self._load_existing(plans)
        batch_ms["lookup"] = _ms(t)

        t = time.perf_counter()
        texts_embedded = await self._embed(plans)
        batch_ms["embed"] = _ms(t)

        t = time.perf_counter()
        await self._write(plans)
        batch_ms["store"] = _ms(t)
        batch_ms["total"] = _ms(started)

        for stage, ms in batch_ms.items():
            metrics.STAGE_SECONDS.labels(stage=stage).observe(ms / 1000)
        metrics.BATCH_DOCUMENTS.observe(len(plans))
        return self._outputs(plans, batch_ms, texts_embedded)

    def swap_quality(self, scorer: QualityScorer) -> None:
        """Use ``scorer`` from the next micro-batch on (one reference assignment: atomic)."""
        self.quality = scorer

    # -- stage 1: pure work, in a thread (plus one embedding per document for the quality model)

    def _validate_all(self, messages: list[InputMessage]) -> list[_Plan]:
        plans = [self._validate(m) for m in messages]
        # Within one batch only the last message of a source counts; earlier ones are reported.
        last: dict[str, int] = {}
        for i, plan in enumerate(plans):
            if plan.source_id is not None and plan.action != "reject":
                last[plan.source_id] = i
        for i, plan in enumerate(plans):
            if plan.source_id is not None and plan.action != "reject" and last[plan.source_id] != i:
                plan.action = "superseded"
        return plans

    def _validate(self, msg: InputMessage) -> _Plan:
        if msg.value is None:
            sid = source_id_from_key(msg.key)
            if sid is None:
                rej = Rejection("validate", "tombstone_without_key",
                                "null value (tombstone) without a key: cannot tell which source was deleted")
                return _Plan(msg, "reject", rejection=rej)
            return _Plan(msg, "delete", source_id=sid)
        t = time.perf_counter()
        parsed = parse_document(msg.value, msg.key, max_bytes=self.settings.max_document_bytes)
        stage_ms = {"validate": _ms(t)}
        if isinstance(parsed, Rejection):
            # The key (if any) names the source in metrics; it never drives store changes.
            return _Plan(msg, "reject", source_id=source_id_from_key(msg.key), rejection=parsed, stage_ms=stage_ms)
        return _Plan(msg, "index", source_id=parsed.id, doc=parsed, stage_ms=stage_ms)

    async def _embed_for_quality(self, scorer: QualityScorer, plans: list[_Plan]) -> list[np.ndarray | None]:
        """The quality model reads each document's own embedding (its first tokens)."""
        vectors: list[np.ndarray | None] = [None] * len(plans)
        if not scorer.needs_embedding:
            return vectors
        types = getattr(scorer, "types", None)
        todo = [i for i, p in enumerate(plans)
                if p.action == "index" and p.doc is not None and (types is None or p.doc.type.value in types)]
        if not todo:
            return vectors
        t = time.perf_counter()
        texts = [scorer.embedding_text(plans[i].doc) for i in todo]  # type: ignore[arg-type]
        try:
            embedded = await _retry_embed(self.embedder, texts, self.settings.retry_max_backoff_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model still scores from text features alone
            log.warning("quality embeddings failed (%s); scoring from text features only", exc)
            return vectors
        ms = _ms(t) / len(todo)
        for i, vec in zip(todo, embedded):
            vectors[i] = vec
            plans[i].stage_ms["quality_embed"] = round(ms, 3)
        return vectors

    def _score_and_extract(self, scorer: QualityScorer, plans: list[_Plan],
                           doc_vectors: list[np.ndarray | None]) -> None:
        scored = [i for i, p in enumerate(plans) if p.action in ("index", "superseded")]
        if scored:
            t = time.perf_counter()
            qualities = scorer.score_many([plans[i].doc for i in scored], [doc_vectors[i] for i in scored])
            ms = _ms(t) / len(scored)
            for i, q in zip(scored, qualities):
                plans[i].quality = q
                plans[i].stage_ms["quality"] = round(ms, 3)
        for plan in plans:
            if plan.action not in ("index", "superseded"):
                continue
            assert plan.doc is not None and plan.quality is not None
            if plan.action == "superseded":
                continue
            if plan.quality.score < self.settings.quality_threshold:
                plan.action = "gate"
                continue
            t = time.perf_counter()
            try:
                found = extract_patterns(plan.doc)
                plan.patterns = list(found.patterns)
                plan.summary = found.summary if plan.doc.set_id and plan.doc.type == DocumentType.code else None
                for failure in found.failures:
                    metrics.DETECTOR_FAILURES.labels(detector=failure.detector).inc()
            except Exception as exc:  # noqa: BLE001 - extractors must not crash the worker
                log.exception("extractor failed on %s", plan.doc.id)
                plan.action = "reject"
                plan.rejection = Rejection("extract", "extractor_error", f"{type(exc).__name__}: {exc}")
            plan.stage_ms["extract"] = _ms(t)

    # -- stage 2: what the store already holds ------------------------------------------

    async def _load_existing(self, plans: list[_Plan]) -> None:
        for plan in plans:
            if plan.action not in ("delete", "gate", "index"):
                continue
            sid = plan.source_id
            assert sid is not None
            plan.existing = await self.points_of_source(sid)
            if plan.action == "index":
                plan.unchanged = self._is_unchanged(plan)

    def _is_unchanged(self, plan: _Plan) -> bool:
        """Same content, same models, same points: a replay or a re-produce; skip the model."""
        assert plan.doc is not None
        new_ids = {point_id(plan.doc.id, p.key) for p in plan.patterns}
        if not new_ids or new_ids != {pid for pid, _ in plan.existing}:
            return False
        versions = self.model_versions(plan.quality)
        return all(
            payload.get("source_version") == plan.doc.version and payload.get("model_versions") == versions
            for _, payload in plan.existing
        )

    # -- stage 3: embeddings --------------------------------------------------------------

    async def _embed(self, plans: list[_Plan]) -> int:
        todo = [p for p in plans if p.action == "index" and p.patterns and not p.unchanged]
        texts = [pat.text for p in todo for pat in p.patterns]
        if not texts:
            return 0
        try:
            vectors = await _retry_embed(self.embedder, texts, self.settings.retry_max_backoff_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("embedding a batch of %d texts failed (%s); trying each document alone", len(texts), exc)
            for plan in todo:
                try:
                    plan.vectors = await _retry_embed(self.embedder, [x.text for x in plan.patterns],
                                                      self.settings.retry_max_backoff_s, attempts=2)
                except asyncio.CancelledError:
                    raise
                except Exception as doc_exc:  # noqa: BLE001 - poison document → DLQ
                    plan.action = "reject"
                    plan.rejection = Rejection("embed", "inference_error",
                                               f"embedding failed after retries: {type(doc_exc).__name__}: {doc_exc}")
            return len(texts)
        offset = 0
        for plan in todo:
            n = len(plan.patterns)
            plan.vectors = vectors[offset: offset + n]
            offset += n
        return len(texts)

    # -- stage 4: Qdrant ------------------------------------------------------------------

    async def _write(self, plans: list[_Plan]) -> None:
        points: list[PointRecord] = []
        for plan in plans:
            if plan.action == "index" and not plan.unchanged and plan.vectors is not None:
                assert plan.doc is not None and plan.quality is not None
                versions = self.model_versions(plan.quality)
                for pattern, vec in zip(plan.patterns, plan.vectors):
                    points.append(PointRecord(point_id(plan.doc.id, pattern.key), vec.tolist(),
                                              point_payload(plan.doc, pattern, plan.quality, versions)))
        await self.upsert_points(points)

        # Stale points go only after the new ones are in: a search never sees a gap.
        stale_ids: list[str] = []
        for plan in plans:
            if plan.action not in ("index", "gate", "delete"):
                continue
            keep = set()
            if plan.action == "index" and plan.doc is not None:
                keep = {point_id(plan.doc.id, p.key) for p in plan.patterns}
            plan.stale = [(pid, payload) for pid, payload in plan.existing if pid not in keep]
            stale_ids.extend(pid for pid, _ in plan.stale)
        await self.delete_points(stale_ids)

    # -- the store, for this runtime and the set stage (retried until it succeeds, counted) --

    async def points_of_source(self, source_id: str) -> list[tuple[str, dict[str, Any]]]:
        return await self._store_op("lookup", lambda: self.store.points_of_source(source_id))

    async def upsert_points(self, points: list[PointRecord]) -> None:
        for i in range(0, len(points), UPSERT_CHUNK):
            chunk = points[i: i + UPSERT_CHUNK]
            await self._store_op("upsert", lambda: self.store.upsert(chunk))
        metrics.PATTERNS_INDEXED.inc(len(points))
        self._writes_since_optimize += len(points)

    async def delete_points(self, ids: list[str]) -> None:
        if ids:
            await self._store_op("delete", lambda: self.store.delete(ids))
            metrics.PATTERNS_DELETED.inc(len(ids))

    async def optimize_if_written(self, min_writes: int) -> bool:
        """Build the store's index once enough was written (Edge only indexes when asked)."""
        if self._writes_since_optimize < min_writes:
            return False
        self._writes_since_optimize = 0
        started = time.perf_counter()
        await asyncio.to_thread(self.store.optimize)
        metrics.STAGE_SECONDS.labels(stage="optimize").observe(time.perf_counter() - started)
        return True

    async def _store_op(self, stage: str, fn: Any) -> Any:
        return await with_backoff(lambda: asyncio.to_thread(fn), stage=f"qdrant_{stage}",
                                  max_backoff_s=self.settings.retry_max_backoff_s)

    # -- stage 5: output messages ----------------------------------------------------------

    def _outputs(self, plans: list[_Plan], batch_ms: dict[str, float], texts_embedded: int) -> Outputs:
        out = Outputs()
        now = time.time()
        counts = {"rejected": 0, "gated": 0, "deleted": 0, "patterns": 0}
        for plan in plans:
            msg = plan.msg
            outcome, reason = self._outcome(plan)
            metrics.DOCUMENTS.labels(outcome=outcome).inc()
            if plan.action == "reject":
                assert plan.rejection is not None
                counts["rejected"] += 1
                dl = dead_letter(plan.rejection, key=msg.key, value=msg.value, headers=msg.headers,
                                 topic=msg.topic, partition=msg.partition, offset=msg.offset,
                                 timestamp_ms=msg.timestamp_ms, worker=self.worker)
                metrics.DEAD_LETTERS.labels(stage=dl.stage, error_class=dl.error_class).inc()
                out.dead_letters.append((msg.key, _json(dl)))
            versions = self.model_versions(plan.quality)
            if plan.action == "index" and plan.doc is not None and plan.quality is not None:
                for pattern in plan.patterns:
                    ev = upsert_event(plan.doc, pattern, plan.quality, versions)
                    out.enriched.append((ev.point_id.encode(), _json(ev)))
                counts["patterns"] += len(plan.patterns)
            if plan.stale:
                assert plan.source_id is not None
                del_reason = {"index": "content_changed", "gate": "below_quality_gate",
                              "delete": "source_deleted"}[plan.action]
                new_version = plan.doc.version if plan.doc is not None else None
                for pid, payload in plan.stale:
                    ev = delete_event(plan.source_id, pid, payload, del_reason, new_version)
                    out.enriched.append((pid.encode(), _json(ev)))
            for set_id, update in self._set_updates(plan, now):
                out.set_members.append((set_id.encode("utf-8", "surrogatepass"), _json(update)))
            counts["gated"] += plan.action == "gate"
            counts["deleted"] += plan.action == "delete"
            doc_metric = DocumentMetric(
                source_id=plan.source_id,
                source_version=plan.doc.version if plan.doc else None,
                doc_type=plan.doc.type.value if plan.doc else None,
                outcome=outcome,
                reason=reason,
                patterns=len(plan.patterns) if plan.action == "index" else 0,
                stale_removed=len(plan.stale),
                bytes=len(msg.value or b""),
                quality=plan.quality.score if plan.quality else None,
                quality_label=plan.quality.label if plan.quality else None,
                model_versions=versions,
                stage_ms=plan.stage_ms,
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                worker=self.worker,
                emitted_at=now,
            )
            out.metrics.append((msg.key, _json(doc_metric)))
        batch_metric = BatchMetric(
            documents=len(plans), rejected=counts["rejected"], gated=counts["gated"], deleted=counts["deleted"],
            patterns=counts["patterns"], texts_embedded=texts_embedded, stage_ms=batch_ms,
            model_versions={"embedding": self.embedding_variant}, worker=self.worker, emitted_at=now,
        )
        out.metrics.append((None, _json(batch_metric)))
        return out

    @staticmethod
    def _set_updates(plan: _Plan, now: float) -> list[tuple[str, SetMemberUpdate]]:
        """Membership changes for the set agent: joined/changed (with summary) or left (without).

        Sent for unchanged replays too: a crash after the store write but before publishing must
        not leave the set without its member. The set agent treats repeats as no-ops.
        """
        if plan.action not in ("index", "gate", "delete") or plan.source_id is None:
            return []
        old_sets = {str(p["set_id"]) for _, p in plan.existing if p.get("set_id")}
        doc = plan.doc
        new_set = doc.set_id if plan.action == "index" and doc is not None and plan.summary is not None else None
        out: list[tuple[str, SetMemberUpdate]] = []
        if new_set is not None and doc is not None:
            out.append((new_set, SetMemberUpdate(
                set_id=new_set, source_id=plan.source_id, source_version=doc.version, uri=doc.uri,
                language=doc.language or (plan.summary.language if plan.summary else None),
                quality=plan.quality.score if plan.quality else None, summary=plan.summary, emitted_at=now)))
        for set_id in sorted(old_sets - {new_set} if new_set else old_sets):
            if plan.action == "gate":
                reason = "below_quality_gate"
            elif plan.action == "delete":
                reason = "source_deleted"
            else:
                reason = "moved_set" if doc is not None and doc.set_id != set_id else "no_structure"
            out.append((set_id, SetMemberUpdate(set_id=set_id, source_id=plan.source_id, reason=reason,
                                                emitted_at=now)))
        return out

    @staticmethod
    def _outcome(plan: _Plan) -> tuple[str, str | None]:
        if plan.action == "reject":
            assert plan.rejection is not None
            return "rejected", f"{plan.rejection.error_class}: {plan.rejection.reason}"
        if plan.action == "gate":
            assert plan.quality is not None
            return "gated", f"quality {plan.quality.score:.2f} below threshold"
        if plan.action == "delete":
            return "deleted", "tombstone"
        if plan.action == "superseded":
            return "superseded", "a later message of the same source in this batch replaced it"
        if plan.unchanged:
            return "unchanged", "same content and models as indexed"
        return "indexed", None


async def _retry_embed(embedder: EmbedService, texts: list[str], max_backoff_s: float,
                       attempts: int = EMBED_ATTEMPTS) -> np.ndarray:
    return await with_backoff(lambda: embedder.embed(texts), stage="embed", max_attempts=attempts,
                              max_backoff_s=max_backoff_s)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _json(model: Any) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))
