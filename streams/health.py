"""What a worker knows about its own health: readiness, stalls, crashes, and a watchdog that fails fast.

Each agent reports its micro-batches here (started, done, waiting on an outage, crashed). The
watchdog (:func:`evaluate`) turns that, the consumer's assignment and the partitions' lag into
a verdict: ready, not ready (with reasons), or stalled. A worker whose partitions have lag and
that makes no progress for ``stall_after_s``, or whose agent crashed, is stalled: it reports
not-ready, emits an alert, and exits non-zero so its supervisor restarts it. What it had not
acked is not committed and is processed again by the partition's next owner.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Callable

#: Exit codes of ``assay worker`` (documented in the README's operations section).
EXIT_OK = 0
EXIT_FATAL = 2  # a wrong configuration: fixing it, not restarting, helps
EXIT_STALLED = 3  # the watchdog found no progress, or an agent crashed
EXIT_SHUTDOWN_FORCED = 4  # SIGTERM/SIGINT, and the graceful stop did not finish in time

TP = tuple[str, int]


@dataclass
class AgentHealth:
    """One agent's progress, as its micro-batch loop reports it."""

    name: str
    started_at: float
    last_progress: float
    in_flight_since: float | None = None
    in_flight: int = 0
    waiting_on: str | None = None
    waiting_since: float | None = None
    crashed: str | None = None
    batches: int = 0
    events: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def batch_started(self, events: int) -> None:
        self.in_flight_since = self.clock()
        self.in_flight = events

    def batch_done(self) -> None:
        now = self.clock()
        self.last_progress = now
        self.batches += 1
        self.events += self.in_flight
        self.in_flight_since = None
        self.in_flight = 0
        self.waiting(None)

    def waiting(self, what: str | None) -> None:
        """Report an outage being waited out (``None``: no longer waiting)."""
        if what is None:
            self.waiting_on = self.waiting_since = None
        else:
            if self.waiting_on is None:
                self.waiting_since = self.clock()
            self.waiting_on = what

    def crash(self, exc: BaseException) -> None:
        self.crashed = f"{type(exc).__name__}: {exc}"[:500]


#: The agent whose batch is running in this task: retries report their waits to it.
CURRENT_AGENT: contextvars.ContextVar[AgentHealth | None] = contextvars.ContextVar("assay_agent", default=None)


def report_waiting(what: str | None) -> None:
    """Tell the running agent's health what it waits for (no-op outside an agent)."""
    agent = CURRENT_AGENT.get()
    if agent is not None:
        agent.waiting(what)


@dataclass(frozen=True)
class Verdict:
    """The watchdog's view at one moment."""

    ready: bool
    reasons: tuple[str, ...] = ()
    stalled: str | None = None  # set: the worker must stop (exit code in ``exit_code``)
    exit_code: int = EXIT_OK


@dataclass
class WorkerHealth:
    """Everything /ready and the watchdog look at; mutated only on the worker's event loop."""

    stall_after_s: float = 180.0
    clock: Callable[[], float] = time.monotonic
    store_loaded: bool = False
    model_loaded: bool = False
    started: bool = False
    fatal: str | None = None
    agents: dict[str, AgentHealth] = field(default_factory=dict)
    agent_topics: dict[str, str] = field(default_factory=dict)  # agent name → the topic it consumes
    assigned: set[TP] = field(default_factory=set)
    lag: dict[TP, int] = field(default_factory=dict)
    positions: dict[TP, int] = field(default_factory=dict)  # next offset after the last acked one
    assigned_at: float | None = None

    def agent(self, name: str, topic: str) -> AgentHealth:
        if name not in self.agents:
            now = self.clock()
            self.agents[name] = AgentHealth(name, started_at=now, last_progress=now, clock=self.clock)
            self.agent_topics[name] = topic
        return self.agents[name]

    def acked(self, topic: str, partition: int, offset: int) -> None:
        tp = (topic, partition)
        if offset + 1 > self.positions.get(tp, -1):
            self.positions[tp] = offset + 1

    def fail(self, reason: str) -> None:
        """A configuration error no restart fixes: the watchdog stops the worker with EXIT_FATAL."""
        self.fatal = reason

    def on_assigned(self, assigned: set[TP]) -> None:
        self.assigned = set(assigned)
        self.assigned_at = self.clock()
        for agent in self.agents.values():  # a new assignment is a fresh start for the stall clock
            agent.last_progress = max(agent.last_progress, self.assigned_at)

    def evaluate(self) -> Verdict:
        """Ready, not ready, or stalled, with the reasons in words."""
        now = self.clock()
        if self.fatal:
            return Verdict(False, (self.fatal,), stalled=self.fatal, exit_code=EXIT_FATAL)
        reasons: list[str] = []
        for agent in self.agents.values():
            if agent.crashed:
                why = f"agent {agent.name} crashed: {agent.crashed}"
                return Verdict(False, (why,), stalled=why, exit_code=EXIT_STALLED)
            stalled = self._stall(agent, now)
            if stalled:
                return Verdict(False, (stalled,), stalled=stalled, exit_code=EXIT_STALLED)
            if agent.waiting_on:
                reasons.append(f"agent {agent.name} waits: {agent.waiting_on}")
        if not self.started:
            reasons.append("worker starting")
        if not self.store_loaded:
            reasons.append("vector store not open")
        if not self.model_loaded:
            reasons.append("models not loaded")
        if not self.assigned:
            reasons.append("no partitions assigned")
        return Verdict(not reasons, tuple(reasons))

    def _stall(self, agent: AgentHealth, now: float) -> str | None:
        limit = self.stall_after_s
        if agent.in_flight_since is not None and now - agent.in_flight_since > limit:
            what = f" (waiting on {agent.waiting_on})" if agent.waiting_on else ""
            return (f"agent {agent.name}: a batch of {agent.in_flight} events has been in flight for "
                    f"{now - agent.in_flight_since:.0f}s{what}")
        topic = self.agent_topics.get(agent.name)
        behind = {tp: n for tp, n in self.lag.items() if tp[0] == topic and n > 0 and tp in self.assigned}
        if agent.in_flight_since is None and behind and now - agent.last_progress > limit:
            total = sum(behind.values())
            return (f"agent {agent.name}: {total} messages wait on {len(behind)} assigned partition(s) of {topic} "
                    f"and nothing was processed for {now - agent.last_progress:.0f}s")
        return None
