"""processors.learning.drift / drift_eval: ADWIN detects a rise once, stays quiet on a stationary
stream, restores exactly; calibration and measurement helpers."""

from __future__ import annotations

import numpy as np

from processors.learning.drift import Adwin, PageHinkley, detector_from_state
from processors.learning.drift_eval import calibrate, detection_delay, false_alarms_per_100k


def _bern(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    return (rng.random(n) < p).astype(float)


def test_adwin_window_tracks_the_mean_and_merges_buckets() -> None:
    det = Adwin(delta=0.002, max_buckets=3)
    xs = _bern(np.random.default_rng(0), 5000, 0.3)
    det.update_many(xs)
    assert det.width == 5000 and abs(det.mean - xs.mean()) < 1e-12
    assert sum(len(r) for r in det.rows) <= 3 * len(det.rows)  # O(log W) buckets
    assert np.isclose(det.m2, ((xs - xs.mean()) ** 2).sum())


def test_one_shift_fires_once_with_the_guard_and_twice_without() -> None:
    guarded = detection_delay(lambda: Adwin(0.002), 0.1, 0.4, pre=2000, horizon=2000, runs=20, seed=1)
    paper = detection_delay(lambda: Adwin(0.002, reset_on_alarm=False), 0.1, 0.4, pre=2000, horizon=2000, runs=20, seed=1)
    assert guarded.missed == 0 and guarded.repeat == 0 and guarded.median < 150
    assert paper.repeat > 0.5


def test_a_fall_of_the_error_is_no_alarm_but_shrinks_the_window() -> None:
    rng = np.random.default_rng(2)
    det = Adwin(0.002)
    alarms = det.update_many(np.r_[_bern(rng, 2000, 0.5), _bern(rng, 2000, 0.05)])
    assert alarms == [] and det.width < 3000
    both = Adwin(0.002, direction="both")
    assert len(both.update_many(np.r_[_bern(rng, 2000, 0.5), _bern(rng, 2000, 0.05)])) == 1


def test_stationary_stream_has_no_false_alarm_at_default_delta() -> None:
    assert false_alarms_per_100k(lambda: Adwin(0.002), 0.12, events=50_000, runs=1, seed=3) == 0.0


def test_calibrate_picks_the_most_sensitive_setting_under_target() -> None:
    cal = calibrate(lambda t: PageHinkley(threshold=t), [2.0, 5.0, 40.0], target_per_100k=5.0, error_rates=(0.2,),
                    events=20_000, runs=1)
    assert cal.chosen == 40.0 and cal.rates[2.0] > 5.0


def test_page_hinkley_detects_a_rise() -> None:
    r = detection_delay(lambda: PageHinkley(threshold=30.0), 0.1, 0.4, pre=2000, horizon=2000, runs=10, seed=4)
    assert r.missed == 0 and r.median < 300


def test_detector_state_continues_exactly() -> None:
    rng = np.random.default_rng(5)
    xs = np.r_[_bern(rng, 3000, 0.1), _bern(rng, 3000, 0.35)]
    for make in (lambda: Adwin(0.01), lambda: PageHinkley(20.0)):
        a = make()
        a.update_many(xs[:2500])
        b = detector_from_state(*a.to_state())
        assert a.update_many(xs[2500:]) == b.update_many(xs[2500:])
