"""Prometheus metrics of the stream worker (prefix ``assay_``), served on the worker's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

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

# -- what the published metric events say (streams.observe), and the aggregator ------------------------------
PRODUCE_TO_ENRICHED = Histogram(
    "assay_produce_to_enriched_seconds",
    "Input's Kafka timestamp → the indexer's events for it published, by outcome", ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
QUALITY_SCORE = Histogram(
    "assay_quality_score", "Quality scores (1–5) of the documents indexed or gated, by document type", ["doc_type"],
    buckets=(1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5),
)
SET_LAG = Histogram(
    "assay_set_lag_seconds", "A set member's update → the set's re-detected points indexed",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SEARCH_SECONDS = Histogram(
    "assay_search_seconds", "Semantic searches answered by the worker API (embed the query + search)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MODEL_INFO = Info("assay_model", "Model versions in use, by kind (embedding, quality)", ["kind"])
ALERTS = Counter("assay_alerts_total", "Alerts this worker published on the alerts topic", ["kind", "severity"])
AGGREGATE_WINDOWS = Counter("assay_aggregate_windows_total", "Per-minute aggregates published")
AGGREGATE_LATE = Counter("assay_aggregate_late_events_total",
                         "Metric events whose window was already published (not in any aggregate)")
TARGET_VALUE = Gauge("assay_target_value", "A target's value in the last aggregated window", ["target"])
TARGET_THRESHOLD = Gauge("assay_target_threshold", "A target's threshold", ["target"])
TARGET_MET = Gauge("assay_target_met", "1 when the last window with data met the target, else 0", ["target"])
CAPACITY_WORKERS = Gauge("assay_capacity_recommended_workers",
                         "Input workers the capacity advisor recommends after the last aggregated window")
CAPACITY_REPLICAS = Gauge("assay_capacity_recommended_inference_replicas",
                          "Inference replicas the capacity advisor recommends after the last aggregated window")
CAPACITY_INPUT_RATE = Gauge("assay_capacity_forecast_input_rate",
                            "Input documents/s forecast at the capacity advisor's horizon")
CAPACITY_LAG = Gauge("assay_capacity_forecast_lag_messages",
                     "Input lag forecast at the capacity advisor's horizon with the current workers")
