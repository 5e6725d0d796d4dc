"""Targets: direction, no-data windows, and alerts only when a target's state changes."""

from __future__ import annotations

import pytest

from processors.targets import Target, TargetTracker, evaluate, targets_from
from schemas.aggregates import QualitySummary, Summary, WindowAggregate


def window(i: int, **fields) -> WindowAggregate:
    return WindowAggregate(window=f"m{i}", window_start=60.0 * i, window_s=60.0, documents=1,
                           emitted_at=60.0 * i + 70, **fields)


def test_direction_comes_from_the_value():
    low, high = Target("availability", 0.99), Target("latency_p99_s", 60)
    checks = evaluate([low, high], window(0, availability=0.95, latency_s=Summary(count=3, p99=10.0)))
    assert [(c.target.direction, c.met) for c in checks] == [("min", False), ("max", True)]


def test_an_unknown_target_is_refused():
    with pytest.raises(ValueError, match="unknown target"):
        Target("throughput", 1)


def test_no_data_is_not_a_breach_and_keeps_the_streak():
    tracker = TargetTracker([Target("query_p99_s", 0.5)], critical_after=2)
    slow = window(0, queries=Summary(count=1, p99=0.9))
    assert [a.severity for a in tracker.update(slow)] == ["warning"]
    assert tracker.update(window(1)) == []  # no searches this minute
    assert [a.severity for a in tracker.update(window(2, queries=Summary(count=1, p99=0.8)))] == ["critical"]


def test_alerts_escalate_once_and_recover_once():
    tracker = TargetTracker([Target("quality_mean", 2.5)], critical_after=3)
    severities = []
    for i, mean in enumerate((2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 2.0)):
        alerts = tracker.update(window(i, quality=QualitySummary(count=1, mean=mean)), worker="w1")
        severities.append([a.severity for a in alerts])
    assert severities == [["warning"], [], ["critical"], [], ["info"], [], ["warning"]]


def test_an_alert_says_what_missed_by_how_much():
    tracker = TargetTracker([Target("extraction_rate", 20)])
    [alert] = tracker.update(window(3, extraction_rate=12.5), worker="w1")
    assert alert.kind == "target:extraction_rate" and alert.worker == "w1"
    assert "12.5" in alert.summary and "at least 20" in alert.summary and "m3" in alert.summary
    assert alert.details == {"target": "extraction_rate", "value": 12.5, "threshold": 20, "direction": "min",
                             "window": "m3", "breached_windows": 1}


def test_unset_thresholds_are_not_evaluated():
    assert [t.name for t in targets_from({"availability": None, "embed_s_per_pattern": 0.05})] == [
        "embed_s_per_pattern"]
