"""Build the output records of one document: Qdrant payloads and enriched-pattern events."""

from __future__ import annotations

import time
from typing import Any

from processors.ids import point_id
from schemas.documents import Document
from schemas.patterns import EnrichedPattern, PatternRecord, QualityScore


def point_payload(doc: Document, pattern: PatternRecord, quality: QualityScore,
                  model_versions: dict[str, str]) -> dict[str, Any]:
    """What a Qdrant point carries: enough to answer a search without another lookup."""
    return {
        "source_id": doc.id,
        "source_version": doc.version,
        "uri": doc.uri,
        "set_id": doc.set_id,
        "doc_type": doc.type.value,
        "pattern_id": pattern.key,
        "kind": pattern.kind,
        "name": pattern.name,
        "span": pattern.span.model_dump(),
        "text": pattern.text,
        "language": pattern.language or doc.language,
        "tags": [t.model_dump() for t in pattern.tags],
        "quality": quality.score,
        "quality_label": quality.label,
        "model_versions": model_versions,
        "extractor": pattern.extractor,
    }


def upsert_event(doc: Document, pattern: PatternRecord, quality: QualityScore,
                 model_versions: dict[str, str]) -> EnrichedPattern:
    return EnrichedPattern(
        event="upsert",
        source_id=doc.id,
        source_version=doc.version,
        uri=doc.uri,
        set_id=doc.set_id,
        doc_type=doc.type.value,
        pattern_id=pattern.key,
        point_id=point_id(doc.id, pattern.key),
        kind=pattern.kind,
        name=pattern.name,
        span=pattern.span,
        text=pattern.text,
        language=pattern.language or doc.language,
        tags=pattern.tags,
        quality=quality,
        model_versions=model_versions,
        extractor=pattern.extractor,
        emitted_at=time.time(),
    )


def delete_event(source_id: str, point: str, payload: dict[str, Any], reason: str,
                 new_version: str | None = None) -> EnrichedPattern:
    """A removed pattern: the ids a subscriber needs to drop it, and why."""
    return EnrichedPattern(
        event="delete",
        source_id=source_id,
        source_version=new_version or payload.get("source_version") or "",
        uri=payload.get("uri"),
        set_id=payload.get("set_id"),
        doc_type=payload.get("doc_type"),
        pattern_id=payload.get("pattern_id") or "",
        point_id=point,
        kind=payload.get("kind"),
        name=payload.get("name"),
        reason=reason,
        emitted_at=time.time(),
    )
