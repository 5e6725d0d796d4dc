"""Follow the ``models`` topic: every worker loads each promoted version and swaps it in.

The topic is compacted and read from the beginning by every worker (assigned, not in a
consumer group: each worker must see every promotion). Loading happens on this thread; the
swap is one reference assignment that the runtime reads once per micro-batch, so a batch is
scored by exactly one version and in-flight documents are neither lost nor scored twice. A
version that fails to load is refused with a log line and a metric; the current one stays.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import orjson
from confluent_kafka import Producer
from prometheus_client import Counter
from pydantic import ValidationError

from infra.errors import BrokerError
from schemas.models import ModelPromotion
from streams.follow import TopicFollower

log = logging.getLogger(__name__)

MODEL_SWAPS = Counter("assay_model_swaps_total", "Model versions applied from the models topic", ["kind", "result"])


class ModelWatcher(TopicFollower):
    """Daemon thread: promotions → ``load(promotion)`` → ``apply(model)``."""

    def __init__(self, conf: dict[str, Any], topic: str, load: Callable[[ModelPromotion], Any],
                 apply: Callable[[ModelPromotion, Any], None]) -> None:
        super().__init__(conf, topic, name="assay-model-watcher")
        self._load = load
        self._apply = apply
        self.applied: list[str] = []

    def handle(self, raw: bytes) -> bool:
        """Apply one promotion message; False (and the current model kept) when it is refused."""
        try:
            promotion = ModelPromotion.model_validate(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            log.error("ignoring a malformed message on %s: %s", self._topic, exc)
            MODEL_SWAPS.labels(kind="unknown", result="malformed").inc()
            return False
        try:
            model = self._load(promotion)
        except Exception as exc:  # noqa: BLE001 - any bad artifact is refused, the worker goes on
            log.error("refused %s model %s (%s): %s; keeping the current model",
                      promotion.kind, promotion.version, promotion.action, exc)
            MODEL_SWAPS.labels(kind=promotion.kind, result="refused").inc()
            return False
        self._apply(promotion, model)
        self.applied.append(promotion.version)
        MODEL_SWAPS.labels(kind=promotion.kind, result="applied").inc()
        log.info("now using %s model %s (%s)", promotion.kind, promotion.version, promotion.action)
        return True


def publish_promotion(conf: dict[str, Any], topic: str, promotion: ModelPromotion, timeout_s: float = 30.0) -> None:
    """Send a promotion and wait for the broker's ack."""
    producer = Producer({**conf, "acks": "all"})
    errors: list[Any] = []
    producer.produce(topic, key=promotion.kind.encode(), value=orjson.dumps(promotion.model_dump(mode="json")),
                     on_delivery=lambda err, _m: errors.append(err) if err else None)
    if producer.flush(timeout_s) or errors:
        raise BrokerError(f"could not publish the promotion of {promotion.kind} {promotion.version}: {errors or 'timeout'}")

