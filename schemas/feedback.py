"""Labelled feedback on ``quality.feedback``: a user's or a system's verdict on a document's quality.

Either ``source_id`` (a source produced earlier: the learner finds its text) or ``content`` must be
there, and either ``label`` or ``score``. Labels may arrive hours after their document; a late
label still joins its document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

QualityLabel = Literal["HQ", "LQ_EDIT", "LQ_CLOSE"]


class Feedback(BaseModel):
    """One labelled example (key: the source id, or none)."""

    model_config = ConfigDict(extra="forbid", title="Feedback")

    source_id: str | None = Field(None, min_length=1, max_length=512, description="A source produced to sources.raw")
    content: str | None = Field(None, min_length=1, description="The text itself, when it was never produced")
    doc_type: str | None = Field(None, description="code | documentation | architecture | general")
    label: QualityLabel | None = Field(None, description="The quality class")
    score: float | None = Field(None, ge=1.0, le=5.0, description="Or a quality score 1..5 (mapped to the nearest class)")
    weight: float = Field(1.0, gt=0.0, le=100.0, description="How much this example counts")
    observed_at: datetime | None = Field(None, description="When the verdict was made (RFC 3339)")

    @model_validator(mode="after")
    def _complete(self) -> "Feedback":
        if self.source_id is None and self.content is None:
            raise ValueError("either source_id or content is required")
        if self.label is None and self.score is None:
            raise ValueError("either label or score is required")
        return self
