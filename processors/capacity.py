"""The capacity advisor: forecast input rate and lag from the per-minute aggregates, recommend workers — pure.

After each :class:`~schemas.aggregates.WindowAggregate`, :class:`CapacityAdvisor` derives what
*arrived* in the window (documents processed plus the growth of the input workers' lag), feeds it
to a damped-trend Holt smoother, and projects the lag for the next ``horizon`` windows with the
workers there are now. It recommends the fewest workers that carry the forecast rate with some
headroom *and* bring the projected lag under its target by the horizon, and inference replicas in
proportion to the share of busy time the workers spend embedding.

Why damped-trend Holt: per-minute input has a level and, during a ramp, a trend; there is no
seasonality to learn at a horizon of minutes, and a step change must be followed within a few
windows. Simple smoothing (no trend) lags a ramp for ever; plain Holt extrapolates the jump of a
step as a lasting trend and overshoots; damping (``phi`` < 1) keeps the trend for the next few
windows and lets it fade. It needs no training set and holds three numbers of state, so a new
owner of ``pipeline.metrics`` is useful after a handful of windows. The constants were chosen on
synthetic flat, step and ramp series (8 % noise): ``phi`` 0.8 and 0.9 were as good overall, and 0.9
forecasts less low on a ramp (too few workers) at the price of more overshoot after a step (too
many, for a few minutes), the cheaper mistake. ``bench/capacity.py`` measures them on other seeds
against the last value, simple smoothing and plain Holt.

A step from 10 to 30 documents/s: the next window's forecast is within 10 % two windows later;
the trend overshoots by at most 30 % at five windows ahead, and fades:

>>> h, seen = DampedHolt(), []
>>> for rate in [10.0] * 3 + [30.0] * 10:
...     h.update(rate)
...     seen.append((round(h.forecast(1)), round(h.forecast(5))))
>>> seen[3:]
[(22, 27), (28, 36), (31, 38), (33, 39), (33, 37), (32, 36), (32, 34), (32, 33), (31, 32), (31, 31)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from processors.targets import streak_severity
from schemas.aggregates import WindowAggregate
from schemas.alerts import Alert
from schemas.capacity import CapacityForecast, CapacitySource, ForecastStep

ALERT_KIND = "capacity_lag"


@dataclass(frozen=True)
class CapacityConfig:
    """The advisor's settings (``ASSAY_OBS_CAPACITY_…``) and its smoothing constants."""

    horizon: int = 5
    headroom: float = 1.2
    min_workers: int = 1
    max_workers: int = 32
    min_replicas: int = 1
    max_replicas: int = 8
    worker_docs_per_s: float | None = None
    saturation_lag: int = 100
    target_lag: float | None = 2000.0
    critical_after: int = 5
    alpha: float = 0.5  # level: half of a new window's surprise is believed at once
    beta: float = 0.2  # trend
    phi: float = 0.9  # damping: a trend's effect five windows on is 0.9 + … + 0.9⁵ ≈ 3.7 windows' worth
    learn: float = 0.3  # weight of a new measurement of capacity or embedding share


@dataclass
class DampedHolt:
    """Additive damped-trend exponential smoothing (Gardner & McKenzie) of one series."""

    alpha: float = 0.5
    beta: float = 0.2
    phi: float = 0.9
    level: float | None = None
    trend: float = 0.0

    def update(self, value: float) -> None:
        if self.level is None:
            self.level = value
            return
        previous = self.level
        self.level = self.alpha * value + (1 - self.alpha) * (previous + self.phi * self.trend)
        self.trend = self.beta * (self.level - previous) + (1 - self.beta) * self.phi * self.trend

    def forecast(self, ahead: int) -> float:
        """The value ``ahead`` steps on (never below 0: these are rates); 0 before any value."""
        if self.level is None:
            return 0.0
        damped = sum(self.phi ** i for i in range(1, ahead + 1))
        return max(self.level + damped * self.trend, 0.0)


@dataclass(frozen=True)
class Observation:
    """One window, as the advisor reads it."""

    input_rate: float
    processed_rate: float
    lag: int | None
    workers: int
    saturated: bool
    measured: bool  # the input rate includes the lag's growth (else it is taken to be the processed rate)


def observe(window: WindowAggregate, previous_lag: int | None, saturation_lag: int) -> Observation:
    """What arrived (processed + lag growth), what was processed, and whether the workers never ran dry.

    >>> w = WindowAggregate(window="w", window_start=0, window_s=60, documents=600, input_workers=2,
    ...                     input_lag_messages=1800, emitted_at=60)
    >>> observe(w, previous_lag=600, saturation_lag=100)
    Observation(input_rate=30.0, processed_rate=10.0, lag=1800, workers=2, saturated=True, measured=True)
    """
    processed = window.documents / window.window_s
    lag = window.input_lag_messages
    if lag is None or previous_lag is None:
        return Observation(processed, processed, lag, window.input_workers, saturated=False, measured=False)
    arrived = max(processed + (lag - previous_lag) / window.window_s, 0.0)
    saturated = window.input_workers > 0 and min(lag, previous_lag) >= saturation_lag
    return Observation(arrived, processed, lag, window.input_workers, saturated, measured=True)


