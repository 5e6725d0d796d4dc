"""streams.health: readiness and the watchdog's verdicts, on a clock the test moves."""

from __future__ import annotations

from streams.health import EXIT_FATAL, EXIT_STALLED, WorkerHealth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def started(stall_after_s: float = 60.0) -> tuple[WorkerHealth, Clock]:
    clock = Clock()
    h = WorkerHealth(stall_after_s=stall_after_s, clock=clock, store_loaded=True, model_loaded=True, started=True)
    h.agent("process_sources", "sources.raw")
    h.on_assigned({("sources.raw", 0), ("sources.raw", 1)})
    return h, clock


def test_ready_once_started_loaded_and_assigned():
    h, _ = started()
    assert h.evaluate().ready
    h.on_assigned(set())
    verdict = h.evaluate()
    assert not verdict.ready and "no partitions assigned" in verdict.reasons


def test_a_batch_in_flight_too_long_is_a_stall():
    h, clock = started()
    agent = h.agents["process_sources"]
    agent.batch_started(16)
    agent.waiting("qdrant_upsert: ConnectionError: refused")
    clock.now += 30
    verdict = h.evaluate()
    assert not verdict.ready and verdict.stalled is None
    assert any("qdrant_upsert" in r for r in verdict.reasons)
    clock.now += 31
    verdict = h.evaluate()
    assert verdict.exit_code == EXIT_STALLED and "in flight" in verdict.stalled and "qdrant_upsert" in verdict.stalled


def test_lag_without_progress_is_a_stall_and_progress_clears_it():
    h, clock = started()
    h.lag = {("sources.raw", 0): 5}
    clock.now += 61
    assert h.evaluate().stalled and "5 messages wait" in h.evaluate().stalled
    agent = h.agents["process_sources"]
    agent.batch_started(5)
    agent.batch_done()
    assert h.evaluate().stalled is None


def test_an_idle_worker_without_lag_is_not_stalled():
    h, clock = started()
    h.lag = {("sources.raw", 0): 0}
    clock.now += 10_000
    assert h.evaluate().ready


def test_a_crash_or_a_fatal_error_stops_the_worker():
    h, _ = started()
    h.agents["process_sources"].crash(RuntimeError("boom"))
    assert h.evaluate().exit_code == EXIT_STALLED
    h2, _ = started()
    h2.fail("cannot publish: topic authorization failed")
    assert h2.evaluate().exit_code == EXIT_FATAL


def test_acked_positions_only_move_forward():
    h, _ = started()
    h.acked("sources.raw", 0, 9)
    h.acked("sources.raw", 0, 4)
    assert h.positions[("sources.raw", 0)] == 10
