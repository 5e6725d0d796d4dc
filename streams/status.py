"""``assay status``: is every real part reachable, and how far behind is the pipeline?"""

from __future__ import annotations

from typing import Iterator

import httpx

from infra.errors import AssayError
from infra.redact import redact_text, redact_url
from infra.settings import Settings


def collect_status(settings: Settings) -> Iterator[tuple[str, bool]]:
    """(line, ok) for each check; never raises for an unreachable part, it reports it."""
    from infra.kafka.admin import group_lag, partition_counts
    from infra.kafka.connect import resolve_bootstrap
    from infra.kafka.topics import SOURCES_RAW, topic_specs
    from streams.app import app_id
    from streams.web_auth import auth_headers
    from streams.worker import worker_url

    try:
        settings = resolve_bootstrap(settings)
        conf = settings.kafka.librdkafka_config()
        counts = partition_counts(conf)
        yield f"broker {redact_url(settings.kafka.bootstrap_servers)} reachable", True
    except AssayError as exc:
        yield f"broker: {redact_text(str(exc))}", False
        counts = None
    if counts is not None:
        specs = topic_specs(settings.kafka)
        for spec in specs.values():
            have = counts.get(spec.name)
            yield f"topic {spec.name}: {have if have is not None else 'missing'} partitions (want {spec.partitions})", have == spec.partitions
        raw = specs[SOURCES_RAW]
        if counts.get(raw.name):
            group = app_id(settings)
            lag = group_lag(conf, group, raw.name, counts[raw.name])
            yield f"consumer group {group} lag on {raw.name}: {sum(lag.values())} ({lag})", True

    url = worker_url(settings.data_dir)
    if url:
        try:
            stats = httpx.get(f"{url}/stats", headers=auth_headers(settings), timeout=10).json()
            yield f"worker {stats['worker']} at {url}: {stats['points']} points ({stats['embedding']})", True
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            yield f"worker at {url} not answering: {exc}", False
    elif settings.qdrant.url:
        yield from _server_status(settings)
    else:
        yield "no worker running on this data dir (Qdrant Edge size is reported by a running worker)", True

    if settings.redis.url:
        shown = redact_url(settings.redis.url)
        try:
            import redis

            redis.Redis.from_url(settings.redis.url, socket_timeout=2).ping()
            yield f"redis {shown} reachable", True
        except Exception as exc:  # noqa: BLE001 - any failure is a status line
            yield f"redis {shown}: {redact_text(str(exc))}", False
    else:
        yield "redis not configured (embedding cache off)", True


def _server_status(settings: Settings) -> Iterator[tuple[str, bool]]:
    try:
        from qdrant_client import QdrantClient

        client = QdrantClient(url=settings.qdrant.url,
                              api_key=settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None)
        for c in client.get_collections().collections:
            if c.name.startswith(settings.qdrant.collection):
                yield f"qdrant collection {c.name}: {client.count(c.name, exact=True).count} points", True
    except Exception as exc:  # noqa: BLE001
        yield f"qdrant {redact_url(settings.qdrant.url)}: {redact_text(str(exc))}", False
