"""JSON Schema per topic, generated from the pydantic records (``assay schemas export DIR``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.aggregates import WindowAggregate
from schemas.alerts import Alert
from schemas.capacity import CapacityForecast
from schemas.dlq import DeadLetter
from schemas.experiments import ExperimentRecord
from schemas.feedback import Feedback
from schemas.documents import SourceDocument
from schemas.metrics import METRIC_TYPES
from schemas.sets import SetMemberUpdate
from schemas.models import ModelPromotion
from schemas.patterns import EnrichedPattern
from schemas.points import SourcePoints


def topic_schemas() -> dict[str, dict[str, Any]]:
    """Base topic name → JSON Schema of its values."""
    variants = [model.model_json_schema() for model in METRIC_TYPES]
    defs: dict[str, Any] = {}
    for variant in variants:  # one $defs at the root, where the variants' "#/$defs/…" references point
        defs.update(variant.pop("$defs", {}))
    metrics = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "PipelineMetric",
        "description": "A metric event, per document, batch, set, search, worker heartbeat or learner batch (field "
                       "'type' tells which). Times are seconds; stage_ms is deprecated (use stage_s).",
        "oneOf": variants,
        **({"$defs": defs} if defs else {}),
    }
    out = {
        "sources.raw": SourceDocument.model_json_schema(),
        "patterns.enriched": EnrichedPattern.model_json_schema(),
        "pipeline.metrics": metrics,
        "sources.dlq": DeadLetter.model_json_schema(),
        "models": ModelPromotion.model_json_schema(),
        "sets.members": SetMemberUpdate.model_json_schema(),
        "points.pending": SourcePoints.model_json_schema(),
        "alerts": Alert.model_json_schema(),
        "quality.feedback": Feedback.model_json_schema(),
        "experiments": ExperimentRecord.model_json_schema(),
        "metrics.aggregated": WindowAggregate.model_json_schema(),
        "capacity.forecasts": CapacityForecast.model_json_schema(),
    }
    for schema in out.values():
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    out["sources.raw"]["description"] = (
        "Value of a message on sources.raw (key: the source id, UTF-8). A null value deletes the source."
    )
    return out


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, schema in topic_schemas().items():
        path = directory / f"{topic}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
