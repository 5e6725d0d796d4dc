"""Set membership updates (internal topic ``sets.members``, keyed by ``set_id``).

The document agent sends one update whenever a code document of a set is indexed, changes,
leaves its set, or is gated or deleted. Keying by ``set_id`` routes every member of one set to
one partition, where the set agent keeps the members' structural summaries in a table and
re-runs design-pattern detection over the whole set.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SetMemberUpdate(BaseModel):
    """One member of a set changed. ``summary`` null = the member left the set."""

    set_id: str = Field(..., min_length=1)
    source_id: str = Field(..., min_length=1)
    source_version: str | None = Field(None, description="Content hash of the member; null when it left")
    uri: str | None = None
    language: str | None = None
    quality: float | None = Field(None, ge=1.0, le=5.0, description="The member's quality score")
    summary: dict[str, Any] | None = Field(
        None, description="Structural summary (processors.patterns.design_patterns.summarize_structure)")
    reason: str | None = Field(None, description="Why a member left: source_deleted | below_quality_gate | "
                                                 "moved_set | no_structure | rejected")
    emitted_at: float
