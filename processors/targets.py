"""Service targets evaluated on each window aggregate, and the alerts their changes raise — pure.

A target names a value of :class:`~schemas.aggregates.WindowAggregate` and a threshold; the value
decides the direction (``min``: at least, ``max``: at most). A window without the value (no traffic of that kind) leaves
the target's state as it was: silence is not a breach. :class:`TargetTracker` turns states into
alerts only when they change: the first breached window raises a ``warning``, ``critical_after``
breached windows in a row a ``critical``, and the first window that meets the target again an
``info`` saying it recovered.

>>> tracker = TargetTracker([Target("quality_mean", 2.5)], critical_after=2)
>>> def window(mean): return WindowAggregate(window="w", window_start=0, window_s=60, documents=1,
...                                         quality=QualitySummary(count=1, mean=mean), emitted_at=60)
>>> [a.severity for m in (2.0, 2.1, 2.2, 3.0) for a in tracker.update(window(m), worker="w")]
['warning', 'critical', 'info']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from schemas.aggregates import QualitySummary, WindowAggregate
from schemas.alerts import Alert

Direction = Literal["min", "max"]
Severity = Literal["info", "warning", "critical"]

#: Target name → how to read its value from a window, which way it must go, and its unit.
TARGET_VALUES: dict[str, tuple[Callable[[WindowAggregate], float | None], Direction, str]] = {
    "extraction_rate": (lambda w: w.extraction_rate, "min", "patterns/s of processing"),
    "embed_s_per_pattern": (lambda w: w.embed_s_per_pattern, "max", "s per pattern"),
    "query_p99_s": (lambda w: w.queries.p99, "max", "s (search p99)"),
    "quality_mean": (lambda w: w.quality.mean, "min", "(mean quality)"),
    "availability": (lambda w: w.availability, "min", "(share of heartbeats ready)"),
    "latency_p99_s": (lambda w: w.latency_s.p99, "max", "s (produce → indexed, p99)"),
}


@dataclass(frozen=True)
class Target:
    """One bound on one window value."""

    name: str
    threshold: float

    def __post_init__(self) -> None:
        if self.name not in TARGET_VALUES:
            raise ValueError(f"unknown target {self.name!r}; known: {', '.join(sorted(TARGET_VALUES))}")

    @property
    def direction(self) -> Direction:
        return TARGET_VALUES[self.name][1]

    def value(self, window: WindowAggregate) -> float | None:
        return TARGET_VALUES[self.name][0](window)

    def met_by(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "min" else value <= self.threshold


@dataclass(frozen=True)
class TargetCheck:
    """A target against one window: its value, and whether it was met (None: no data)."""

    target: Target
    value: float | None

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.target.met_by(self.value)


def streak_severity(before: int, now: int, critical_after: int) -> Severity | None:
    """The alert a breach streak going from ``before`` to ``now`` windows raises (None: no change to report).

    >>> [streak_severity(b, n, 3) for b, n in ((0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (4, 0))]
    [None, 'warning', None, 'critical', None, 'info']
    """
    if now == 0:
        return "info" if before else None
    if now == 1:
        return "critical" if critical_after <= 1 else "warning"
    return "critical" if now == critical_after else None


def targets_from(thresholds: dict[str, float | None]) -> list[Target]:
    """Targets of the thresholds that are set (None: not evaluated).

    >>> [t.direction for t in targets_from({"availability": 0.99, "query_p99_s": None, "latency_p99_s": 60})]
    ['min', 'max']
    """
    return [Target(name, value) for name, value in thresholds.items() if value is not None]


def evaluate(targets: list[Target], window: WindowAggregate) -> list[TargetCheck]:
    return [TargetCheck(t, t.value(window)) for t in targets]


class TargetTracker:
    """Remembers how many windows in a row each target was breached; yields alerts on changes."""

    def __init__(self, targets: list[Target], critical_after: int = 5) -> None:
        self.targets = targets
        self.critical_after = max(critical_after, 1)
        self.breached: dict[str, int] = {t.name: 0 for t in targets}

    def update(self, window: WindowAggregate, worker: str | None = None) -> list[Alert]:
        alerts: list[Alert] = []
        for check in evaluate(self.targets, window):
            if check.met is None:
                continue
            name = check.target.name
            before = self.breached[name]
            now = 0 if check.met else before + 1
            self.breached[name] = now
            severity = streak_severity(before, now, self.critical_after)
            if severity is not None:
                alerts.append(self._alert(check, window, severity, now, worker))
        return alerts

    def _alert(self, check: TargetCheck, window: WindowAggregate, severity: Severity,
               streak: int, worker: str | None) -> Alert:
        t = check.target
        unit = TARGET_VALUES[t.name][2]
        bound = "at least" if t.direction == "min" else "at most"
        if severity == "info":
            summary = f"{t.name} is back within target in the minute from {window.window}: {check.value:g} {unit}"
        else:
            summary = (f"{t.name} missed its target for {streak} window(s) up to the minute from {window.window}: "
                       f"{check.value:g} {unit}, target {bound} {t.threshold:g}")
        return Alert(kind=f"target:{t.name}", severity=severity, summary=summary, worker=worker,
                     details={"target": t.name, "value": check.value, "threshold": t.threshold,
                              "direction": t.direction, "window": window.window, "breached_windows": streak},
                     emitted_at=window.emitted_at)
