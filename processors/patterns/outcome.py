"""What extraction returns: the patterns, the structural summary, and every detector that failed.

Extraction never raises for any content. A detector that fails (an extractor, a design-pattern
detector, the architecture graph) is logged with the document id and becomes a
:class:`DetectorFailure` in :attr:`Extraction.failures`, so the caller can count it; what that
detector would have added is missing or replaced by a fallback (text passages tagged
``extractor_error`` when a whole extractor failed).

>>> log = FailureLog("doc-1")
>>> with log.guard("design:singleton"):
...     raise KeyError("methods")
>>> log.failures
(DetectorFailure(detector='design:singleton', document_id='doc-1', error="KeyError: 'methods'"),)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from schemas.patterns import PatternRecord
from schemas.structure import StructureSummary

__all__ = ["DetectorFailure", "Extraction", "FailureLog"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorFailure:
    """One detector raised on one document (or set): a bug to count and fix, not a property of the input."""

    detector: str  # e.g. ``python_code``, ``design:singleton``, ``architecture:graph``
    document_id: str | None
    error: str  # ``<exception class>: <message>``


@dataclass(frozen=True)
class Extraction:
    """The patterns of one document (or set), its structural summary (code only), and what failed."""

    patterns: tuple[PatternRecord, ...] = ()
    summary: StructureSummary | None = None
    failures: tuple[DetectorFailure, ...] = ()


class FailureLog:
    """Collects the failures of the detectors run for one document; :meth:`guard` runs one of them."""

    def __init__(self, document_id: str | None) -> None:
        self.document_id = document_id
        self._failures: list[DetectorFailure] = []

    @property
    def failures(self) -> tuple[DetectorFailure, ...]:
        return tuple(self._failures)

    def add(self, failures: tuple[DetectorFailure, ...]) -> None:
        """Take over failures reported by a step that collected its own."""
        self._failures.extend(failures)

    @contextmanager
    def guard(self, detector: str) -> Iterator[None]:
        """Run the block; an exception in it is logged and recorded as a failure of ``detector``."""
        try:
            yield
        except Exception as exc:  # a detector bug: recorded as a value, never raised into the pipeline
            log.exception("%s failed on document %s", detector, self.document_id)
            self._failures.append(DetectorFailure(detector, self.document_id, f"{type(exc).__name__}: {exc}"))
