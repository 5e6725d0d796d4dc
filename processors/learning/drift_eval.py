"""Calibrating and measuring drift detectors on simulated Bernoulli error streams.

Thresholds are fixed here, on synthetic streams with their own seeds, never on the evaluation
stream: :func:`calibrate` picks the most sensitive setting whose false-alarm rate on stationary
streams stays under a target at every error rate in a grid; :func:`false_alarms_per_100k` and
:func:`detection_delay` measure a detector the way the model card reports it.

>>> from processors.learning.drift import Adwin
>>> false_alarms_per_100k(lambda: Adwin(0.002), p=0.12, events=20_000, runs=1, seed=0)
0.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from processors.learning.drift import DriftDetector

__all__ = ["Calibration", "DelayReport", "calibrate", "detection_delay", "false_alarms_per_100k"]


def false_alarms_per_100k(make: Callable[[], DriftDetector], p: float, *, events: int = 100_000, runs: int = 5,
                          seed: int = 0) -> float:
    """Alarms per 100,000 values of stationary Bernoulli(``p``) streams (``runs`` streams of ``events``)."""
    rng = np.random.default_rng(seed)
    alarms = 0
    for _ in range(runs):
        alarms += len(make().update_many((rng.random(events) < p).astype(np.float64)))
    return alarms * 100_000 / (events * runs)


@dataclass(frozen=True)
class Calibration:
    """The chosen setting and the worst false-alarm rate (per 100k) measured for each candidate."""

    chosen: float
    target_per_100k: float
    rates: dict[float, float]


def calibrate(make: Callable[[float], DriftDetector], settings: Sequence[float], *, target_per_100k: float = 1.0,
              error_rates: Sequence[float] = (0.05, 0.12, 0.25, 0.4), events: int = 100_000, runs: int = 5,
              seed: int = 12345) -> Calibration:
    """The most sensitive of ``settings`` (ordered most → least sensitive) whose false-alarm rate is
    at most ``target_per_100k`` at every error rate in ``error_rates``; the least sensitive when none is."""
    rates: dict[float, float] = {}
    for k, s in enumerate(settings):
        worst = max(false_alarms_per_100k(lambda: make(s), p, events=events, runs=runs, seed=seed + 7919 * k + i)
                    for i, p in enumerate(error_rates))
        rates[s] = worst
        if worst <= target_per_100k:
            return Calibration(s, target_per_100k, rates)
    return Calibration(settings[-1], target_per_100k, rates)


@dataclass(frozen=True)
class DelayReport:
    """Detection of a step ``p0 → p1`` after ``pre`` stationary values, over ``runs`` streams.

    Attributes:
        median, mean, p90: values after the step until the first alarm (detected runs only).
        missed: share of runs with no alarm within ``horizon`` values after the step.
        false_before: share of runs with an alarm before the step.
        repeat: share of runs with a second alarm within ``horizon`` (one shift should fire once).
    """

    p0: float
    p1: float
    runs: int
    median: float
    mean: float
    p90: float
    missed: float
    false_before: float
    repeat: float

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def detection_delay(make: Callable[[], DriftDetector], p0: float, p1: float, *, pre: int = 5000,
                    horizon: int = 5000, runs: int = 50, seed: int = 0) -> DelayReport:
    """Measure how long after a step from error rate ``p0`` to ``p1`` the detector fires."""
    rng = np.random.default_rng(seed)
    delays, missed, before, repeat = [], 0, 0, 0
    for _ in range(runs):
        det = make()
        before += bool(det.update_many((rng.random(pre) < p0).astype(np.float64)))
        after = det.update_many((rng.random(horizon) < p1).astype(np.float64))
        if after:
            delays.append(after[0].at - pre)
            repeat += len(after) > 1
        else:
            missed += 1
    d = np.array(delays, dtype=np.float64) if delays else np.array([np.nan])
    return DelayReport(p0, p1, runs, float(np.median(d)), float(np.mean(d)), float(np.percentile(d, 90)),
                       missed / runs, before / runs, repeat / runs)
