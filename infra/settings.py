"""Typed settings, read once from the environment (prefix ``ASSAY_``).

Each subsystem has its own prefix (``ASSAY_KAFKA_…``, ``ASSAY_QDRANT_…``, …). Secrets are
``SecretStr`` and never appear in logs or ``repr``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_KAFKA_", extra="ignore")

    bootstrap_servers: str | None = Field(None, description="host:port[,…]; unset = start/use the embedded broker")
    topic_prefix: str = Field("", description="Prepended to every topic name, e.g. 'dev.'")
    partitions: int = Field(4, ge=1, description="Partitions of sources.raw (and the pipeline's internal topics)")
    replication_factor: int = Field(1, ge=1)
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
        return conf


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


class Settings(BaseSettings):
    """Pipeline-level settings plus one block per subsystem."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="ignore")

    data_dir: Path = Field(Path(".assay"), description="Embedded broker state, Qdrant Edge shard, model cache")
    model_cache_dir: Path | None = Field(None, description="Exported/quantized models; default <data_dir>/models")
    max_document_bytes: int = Field(1_000_000, ge=1, description="Larger documents are rejected to the DLQ")
    quality_threshold: float = Field(2.0, ge=1.0, le=5.0, description="Documents whose expected quality is below are not indexed")
    quality_model: Literal["learned", "baseline"] = Field("learned", description="learned (registry's current version, for documentation and general text; "
                                                      "the heuristic for the rest) | baseline (the heuristic for everything)")
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
    web_host: str = "127.0.0.1"
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
        """Versioned quality models and the ``current`` pointer of this data dir."""
        return self.data_dir / "models" / "quality"

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
