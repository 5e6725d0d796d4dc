"""The capacity advisor on simulated windows: forecasts, capacity, recommendations, alerts."""

from __future__ import annotations

import random

import orjson
import pytest

from processors.capacity import ALERT_KIND, CapacityAdvisor, CapacityConfig, DampedHolt, observe
from processors.events import encode
from schemas.aggregates import WindowAggregate
from schemas.alerts import Alert
from schemas.capacity import CAPACITY_SCHEMA_VERSION, CapacityForecast

W = 60.0


def window(i: int, documents: float, lag: float | None, workers: int, busy_s: float = 0.0,
           embed_s: float = 0.0, start: float | None = None) -> WindowAggregate:
    start = i * W if start is None else start
    return WindowAggregate(window=f"w{i}", window_start=start, window_s=W, documents=round(documents),
                           input_workers=workers, input_lag_messages=None if lag is None else round(lag),
                           busy_s=busy_s, embed_s=embed_s, emitted_at=start + W + 10)


def simulate(arrivals: list[float], *, workers: int = 2, per_worker: float = 10.0, embed_share: float = 0.4,
             busy: bool = True, config: CapacityConfig | None = None,
             lag: float = 0.0) -> tuple[CapacityAdvisor, list[tuple[CapacityForecast, list[Alert]]]]:
    """Workers that process at most ``per_worker`` docs/s each; what arrives beyond that waits as lag."""
    advisor = CapacityAdvisor(config or CapacityConfig())
    out = []
    for i, rate in enumerate(arrivals):
        lag += rate * W
        done = min(lag, workers * per_worker * W)
        lag -= done
        busy_s = done / per_worker if busy else 0.0
        out.append(advisor.update(window(i, done, lag, workers, busy_s, busy_s * embed_share), worker="w"))
    return advisor, out


def noisy(levels: list[float], seed: int, sd: float = 0.05) -> list[float]:
    rng = random.Random(seed)
    return [max(level * (1 + rng.gauss(0, sd)), 0.0) for level in levels]


def test_a_constant_rate_is_forecast_as_constant():
    _, out = simulate([12.0] * 12)
    last = out[-1][0]
    assert last.input_rate == pytest.approx(12.0)
    assert [s.input_rate for s in last.forecast] == pytest.approx([12.0] * 5)
    assert last.horizon_lag_messages == 0 and not last.lag_breach and out[-1][1] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_a_step_the_forecast_follows_within_a_few_windows(seed):
    arrivals = noisy([15.0] * 10 + [45.0] * 10, seed)
    _, out = simulate(arrivals, workers=8)  # 80 docs/s: the step is carried, so arrivals are what is processed
    before = out[9][0]
    assert before.forecast[0].input_rate == pytest.approx(15.0, rel=0.15)
    close = [abs(f.forecast[0].input_rate - 45.0) / 45.0 < 0.15 for f, _ in out[10:]]
    assert close.index(True) <= 3  # the window of the step is index 0
    assert all(close[4:])  # and it stays there


def test_a_ramp_is_forecast_ahead_of_the_last_value():
    arrivals = [10.0 + 2.0 * t for t in range(15)]
    _, out = simulate(arrivals, workers=10)
    last = out[-1][0]
    true_ahead = [10.0 + 2.0 * (14 + k) for k in range(1, 6)]
    assert [s.input_rate for s in last.forecast] == sorted(s.input_rate for s in last.forecast)  # rising
    assert last.forecast[0].input_rate > arrivals[-1]
    for step, truth in zip(last.forecast, true_ahead):
        assert step.input_rate == pytest.approx(truth, rel=0.15)  # damping forecasts a long ramp a little low


def test_simple_smoothing_would_lag_the_ramp_that_the_damped_trend_follows():
    trend, flat = DampedHolt(), DampedHolt(beta=0.0)
    for t in range(15):
        trend.update(10.0 + 2.0 * t)
        flat.update(10.0 + 2.0 * t)
    truth = 10.0 + 2.0 * 19
    assert abs(trend.forecast(5) - truth) < 0.6 * abs(flat.forecast(5) - truth)


def test_capacity_is_measured_in_windows_with_a_backlog():
    config = CapacityConfig(worker_docs_per_s=25.0)
    advisor, out = simulate([10.0] * 3 + [40.0] * 6, workers=2, per_worker=10.0, busy=False, config=config)
    assert [f.capacity_source for f, _ in out[:3]] == ["configured"] * 3
    assert out[-1][0].saturated and out[-1][0].capacity_source == "saturated"
    assert out[-1][0].per_worker_rate == pytest.approx(10.0, rel=0.01)
    assert advisor.measured == pytest.approx(10.0, rel=0.01)


def test_without_a_backlog_busy_time_gives_the_capacity():
    _, out = simulate([10.0] * 4, workers=2, per_worker=12.5)
    f = out[-1][0]
    assert (f.saturated, f.capacity_source) == (False, "busy_time")
    assert f.per_worker_rate == pytest.approx(12.5, rel=0.01)


def test_the_recommendation_carries_the_forecast_rate_with_headroom():
    config = CapacityConfig(headroom=1.25, target_lag=None)
    _, out = simulate([60.0] * 8, workers=10, per_worker=10.0, config=config)
    assert out[-1][0].recommended_workers == 8  # 60 × 1.25 / 10 = 7.5
    _, out = simulate([60.0] * 8, workers=10, per_worker=10.0, config=CapacityConfig(headroom=1.0, target_lag=None))
    assert out[-1][0].recommended_workers == 6


