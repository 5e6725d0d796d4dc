"""Workers follow the running model experiment: a candidate scores in shadow, then serves its share.

A daemon thread reads the compacted ``experiments`` topic from the beginning (assigned: every
worker must see every record). On ``shadow`` or ``ramping`` it loads the candidate from the
registry (checksum verified) and publishes an :class:`ActiveExperiment`; on any other phase it
clears it. The compute stage reads :attr:`ExperimentWatcher.active` once per micro-batch, as it
reads its scorer, so a batch sees one experiment state.

A candidate that fails to load is refused with a log line: the worker keeps serving the control.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from pydantic import ValidationError

from processors.learning.rollout import bucket
from processors.quality.scorers import QualityScorer
from schemas.experiments import ExperimentRecord
from streams.follow import TopicFollower

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveExperiment:
    """A running experiment as a worker uses it."""

    record: ExperimentRecord
    scorer: QualityScorer

    def serves_candidate(self, source_id: str) -> bool:
        """Whether the candidate's score is served for this source (monotone in the share)."""
        return self.record.phase == "ramping" and bucket(source_id, self.record.experiment_id) < self.record.share


class ExperimentWatcher(TopicFollower):
    def __init__(self, conf: dict[str, Any], topic: str,
                 load: Callable[[str, str | None], QualityScorer]) -> None:
        super().__init__(conf, topic, name="assay-experiment-watcher")
        self._load = load
        self.active: ActiveExperiment | None = None
        self.latest: ExperimentRecord | None = None

    def handle(self, raw: bytes) -> None:
        try:
            record = ExperimentRecord.model_validate(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            log.error("ignoring a malformed record on %s: %s", self._topic, exc)
            return
        self.latest = record
        if record.phase not in ("shadow", "ramping"):
            if self.active is not None:
                log.info("experiment %s ended: %s", record.experiment_id, record.phase)
            self.active = None
            return
        current = self.active
        if current is not None and current.record.candidate_version == record.candidate_version:
            self.active = ActiveExperiment(record, current.scorer)  # same candidate, new phase or share
            return
        try:
            scorer = self._load(record.candidate_version, record.candidate_checksum)
        except Exception as exc:  # noqa: BLE001 - a bad candidate is refused; the control keeps serving
            log.error("refused experiment candidate %s: %s", record.candidate_version, exc)
            self.active = None
            return
        self.active = ActiveExperiment(record, scorer)
        log.info("experiment %s: candidate %s in %s (share %.0f %%)", record.experiment_id, record.candidate_version,
                 record.phase, record.share * 100)
