"""Typed settings, read once from the environment (prefix ``ASSAY_``).

Each subsystem has its own prefix (``ASSAY_KAFKA_…``, ``ASSAY_QDRANT_…``, …). Secrets are
``SecretStr`` and never appear in logs or ``repr``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_KAFKA_", extra="ignore")

    bootstrap_servers: str | None = Field(None, description="host:port[,…]; unset = start/use the embedded broker")
    topic_prefix: str = Field("", description="Prepended to every topic name, e.g. 'dev.'")
    partitions: int = Field(4, ge=1, description="Partitions of sources.raw (and the pipeline's internal topics)")
    replication_factor: int | None = Field(
        None, ge=1, description="Replicas of every topic Assay creates; unset = 3, or 1 on the embedded broker. "
                                "Topics are not created when the cluster has fewer brokers")
    min_insync_replicas: int | None = Field(
        None, ge=1, description="min.insync.replicas of every topic Assay creates (writes use acks=all); "
                                "unset = 2, or 1 on the embedded broker; never more than the replication factor")
    create_topics: bool = Field(True, description="The worker creates missing topics; false = it only checks that "
                                                  "they exist with the right partitions (topics provisioned elsewhere)")
    extra: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description='More librdkafka properties, as JSON, e.g. {"compression.type": "zstd"}; '
                                          "applied last to every confluent-kafka client (not to Faust's consumer)")
    security_protocol: str | None = None  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    session_timeout_s: float = Field(10.0, gt=0, description="Consumer-group session timeout")
    consumer_group: str = "assay-pipeline"
    max_message_bytes: int = Field(1_000_000, ge=10_000, description="Largest record Assay publishes to a user-facing "
                                   "topic (key + value; Kafka's default limit); larger outputs are dead-lettered")
    internal_max_message_bytes: int = Field(8 * 1024 * 1024, ge=100_000, description="Largest points.pending record "
                                            "(a source's points with vectors); set as that topic's max.message.bytes")

    def librdkafka_config(self) -> dict[str, Any]:
        """Connection settings for confluent-kafka clients (producer, consumer, admin)."""
        if not self.bootstrap_servers:
            raise ValueError("ASSAY_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker is running")
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            conf["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_cafile:
            conf["ssl.ca.location"] = self.ssl_cafile
        if self.ssl_certfile:
            conf["ssl.certificate.location"] = self.ssl_certfile
        if self.ssl_keyfile:
            conf["ssl.key.location"] = self.ssl_keyfile
        conf.update(self.extra)
        return conf

    @model_validator(mode="after")
    def _replication_fits(self) -> "KafkaSettings":
        if self.replication_factor and self.min_insync_replicas and self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"ASSAY_KAFKA_MIN_INSYNC_REPLICAS={self.min_insync_replicas} is more than "
                             f"ASSAY_KAFKA_REPLICATION_FACTOR={self.replication_factor}: no write could succeed")
        return self


class QdrantSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_QDRANT_", extra="ignore")

    url: str | None = Field(None, description="Qdrant server URL; unset = embedded Qdrant Edge under the data dir")
    api_key: SecretStr | None = None
    collection: str = "assay_patterns"
    expected_points: int = Field(100_000, ge=1, description="Sizing hint for HNSW parameters (small/medium/large tier)")


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_REDIS_", extra="ignore")

    url: str | None = Field(None, description="redis://host:port/db; unset = cache off")
    ttl_s: int = Field(7 * 24 * 3600, ge=1)
    retry_s: float = Field(30.0, gt=0, description="After a Redis failure, embed without the cache this long, then try it")


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_INFERENCE_", extra="ignore")

    backend: str = Field("auto", description="auto | onnx | torch | remote")
    model_path: str | None = Field(None, description="sentence-transformers model dir; default: bundled all-MiniLM-L6-v2")
    precision: str = Field("auto", description="auto | fp32 | int8 | fp16")
    remote_url: str | None = None
    remote_token: SecretStr | None = None
    remote_api: str = Field("openai", description="openai (/v1/embeddings) | tei (/embed)")
    remote_model: str | None = Field(None, description="Model name sent to an OpenAI-compatible server")
    max_batch_tokens: int = Field(8192, ge=64, description="Token budget per batch, padding counted")
    max_batch_size: int = Field(64, ge=1)
    max_padding: float = Field(0.5, ge=0.0, lt=1.0, description="Max share of padded token slots in one batch")
    max_queue: int = Field(4096, ge=1, description="Bounded request queue; callers wait when full")
    max_tokens: int = Field(256, ge=8, description="Texts longer than this are truncated (counted)")
    threads: int = Field(0, ge=0, description="Intra-op threads; 0 = all cores")


class LearnerSettings(BaseSettings):
    """``assay learner``: online learning of the quality model from ``quality.feedback``."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_LEARNER_", extra="ignore")

    batch_size: int = Field(64, ge=1, description="Feedback records per micro-batch")
    batch_within_s: float = Field(1.0, gt=0, description="Max wait to fill a micro-batch")
    cut_every_labels: int = Field(2000, ge=0, description="Cut a candidate after this many learned labels (0: never)")
    cut_every_s: float = Field(86_400.0, ge=0, description="… or after this long with new labels (0: never)")
    cut_after_drift_labels: int = Field(300, ge=0, description="… or this many labels after a drift alarm")
    holdout_share: float = Field(0.1, gt=0, lt=1, description="Share of labelled sources never learned (validation)")
    validation_rows: int = Field(500, ge=10, description="Held-back labels a candidate is validated on")
    min_validation_rows: int = Field(100, ge=1, description="A due cut waits until this many held-back labels")
    ab_min_labels_shadow: int = Field(200, ge=1, description="Labelled pairs in shadow before the ramp starts")
    ab_min_labels_per_step: int = Field(200, ge=1, description="Labelled pairs per ramp step (1 → 5 → 25 %)")
    ab_min_samples: int = Field(100, ge=2, description="No A/B decision before this many labelled pairs")
    ab_max_samples: int = Field(20_000, ge=2, description="Stop an undecided A/B test here (the control stays)")
    ab_alpha: float = Field(0.05, gt=0, lt=1, description="Error bound of the always-valid test, each direction")
    seed_data: Path | None = Field(None, description="Labelled parquet/csv/jsonl seeding the replay buffer "
                                   "(the model's training set), read once at the first start")
    seed_rows: int = Field(3000, ge=0, description="At most this many seed rows")
    drift_window: int = Field(400, ge=20, description="Documents per input-drift window and document type")
    drift_sample_every: int = Field(1, ge=1, description="Sample one document in N for input drift")
    finetune_every_labels: int = Field(0, ge=0, description="Start a background job continuing the encoder half's "
                                       "fine-tuning after this many new learned labels (0: never)")
    finetune_threads: int = Field(1, ge=1, description="torch threads of that job")
    finetune_nice: int = Field(10, ge=0, le=19, description="Its nice level (it never slows the learner down)")
    finetune_max_steps: int | None = Field(None, ge=1, description="At most this many optimizer steps per job "
                                           "(default: one epoch over the new labels)")
    finetune_require_better: bool = Field(True, description="Register the job's candidate only if it beats the "
                                          "published version on held-back labels (else the A/B test alone decides)")


