"""Set membership: updates on ``sets.members`` (keyed by ``set_id``) and members kept in ``sets.state``.

The document agent sends one :class:`SetMemberUpdate` whenever a code document of a set is indexed,
changes, leaves its set, or is gated or deleted. Keying by ``set_id`` routes every member of one set
to one partition, where the set agent keeps each member as a :class:`SetMember` (compressed, on the
compacted ``sets.state`` topic) and re-runs design-pattern detection over the whole set.

Both carry the typed, versioned :class:`~schemas.structure.StructureSummary`; a summary in the shape
written before versioning is converted when read (see :mod:`schemas.structure`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.structure import StructureSummary


class SetMemberUpdate(BaseModel):
    """One member of a set changed. ``summary`` null = the member left the set."""

    set_id: str = Field(..., min_length=1)
    source_id: str = Field(..., min_length=1)
    source_version: str | None = Field(None, description="Content hash of the member; null when it left")
    uri: str | None = None
    language: str | None = None
    quality: float | None = Field(None, ge=1.0, le=5.0, description="The member's quality score")
    summary: StructureSummary | None = Field(None, description="Structural summary of the member's code")
    reason: str | None = Field(None, description="Why a member left: source_deleted | below_quality_gate | "
                                                 "moved_set | no_structure | rejected")
    emitted_at: float


class SetMember(BaseModel):
    """One member of a set as the set agent keeps it (``sets.state``, key ``set_id`` + ``source_id``).

    ``summary`` is ``None`` with ``unreadable`` saying why when the stored state could not be read
    (a shape this version does not know): the member stays in the set, but detection cannot use it
    until its document is produced again and the document agent sends a new summary.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_version: str | None = None
    uri: str | None = None
    language: str | None = None
    quality: float | None = Field(None, ge=1.0, le=5.0)
    summary: StructureSummary | None = None
    unreadable: str | None = Field(None, description="Why the stored summary could not be read (rebuild needed)")