def project_lag(lag: float, rates: list[float], service_rate: float, window_s: float) -> list[float]:
    """The lag at the end of each window ahead: what arrives minus what ``service_rate`` takes away.

    >>> project_lag(100.0, [10.0, 10.0, 10.0], service_rate=12.0, window_s=60)
    [0.0, 0.0, 0.0]
    >>> project_lag(0.0, [15.0, 15.0], service_rate=10.0, window_s=60)
    [300.0, 600.0]
    """
    out = []
    for rate in rates:
        lag = max(lag + (rate - service_rate) * window_s, 0.0)
        out.append(lag)
    return out


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9)  # 7.000000001 workers is 7


def _clamp(n: int, low: int, high: int) -> int:
    return min(max(n, low), high)


@dataclass
class CapacityAdvisor:
    """The state of one owner of ``pipeline.metrics``: smoothers, learned capacity, the alert's streak."""

    config: CapacityConfig = field(default_factory=CapacityConfig)

    def __post_init__(self) -> None:
        c = self.config
        self.input = DampedHolt(c.alpha, c.beta, c.phi)
        self.processed = DampedHolt(c.alpha, c.beta, c.phi)
        self.measured: float | None = None  # per-worker docs/s, from saturated windows
        self.per_busy_s: float | None = None  # documents per busy second (an optimistic capacity)
        self.embed_share: float | None = None
        self.breached = 0
        self._last_end: float | None = None
        self._last_lag: int | None = None

    def update(self, window: WindowAggregate, worker: str | None = None) -> tuple[CapacityForecast, list[Alert]]:
        """Learn from one closed window; the forecast after it, and the alert when the breach changed."""
        c = self.config
        consecutive = self._last_end is not None and abs(window.window_start - self._last_end) < 1e-6
        obs = observe(window, self._last_lag if consecutive else None, c.saturation_lag)
        self._last_end, self._last_lag = window.window_start + window.window_s, obs.lag
        self.input.update(obs.input_rate)
        self.processed.update(obs.processed_rate)
        self._learn(window, obs)

        per_worker, source = self.per_worker_rate(obs)
        rates = [self.input.forecast(k) for k in range(1, c.horizon + 1)]
        service = obs.workers * per_worker if per_worker is not None else self.processed.forecast(1)
        lags = project_lag(float(obs.lag or 0), rates, service, window.window_s)
        breach = c.target_lag is not None and lags[-1] > c.target_lag
        reasons = [f"{obs.input_rate:.1f} docs/s arrived and {obs.processed_rate:.1f} were processed by "
                   f"{obs.workers} worker(s), lag {obs.lag if obs.lag is not None else 'unknown'}; forecast "
                   f"{rates[-1]:.1f} docs/s and a lag of {lags[-1]:.0f} in {c.horizon} window(s) with these workers"]
        if not obs.measured:
            reasons.append("input rate taken to be the processed rate: no lag from the window before "
                           "(no alert from this window)")
        reasons.append(self._capacity_reason(per_worker, source))
        workers = self._recommend_workers(obs, rates, per_worker, window.window_s, reasons)
        replicas = self._recommend_replicas(workers, reasons)
        forecast = CapacityForecast(
            window=window.window, window_start=window.window_start, window_s=window.window_s,
            input_rate=round(obs.input_rate, 4), processed_rate=round(obs.processed_rate, 4), lag_messages=obs.lag,
            workers=obs.workers, saturated=obs.saturated,
            per_worker_rate=round(per_worker, 4) if per_worker is not None else None, capacity_source=source,
            embed_share=round(self.embed_share, 4) if self.embed_share is not None else None,
            forecast=[ForecastStep(windows_ahead=k, window_start=window.window_start + k * window.window_s,
                                   input_rate=round(r, 4), lag_messages=round(lag, 1))
                      for k, (r, lag) in enumerate(zip(rates, lags), start=1)],
            horizon_input_rate=round(rates[-1], 4), horizon_lag_messages=round(lags[-1], 1),
            lag_target_messages=c.target_lag, lag_breach=breach, recommended_workers=workers,
            recommended_inference_replicas=replicas, reasons=reasons, emitted_at=window.emitted_at)
        return forecast, self._alerts(forecast, worker) if obs.measured else []

    def per_worker_rate(self, obs: Observation) -> tuple[float | None, CapacitySource]:
        """Documents/s one busy worker processes, and where that number came from.

        Never below what one worker did in this window: throughput seen is a floor of capacity.
        """
        seen = obs.processed_rate / obs.workers if obs.workers else 0.0
        for value, source in ((self.measured, "saturated"), (self.config.worker_docs_per_s, "configured"),
                              (self.per_busy_s, "busy_time")):
            if value is not None:
                return max(value, seen), source  # type: ignore[return-value]
        return None, "none"

    def _learn(self, window: WindowAggregate, obs: Observation) -> None:
        if obs.saturated and obs.processed_rate > 0:
            self.measured = self._blend(self.measured, obs.processed_rate / obs.workers)
        if window.busy_s > 0 and window.documents > 0:
            self.per_busy_s = self._blend(self.per_busy_s, window.documents / window.busy_s)
            self.embed_share = self._blend(self.embed_share, min(window.embed_s / window.busy_s, 1.0))

    def _blend(self, old: float | None, new: float) -> float:
        """A new measurement weighed in with ``config.learn`` (the first one taken as it is)."""
        return new if old is None else (1 - self.config.learn) * old + self.config.learn * new

    def _capacity_reason(self, per_worker: float | None, source: CapacitySource) -> str:
        if per_worker is None:
            return "no capacity estimate yet (no window with a backlog, no busy time, no configured rate)"
        how = {"saturated": "measured in windows with a backlog",
               "configured": "as configured (ASSAY_OBS_CAPACITY_WORKER_DOCS_PER_S)",
               "busy_time": "from documents per busy second (optimistic: no waiting counted)"}[source]
        return f"one worker processes {per_worker:.2f} docs/s, {how}"

    def _recommend_workers(self, obs: Observation, rates: list[float], per_worker: float | None, window_s: float,
                           reasons: list[str]) -> int:
        c = self.config
        if per_worker is None or per_worker <= 0:
            reasons.append(f"keep {_clamp(obs.workers, c.min_workers, c.max_workers)} worker(s) until capacity "
                           "is known")
            return _clamp(obs.workers, c.min_workers, c.max_workers)
        peak = max(rates)
        needed = max(_ceil(peak * c.headroom / per_worker), c.min_workers)
        reasons.append(f"{needed} worker(s) carry {peak:.1f} docs/s with {c.headroom:g}× headroom")
        if c.target_lag is not None:
            n, lag = needed, float(obs.lag or 0)
            while n < c.max_workers and project_lag(lag, rates, n * per_worker, window_s)[-1] > c.target_lag:
                n += 1
            if n > needed:
                reasons.append(f"{n} worker(s) bring the lag of {obs.lag} under {c.target_lag:g} within "
                               f"{c.horizon} window(s)")
            needed = n
        if needed > c.max_workers:
            reasons.append(f"capped at the maximum of {c.max_workers} worker(s)")
        return _clamp(needed, c.min_workers, c.max_workers)

    def _recommend_replicas(self, workers: int, reasons: list[str]) -> int:
        c = self.config
        if self.embed_share is None:
            reasons.append(f"{c.min_replicas} inference replica(s): no embedding time measured yet")
            return c.min_replicas
        replicas = _clamp(_ceil(workers * self.embed_share), c.min_replicas, c.max_replicas)
        reasons.append(f"embedding takes {self.embed_share:.0%} of busy time: {workers} busy worker(s) keep "
                       f"{workers * self.embed_share:.1f} replica(s) busy → {replicas}")
        return replicas

    def _alerts(self, f: CapacityForecast, worker: str | None) -> list[Alert]:
        if f.lag_target_messages is None:
            return []
        before, self.breached = self.breached, (self.breached + 1 if f.lag_breach else 0)
        severity = streak_severity(before, self.breached, self.config.critical_after)
        if severity is None:
            return []
        if severity == "info":
            summary = (f"the input lag forecast {f.horizon_lag_messages:.0f} messages {len(f.forecast)} window(s) "
                       f"after {f.window} is within its target of {f.lag_target_messages:g} again")
        else:
            summary = (f"the input lag is forecast at {f.horizon_lag_messages:.0f} messages {len(f.forecast)} "
                       f"window(s) after {f.window} with {f.workers} worker(s), above its target of "
                       f"{f.lag_target_messages:g}: {f.recommended_workers} worker(s) recommended")
        return [Alert(kind=ALERT_KIND, severity=severity, summary=summary, worker=worker,
                      details={"window": f.window, "horizon_windows": len(f.forecast),
                               "forecast_lag_messages": f.horizon_lag_messages, "target": f.lag_target_messages,
                               "lag_messages": f.lag_messages, "forecast_input_rate": f.horizon_input_rate,
                               "workers": f.workers, "recommended_workers": f.recommended_workers,
                               "breached_windows": self.breached},
                      emitted_at=f.emitted_at)]
