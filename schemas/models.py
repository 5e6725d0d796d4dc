"""Model promotions on the compacted ``models`` topic (key = model kind, e.g. ``quality``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ModelPromotion(BaseModel):
    """The version every running worker must use for one kind of model, from now on."""

    kind: Literal["quality"] = "quality"
    version: str = Field(..., description="Semantic version in the model registry")
    action: Literal["promote", "rollback"] = "promote"
    previous_version: str | None = None
    checksum: str | None = Field(None, description="sha256 of the artifact manifest; workers refuse a mismatch")
    promoted_at: float
    promoted_by: str | None = None
