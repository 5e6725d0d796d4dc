"""Patterns: what extractors produce and what ``patterns.enriched`` carries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Span(BaseModel):
    """1-based inclusive line range inside the source document."""

    start_line: int = Field(..., ge=1)
    end_line: int = Field(..., ge=1)
    section: str | None = Field(None, description="Heading path for documentation passages, e.g. 'Install > Linux'")


class PatternTag(BaseModel):
    """A detected design pattern, style or practice, with its confidence and evidence."""

    name: str
    confidence: float = Field(..., ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list)


class PatternRecord(BaseModel):
    """One extracted pattern (output of ``processors.patterns``)."""

    key: str = Field(..., description="Stable within the source; feeds the deterministic point id")
    kind: str = Field(..., description="function | class | method | module | section | passage | practice | component | …")
    name: str
    span: Span
    text: str = Field(..., description="Text to embed (describes the pattern, within the model's token limit)")
    snippet: str = Field("", description="Raw source excerpt")
    language: str | None = None
    tags: list[PatternTag] = Field(default_factory=list)
    extractor: str = Field(..., description="name/version of the extractor")


class QualityContribution(BaseModel):
    feature: str = Field(..., description="word:<term> | char:<n-gram> | stat:<name> | embedding | mlp | metadata | finetuned")
    value: float = Field(..., description="Contribution to the quality log-odds (logit HQ − logit LQ_CLOSE)")


class QualityScore(BaseModel):
    score: float = Field(..., ge=1.0, le=5.0, description="Expected quality, 1 (poor) .. 5 (excellent)")
    label: str = Field(..., description="poor | fair | good | very_good | excellent")
    model_version: str
    explanation: list[QualityContribution] | None = Field(
        None, description="Largest contributions to the score's log-odds, when ASSAY_QUALITY_EXPLAIN_TOP > 0 "
                          "and a learned model scored it (exact for its linear part)")


class EnrichedPattern(BaseModel):
    """Value on ``patterns.enriched`` (key = point_id). ``event=delete`` carries ids only."""

    event: Literal["upsert", "delete"] = "upsert"
    source_id: str
    source_version: str
    uri: str | None = None
    set_id: str | None = None
    doc_type: str | None = None
    pattern_id: str = Field(..., description="Pattern key, stable within the source")
    point_id: str = Field(..., description="Qdrant point id: UUIDv5(source_id + pattern key)")
    kind: str | None = None
    name: str | None = None
    span: Span | None = None
    text: str | None = None
    language: str | None = None
    tags: list[PatternTag] = Field(default_factory=list)
    quality: QualityScore | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    extractor: str | None = None
    reason: str | None = Field(None, description="Why a delete happened: source_deleted | content_changed | below_quality_gate")
    emitted_at: float = Field(..., description="Unix time (s)")
