"""Alerts on the ``alerts`` topic: something an operator must look at, with its severity."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Alert(BaseModel):
    """One alert event (key: the alert's kind)."""

    kind: str = Field(..., description="What fired: stall | agent_crash | fatal_config | drift | target:<name> | …")
    severity: Literal["info", "warning", "critical"]
    summary: str = Field(..., description="One sentence saying what is wrong")
    worker: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    emitted_at: float = Field(..., description="Unix time (s)")