class ObservabilitySettings(BaseSettings):
    """Heartbeats, per-minute aggregates and the service targets they are held to (``ASSAY_OBS_…``).

    A target set to ``none`` (``ASSAY_OBS_TARGET_QUERY_P99_S=none``) is not evaluated.
    """

    model_config = SettingsConfigDict(env_prefix="ASSAY_OBS_", extra="ignore", env_parse_none_str="none")

    heartbeat_interval_s: float = Field(10.0, gt=0, description="How often a worker publishes its heartbeat metric")
    aggregate: bool = Field(True, description="Run the per-minute aggregator in all/compute workers")
    window_s: float = Field(60.0, gt=0, description="Aggregate window length")
    grace_s: float = Field(10.0, ge=0, description="How long after its end a window waits for late events")
    startup_grace_s: float = Field(60.0, ge=0, description="Not-ready heartbeats this soon after a worker "
                                   "started do not count against availability")
    critical_after_windows: int = Field(5, ge=1, description="Breached windows in a row before an alert is critical")
    target_extraction_rate: float | None = Field(20.0, description="At least: patterns per second of processing")
    target_embed_s_per_pattern: float | None = Field(0.05, description="At most: embedding seconds per pattern")
    target_query_p99_s: float | None = Field(0.5, description="At most: search time p99 (s)")
    target_quality_mean: float | None = Field(2.5, description="At least: mean quality of the documents scored")
    target_availability: float | None = Field(0.99, description="At least: share of heartbeats reporting ready")
    target_latency_p99_s: float | None = Field(120.0, description="At most: produce → indexed p99 (s)")
    capacity: bool = Field(True, description="Publish a capacity forecast on capacity.forecasts after each window")
    capacity_horizon_windows: int = Field(5, ge=1, le=60, description="Windows ahead the input rate and lag are forecast")
    capacity_headroom: float = Field(1.2, ge=1.0, description="Recommended capacity over the forecast input rate")
    capacity_min_workers: int = Field(1, ge=1, description="The fewest input workers ever recommended")
    capacity_max_workers: int = Field(32, ge=1, description="The most input workers ever recommended")
    capacity_min_replicas: int = Field(1, ge=0, description="The fewest inference replicas ever recommended")
    capacity_max_replicas: int = Field(8, ge=0, description="The most inference replicas ever recommended")
    capacity_worker_docs_per_s: float | None = Field(
        None, gt=0, description="Documents/s one input worker processes, until a window with a backlog measures it")
    capacity_saturation_lag: int = Field(100, ge=1, description="Input lag at both ends of a window that makes it "
                                         "a measurement of capacity (the workers never ran out of work)")
    capacity_target_lag_messages: float | None = Field(
        2000.0, ge=0, description="At most: the input lag forecast at the horizon (none: no capacity alert)")

    @model_validator(mode="after")
    def _capacity_bounds(self) -> "ObservabilitySettings":
        if self.capacity_min_workers > self.capacity_max_workers:
            raise ValueError(f"ASSAY_OBS_CAPACITY_MIN_WORKERS={self.capacity_min_workers} is more than "
                             f"ASSAY_OBS_CAPACITY_MAX_WORKERS={self.capacity_max_workers}")
        if self.capacity_min_replicas > self.capacity_max_replicas:
            raise ValueError(f"ASSAY_OBS_CAPACITY_MIN_REPLICAS={self.capacity_min_replicas} is more than "
                             f"ASSAY_OBS_CAPACITY_MAX_REPLICAS={self.capacity_max_replicas}")
        return self