@pytest.mark.parametrize("rate, expected", [(0.0, 2), (1000.0, 5)])
def test_the_recommendation_is_bounded(rate, expected):
    config = CapacityConfig(min_workers=2, max_workers=5, worker_docs_per_s=10.0)
    _, out = simulate([rate] * 5, workers=3, per_worker=10.0, busy=False, config=config)
    f = out[-1][0]
    assert f.recommended_workers == expected
    if rate:
        assert any("capped at the maximum of 5" in r for r in f.reasons)


def test_a_backlog_asks_for_more_workers_than_the_rate_alone():
    config = CapacityConfig(headroom=1.0, target_lag=500.0, worker_docs_per_s=10.0)
    _, out = simulate([20.0] * 3, workers=2, per_worker=10.0, busy=False, config=config, lag=6000.0)
    f = out[-1][0]
    # 2 workers carry 20 docs/s but never drain 6000; 3 drain 600 per window: 3000 left after 5 windows, …
    assert f.recommended_workers == 4  # 4 drain 1200 per window: 6000 → 0 within 5
    assert any("under 500" in r for r in f.reasons)


def test_unknown_capacity_keeps_the_current_workers():
    _, out = simulate([10.0] * 3, workers=3, per_worker=10.0, busy=False)
    f = out[-1][0]
    assert (f.capacity_source, f.per_worker_rate, f.recommended_workers) == ("none", None, 3)
    assert f.recommended_inference_replicas == 1 and any("until capacity is known" in r for r in f.reasons)


def test_inference_replicas_follow_the_share_of_time_spent_embedding():
    config = CapacityConfig(headroom=1.0, target_lag=None, max_replicas=3)
    _, out = simulate([60.0] * 6, workers=8, per_worker=10.0, embed_share=0.3, config=config)
    f = out[-1][0]
    assert f.embed_share == pytest.approx(0.3) and f.recommended_workers == 6
    assert f.recommended_inference_replicas == 2  # 6 × 0.3 = 1.8
    _, out = simulate([60.0] * 6, workers=8, per_worker=10.0, embed_share=0.9, config=config)
    assert out[-1][0].recommended_inference_replicas == 3  # 5.4, capped


def test_an_alert_when_the_lag_will_breach_its_target_then_critical_then_recovered():
    config = CapacityConfig(target_lag=2000.0, critical_after=3)
    # 2 workers carry 20 docs/s; 30 arrive for 6 windows (lag +600 per window), then 5 (it drains)
    _, out = simulate([15.0] * 3 + [30.0] * 6 + [5.0] * 8, workers=2, per_worker=10.0, config=config)
    alerts = [(i, a) for i, (_, alerts) in enumerate(out) for a in alerts]
    assert [a.severity for _, a in alerts] == ["warning", "critical", "info"]
    first_i, first = alerts[0]
    assert first.kind == ALERT_KIND and first_i <= 4  # forecast, well before the lag reaches 2000 (window 6)
    assert out[first_i][0].lag_messages < 2000 and out[first_i][0].horizon_lag_messages > 2000
    assert first.details["recommended_workers"] > 2 and first.details["target"] == 2000.0
    assert out[first_i][0].recommended_workers >= 4  # 30 × 1.2 / 10 = 3.6, and the backlog


def test_no_alert_when_the_lag_drains_before_the_horizon():
    config = CapacityConfig(target_lag=1000.0)
    _, out = simulate([15.0] * 8, workers=2, per_worker=10.0, config=config, lag=1500.0)
    assert all(alerts == [] for _, alerts in out)
    first, second = out[0][0], out[1][0]
    # the first window cannot tell arrivals from the backlog drained: it projects the lag flat, alerts nothing
    assert first.lag_messages == 1200 and first.lag_breach and any("no alert" in r for r in first.reasons)
    assert second.input_rate == 15.0 and second.horizon_lag_messages < 1000  # 300 drained per window


def test_no_alert_without_a_target():
    _, out = simulate([30.0] * 8, workers=2, per_worker=10.0, config=CapacityConfig(target_lag=None))
    assert all(alerts == [] for _, alerts in out) and not any(f.lag_breach for f, _ in out)


def test_lag_growth_is_only_read_across_consecutive_windows():
    assert observe(window(1, 600, 3000, 1), previous_lag=600, saturation_lag=100).input_rate == 50.0
    advisor = CapacityAdvisor()
    advisor.update(window(0, 600, 600, 1))
    gap, _ = advisor.update(window(5, 600, 3000, 1))  # four windows missing: the growth is not all this minute's
    assert (gap.input_rate, gap.saturated) == (10.0, False)


def test_the_forecast_round_trips_through_json():
    _, out = simulate([20.0] * 4 + [50.0] * 3, workers=2, per_worker=10.0)
    forecast, alerts = out[-1]
    again = CapacityForecast.model_validate(orjson.loads(encode(forecast)))
    assert again == forecast and again.schema_version == CAPACITY_SCHEMA_VERSION
    assert len(again.forecast) == 5 and again.forecast[-1].window_start == forecast.window_start + 5 * W
    assert all(Alert.model_validate_json(encode(a)) == a for a in alerts)
