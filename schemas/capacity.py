"""Capacity forecasts on ``capacity.forecasts`` (key: the window the forecast follows, ISO 8601 UTC).

One record after each aggregated window: what came in and went out, the forecast of the input
rate and the lag for the next windows, the per-worker capacity it was measured against, and the
number of workers and inference replicas it recommends, with the reasons in words. Rates are
documents per second; lags are messages.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: Bumped when a field's meaning changes; a reader refuses versions it does not know.
CAPACITY_SCHEMA_VERSION = 1

#: Where the per-worker capacity came from: windows with a backlog (``saturated``), the setting
#: (``configured``), documents per busy second (``busy_time``, optimistic), or nothing yet (``none``).
CapacitySource = Literal["saturated", "configured", "busy_time", "none"]


class ForecastStep(BaseModel):
    """The forecast for one window ahead."""

    windows_ahead: int = Field(..., ge=1)
    window_start: float = Field(..., description="Unix s")
    input_rate: float = Field(..., description="Documents/s expected to arrive")
    lag_messages: float = Field(..., description="Expected input lag at the window's end with the current workers")


class CapacityForecast(BaseModel):
    """The capacity advisor's view after one window."""

    schema_version: int = CAPACITY_SCHEMA_VERSION
    window: str = Field(..., description="The window it follows (start, ISO 8601 UTC; also the record's key)")
    window_start: float = Field(..., description="Unix s")
    window_s: float
    input_rate: float = Field(..., description="Documents/s that arrived in the window (processed + lag growth)")
    processed_rate: float = Field(..., description="Documents/s with a final outcome in the window")
    lag_messages: int | None = Field(None, description="Input lag at the window's end (None: no heartbeat)")
    workers: int = Field(..., description="Input workers (role all or compute) that sent heartbeats")
    saturated: bool = Field(..., description="The workers had a backlog the whole window (capacity measured)")
    per_worker_rate: float | None = Field(None, description="Documents/s one busy worker processes")
    capacity_source: CapacitySource
    embed_share: float | None = Field(None, description="Share of busy time spent embedding")
    forecast: list[ForecastStep] = Field(default_factory=list, description="One step per window ahead")
    horizon_input_rate: float = Field(..., description="The forecast input rate at the horizon")
    horizon_lag_messages: float = Field(..., description="The forecast lag at the horizon with the current workers")
    lag_target_messages: float | None = Field(None, description="The lag the horizon is held to (None: no alert)")
    lag_breach: bool = Field(..., description="The forecast lag at the horizon is above the target")
    recommended_workers: int
    recommended_inference_replicas: int
    reasons: list[str] = Field(default_factory=list, description="Why, in words")
    emitted_at: float
