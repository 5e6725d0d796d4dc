"""The detection driver: structural summaries → index → every detector → overlaps resolved.

Every detector runs guarded: one that raises is logged with the document id and reported as a
:class:`~processors.patterns.outcome.DetectorFailure` next to the detections of the others; the
overlap resolution likewise (its failure keeps the unresolved detections above the floor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from processors.patterns.design.behavioural import (detect_commands, detect_interpreters, detect_iterators,
                                                    detect_mementos, detect_template_methods)
from processors.patterns.design.callbacks import detect_observers_and_mediators, detect_visitors
from processors.patterns.design.creational import detect_builders, detect_factories, detect_prototypes
from processors.patterns.design.delegation import detect_delegation
from processors.patterns.design.detection import REPORT_MIN, Detection
from processors.patterns.design.index import StructureIndex, is_test_class
from processors.patterns.design.resolve import resolve_overlaps
from processors.patterns.design.singleton import detect_singletons
from processors.patterns.design.structural import detect_composites, detect_facades, detect_flyweights
from processors.patterns.outcome import DetectorFailure, FailureLog

__all__ = ["DETECTORS", "DesignPatterns", "detect_design_patterns"]

#: The detectors, in the order they run (the facade detector runs last: it skips classes already taken).
DETECTORS: tuple[Callable[[StructureIndex], list[Detection]], ...] = (
    detect_singletons, detect_factories, detect_builders, detect_prototypes, detect_delegation, detect_composites,
    detect_commands, detect_interpreters, detect_iterators, detect_observers_and_mediators, detect_mementos,
    detect_template_methods, detect_visitors, detect_flyweights,
)


@dataclass(frozen=True)
class DesignPatterns:
    """What detection found, and the detectors that failed while looking."""

    detections: tuple[Detection, ...] = ()
    failures: tuple[DetectorFailure, ...] = ()


def _name(detector: Callable[..., Any]) -> str:
    return "design:" + detector.__name__.removeprefix("detect_")


def detect_design_patterns(summaries: Iterable[Any], *, document_id: str | None = None) -> DesignPatterns:
    """GoF pattern instances in the merged structural summaries (one file or a whole set).

    Classes with the same name in several summaries are merged (bases/fields/methods united), so a
    later stage may pass the summaries of all files of one ``set_id``. Detections below
    :data:`~.detection.REPORT_MIN` are dropped, and overlapping interpretations of the same classes
    are resolved (e.g. state beats strategy when states switch the context; interpreter beats
    decorator/composite for expression trees). ``document_id`` names the document (or set) in the
    failures and the log.
    """
    ix = StructureIndex(summaries)
    if not ix.classes and not ix.functions:
        return DesignPatterns()
    log = FailureLog(document_id)
    dets: list[Detection] = []
    for detector in DETECTORS:
        with log.guard(_name(detector)):
            dets.extend(detector(ix))
    taken = {p for d in dets for p in d.participants}
    with log.guard("design:facades"):
        dets.extend(detect_facades(ix, taken))
    dets = [d for d in dets if not all(is_test_class(p, ix.classes[p]) for p in d.participants if p in ix.classes)
            or not any(p in ix.classes for p in d.participants)]
    resolved = [d for d in dets if d.confidence >= REPORT_MIN]
    with log.guard("design:resolve"):
        resolved = resolve_overlaps(dets)
    return DesignPatterns(tuple(resolved), log.failures)