class Settings(BaseSettings):
    """Pipeline-level settings plus one block per subsystem."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="ignore")

    data_dir: Path = Field(Path(".assay"), description="Embedded broker state, Qdrant Edge shard, model cache")
    model_cache_dir: Path | None = Field(None, description="Exported/quantized models; default <data_dir>/models")
    max_document_bytes: int = Field(1_000_000, ge=1, description="Larger documents are rejected to the DLQ")
    quality_threshold: float = Field(2.0, ge=1.0, le=5.0, description="Documents whose expected quality is below are not indexed")
    quality_model: Literal["learned", "baseline"] = Field("learned", description="learned (registry's current version, for documentation and general text; "
                                                      "the heuristic for the rest) | baseline (the heuristic for everything)")
    quality_registry: Path | None = Field(None, description="Quality-model registry directory, shared by workers "
                                          "and the learner; default <data_dir>/models/quality")
    quality_explain_top: int = Field(0, ge=0, le=100, description="Attach this many top feature contributions to each "
                                     "learned quality score in enriched events (0: none)")
    batch_size: int = Field(16, ge=1, description="Documents per micro-batch taken from the stream")
    batch_within_s: float = Field(0.5, gt=0, description="Max wait to fill a micro-batch")
    set_batch_size: int = Field(256, ge=1, description="Set member updates per micro-batch of the set agent")
    set_batch_within_s: float = Field(
        1.0, gt=0, description="Max wait to fill a set micro-batch: a set is re-detected once per batch")
    worker_role: Literal["all", "compute", "index"] = Field(
        "all", description="all: one process does everything | compute: validate, score, extract, embed "
                           "(scale out) | index: the store writer (one per Edge shard, or N on a Qdrant server)")
    index_batch_size: int = Field(64, ge=1, description="points.pending records per micro-batch of the indexer")
    index_batch_within_s: float = Field(0.2, gt=0, description="Max wait to fill an indexer micro-batch")
    stall_after_s: float = Field(180.0, gt=0, description="No progress for this long with lag, or a batch in flight "
                                 "this long: the watchdog calls the worker stalled")
    watchdog_interval_s: float = Field(2.0, gt=0, description="How often the watchdog checks")
    watchdog_exit: bool = Field(True, description="Exit (code 3) when stalled, so a supervisor restarts the worker")
    shutdown_timeout_s: float = Field(15.0, gt=0, description="SIGTERM: graceful stop within this, else exit at once")
    worker_name: str = Field("", description="Shown in metric and DLQ events; default host:pid")
    web_host: str = Field("127.0.0.1", description="Worker HTTP API bind address; anything but loopback needs "
                                                   "ASSAY_WEB_TOKEN (or ASSAY_WEB_ALLOW_NO_TOKEN=true)")
    web_token: SecretStr | None = Field(None, description="Bearer token the worker API requires (except /health, "
                                                          "/ready); `assay search`/`status` send it")
    web_allow_no_token: bool = Field(False, description="Serve the worker API on a non-loopback address without a "
                                                        "token (only behind something that authenticates)")
    web_port: int = Field(6066, ge=0, le=65535, description="Worker HTTP API (search, stats, /metrics); 0 = pick a free port")
    optimize_interval_s: float = Field(60.0, gt=0, description="How often the worker considers optimizing the store")
    optimize_min_writes: int = Field(5000, ge=1, description="Points written since the last optimize before another")
    retry_max_backoff_s: float = Field(30.0, gt=0)
    log_level: str = "INFO"

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def quality_registry_dir(self) -> Path:
        """Versioned quality models and the ``current`` pointer (shared by workers and the learner)."""
        return self.quality_registry or self.data_dir / "models" / "quality"

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    learner: LearnerSettings = Field(default_factory=LearnerSettings)
    obs: ObservabilitySettings = Field(default_factory=ObservabilitySettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
