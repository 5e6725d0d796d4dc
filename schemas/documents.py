"""Input documents (topic ``sources.raw``).

``SourceDocument`` is what producers send: plain JSON, loosely typed. ``Document`` is what the
pipeline works on after validation: every field resolved (id, type, version).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DocumentType(str, Enum):
    code = "code"
    documentation = "documentation"
    architecture = "architecture"
    general = "general"


class DocumentMetadata(BaseModel):
    """Optional facts about the source; unknown keys are kept."""

    model_config = ConfigDict(extra="allow")

    source_credibility: float | None = Field(None, ge=0.0, le=1.0, description="0 (unknown/untrusted) .. 1 (authoritative)")
    published_at: datetime | None = None
    engagement: float | None = Field(None, ge=0.0, description="Views, stars, votes … any non-negative count")


class SourceDocument(BaseModel):
    """A document as produced to ``sources.raw`` (value JSON; key = source id, UTF-8)."""

    model_config = ConfigDict(extra="forbid", title="SourceDocument")

    id: str | None = Field(None, min_length=1, max_length=512, description="Source id; derived from uri or content hash when missing")
    type: str | None = Field(None, description="code | documentation | architecture | general; inferred when missing or unknown")
    content: str = Field(..., description="The document text (UTF-8), non-empty")
    uri: str | None = Field(None, max_length=2048)
    language: str | None = Field(None, max_length=64, description="Programming or natural language, e.g. python, markdown, en")
    title: str | None = Field(None, max_length=1024)
    set_id: str | None = Field(None, max_length=512, description="Groups documents produced together, e.g. one folder")
    metadata: DocumentMetadata | None = None


class DocumentInfo(BaseModel):
    """What points and events say about their source: a validated document without its content."""

    id: str
    type: DocumentType
    version: str = Field(..., description="Content hash (sha256 hex, first 16 chars)")
    uri: str | None = None
    language: str | None = None
    title: str | None = None
    set_id: str | None = None


class Document(DocumentInfo):
    """A validated document: id, type and version are always set."""

    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    type_inferred: bool = False

    def info(self) -> DocumentInfo:
        return DocumentInfo(id=self.id, type=self.type, version=self.version, uri=self.uri,
                            language=self.language, title=self.title, set_id=self.set_id)
