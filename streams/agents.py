"""The worker's agents, by role. Each is the same loop (:func:`streams.batches.run_stage`) over one stage.

==================  ===================  ==========================================  ===============
agent               consumes             stage                                       role
==================  ===================  ==========================================  ===============
``process_sources`` ``sources.raw``      :class:`streams.compute.ComputeStage`        all, compute
``process_sets``    ``sets.members``     :class:`streams.set_stage.SetStage`          all, compute
``index_points``    ``points.pending``   :class:`streams.indexing.Indexer`            all, index
==================  ===================  ==========================================  ===============

The agents are a few lines each and differ only in their stage and batch settings, so they live
together here rather than in a module each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust

from infra.kafka.topics import POINTS_PENDING, SET_MEMBERS, SOURCES_RAW
from infra.settings import Settings
from streams.batches import run_stage
from streams.compute import ComputeStage
from streams.health import WorkerHealth
from streams.indexing import Indexer
from streams.publish import Publisher
from streams.set_stage import ChangelogSetTable, SetStage

log = logging.getLogger(__name__)


@dataclass
class Stages:
    """What one worker runs: the compute side, the index side, or both."""

    compute: ComputeStage | None = None
    sets: SetStage | None = None
    set_table: ChangelogSetTable | None = None
    indexer: Indexer | None = None


def register_agents(app: faust.App, settings: Settings, topics: dict[str, faust.TopicT], stages: Stages,
                    publisher: Publisher, health: WorkerHealth) -> None:
    if stages.compute is not None:
        compute = stages.compute
        sources = topics[SOURCES_RAW]

        @app.agent(sources, name="process_sources")
        async def process_sources(stream: faust.StreamT) -> None:
            await run_stage("process_sources", sources.get_topic_name(), stream, compute.process, publisher, health,
                            batch_size=settings.batch_size, within_s=settings.batch_within_s)

    if stages.sets is not None and stages.set_table is not None:
        set_stage, table = stages.sets, stages.set_table
        members = topics[SET_MEMBERS]
        members_topic = members.get_topic_name()

        @app.on_partitions_revoked.connect
        async def forget_revoked_sets(sender: Any, revoked: Any, **_: Any) -> None:
            table.forget(tp.partition for tp in revoked if tp.topic == members_topic)

        @app.agent(members, name="process_sets")
        async def process_sets(stream: faust.StreamT) -> None:
            await run_stage("process_sets", members_topic, stream, set_stage.process, publisher, health,
                            batch_size=settings.set_batch_size, within_s=settings.set_batch_within_s)

    if stages.indexer is not None:
        indexer = stages.indexer
        pending = topics[POINTS_PENDING]

        @app.agent(pending, name="index_points")
        async def index_points(stream: faust.StreamT) -> None:
            await run_stage("index_points", pending.get_topic_name(), stream, indexer.process, publisher, health,
                            batch_size=settings.index_batch_size, within_s=settings.index_batch_within_s)

        @app.timer(interval=settings.optimize_interval_s)
        async def optimize_store() -> None:
            # Qdrant Edge searches by exact scan until optimized; build the HNSW index as data grows.
            if await indexer.optimize_if_written(settings.optimize_min_writes):
                log.info("vector store optimized")
