"""Unlabelled input drift: the documents the pipeline receives, window after window, per document type.

The sources.raw mirror hands every mirrored document to :meth:`InputWatch.offer`, which keeps one
in ``sample_every`` in a bounded queue. The learner drains it between batches (:meth:`drain`):
each sampled document is embedded as the quality stage does and scored by the published model,
and joins the current window. When a window holds ``window`` documents it is compared with the
reference window (:func:`processors.learning.input_drift.compare_windows`: domain-classifier AUC
and MMD on the embeddings, PSI/KS on the scores, per document type and for all together); the
first full window is the reference, and a promotion starts a new one. Drift becomes an alert, a
metric, and a candidate cut.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import numpy as np
from prometheus_client import Counter, Gauge

from processors.learning.examples import model_proba
from processors.learning.input_drift import InputDriftReport, Window, compare_windows
from processors.quality.classes import score_of
from processors.quality.model import QualityModel
from schemas.documents import Document

log = logging.getLogger(__name__)

INPUT_DRIFT = Gauge("assay_input_drift", "1 when the last window of inputs drifted from the reference",
                    ["doc_type", "signal"])
INPUT_DRIFT_ALARMS = Counter("assay_input_drift_alarms_total", "Input windows that drifted from the reference",
                             ["doc_type"])


class InputWatch:
    def __init__(self, window: int, sample_every: int = 1, max_queue: int = 5000) -> None:
        self.window = window
        self.sample_every = sample_every
        self._queue: deque[Document] = deque(maxlen=max_queue)
        self._lock = threading.Lock()
        self._seen = 0
        self.reference: Window | None = None
        self._rows: list[tuple[np.ndarray, float, str]] = []
        self.reports: list[dict[str, InputDriftReport]] = []

    def offer(self, docs: list[Document]) -> None:
        """Called by the mirror thread with each batch of mirrored documents."""
        with self._lock:
            for doc in docs:
                self._seen += 1
                if self._seen % self.sample_every == 0:
                    self._queue.append(doc)

    def take(self, limit: int = 256) -> list[Document]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]

    def reset_reference(self) -> None:
        """After a promotion the served model changed: the next full window is the new reference."""
        self.reference = None
        self._rows = []

    def add(self, docs: list[Document], embeddings: np.ndarray, model: QualityModel) -> dict[str, InputDriftReport]:
        """Score and window ``docs``; the drifted types' reports when a window closed, else ``{}``."""
        if not docs:
            return {}
        scores = [score_of(p) for p in model_proba(model, docs, embeddings)]
        self._rows.extend(zip(np.asarray(embeddings), scores, (d.type.value for d in docs)))
        if len(self._rows) < self.window:
            return {}
        rows, self._rows = self._rows[: self.window], self._rows[self.window:]
        current = Window(np.stack([r[0] for r in rows]), np.array([r[1] for r in rows]), tuple(r[2] for r in rows))
        if self.reference is None:
            self.reference = current
            log.info("input drift: reference window of %d documents", len(current))
            return {}
        reports = compare_windows(self.reference, current)
        self.reports.append(reports)
        drifted = {}
        for doc_type, r in reports.items():
            INPUT_DRIFT.labels(doc_type=doc_type, signal="embedding").set(int(r.embedding_drift))
            INPUT_DRIFT.labels(doc_type=doc_type, signal="score").set(int(r.score_drift))
            if r.embedding_drift or r.score_drift:
                INPUT_DRIFT_ALARMS.labels(doc_type=doc_type).inc()
                drifted[doc_type] = r
        return drifted


def describe(report: InputDriftReport) -> dict[str, Any]:
    return {"doc_type": report.doc_type, "reference": report.n_reference, "current": report.n_current,
            "auc": round(report.auc, 4), "mmd_p": round(report.mmd.p_value, 4), "psi": round(report.scores.psi, 4),
            "score_mean": [round(report.scores.mean_reference, 3), round(report.scores.mean_current, 3)],
            "novel_documents": report.novel_documents, "mix_shift": report.mix_shift,
            "score_drift": report.score_drift}
