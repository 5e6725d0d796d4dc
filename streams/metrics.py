"""Prometheus metrics of the stream worker (prefix ``assay_``), served on the worker's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DOCUMENTS = Counter("assay_documents_total", "Input messages by outcome", ["outcome"])
PATTERNS_INDEXED = Counter("assay_patterns_indexed_total", "Pattern points upserted to the vector store")
PATTERNS_DELETED = Counter("assay_patterns_deleted_total", "Pattern points removed (stale, gated or source deleted)")
DEAD_LETTERS = Counter("assay_dead_letters_total", "Inputs sent to the DLQ", ["stage", "error_class"])
DETECTOR_FAILURES = Counter("assay_detector_failures_total", "Pattern detectors that raised (a bug)", ["detector"])
RETRIES = Counter("assay_retries_total", "Retried operations after a transient failure", ["stage"])
STAGE_SECONDS = Histogram(
    "assay_stage_seconds", "Time per pipeline stage for one micro-batch", ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_DOCUMENTS = Histogram(
    "assay_batch_documents", "Documents per micro-batch taken from the stream",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
SET_SECONDS = Histogram(
    "assay_set_refresh_seconds", "Time to re-detect one set and update its points",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTPUTS_REFUSED = Counter(
    "assay_outputs_refused_total", "Output records that could not be written (over the limit or refused by the broker)",
    ["role", "error_class"])
PUBLISH_RETRIES = Counter("assay_publish_retries_total", "Rounds of re-sending records after a transient broker failure")
BATCH_FAILURES = Counter(
    "assay_batch_failures_total", "Micro-batches that raised and were processed again one message at a time", ["agent"])
WATCHDOG_STALLS = Counter("assay_watchdog_stalls_total", "Stalls and crashes the watchdog found", ["kind"])
READY = Gauge("assay_ready", "1 when the worker is ready (see /ready), else 0")
CONSUMER_LAG = Gauge("assay_consumer_lag_messages", "End offset minus committed offset, per assigned partition",
                     ["topic", "partition"])
