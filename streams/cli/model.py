"""``assay model list | show | promote | rollback``: the quality-model registry.

The registry lives under ``<data_dir>/models/quality`` (``ASSAY_DATA_DIR``); built-in artifacts
shipped in ``models/quality/`` are listed too, and the newest is current until something is
promoted. ``promote`` and ``rollback`` also announce the change on the ``models`` topic.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from streams.cli.errors import AssayGroup

__all__ = ["model_group", "registry"]


def registry() -> Any:
    from infra.settings import get_settings
    from processors.quality.registry import Registry

    return Registry(get_settings().quality_registry_dir)


@click.group("model", cls=AssayGroup)
def model_group() -> None:
    """Quality-model registry: list, show, promote, rollback."""


@model_group.command("list")
def list_cmd() -> None:
    """Known versions (local and built-in); * marks the current one."""
    reg = registry()
    infos = reg.list()
    if not infos:
        click.echo(f"no quality models in {reg.root}")
        return
    for i in infos:
        f1 = f"cv macro-F1 {i.macro_f1:.4f}" if i.macro_f1 is not None else "cv macro-F1 -"
        tag = "built-in" if i.builtin else "local"
        line = f"{'*' if i.current else ' '} {i.version:10s} {tag:8s} {i.created or '-':25s} parent {i.parent or '-':8s} {f1}"
        if i.error:
            line += f"  INVALID: {i.error}"
        click.echo(line)


@model_group.command("show")
@click.argument("version")
def show_cmd(version: str) -> None:
    """The manifest of VERSION (verified), as JSON."""
    m = registry().show(version)
    m.get("metrics", {}).get("cv", {}).pop("per_fold", None)
    click.echo(json.dumps(m, indent=2, sort_keys=True))


@model_group.command("promote")
@click.argument("version")
@click.option("--local-only", is_flag=True, help="Only move the registry pointer; tell no running worker")
def promote_cmd(version: str, local_only: bool) -> None:
    """Make VERSION current (after verifying its checksums) and roll it out to running workers."""
    reg = registry()
    previous = reg.promote(version)
    click.echo(f"current: {version} (was {previous or 'none'})")
    if not local_only:
        _announce(reg, version, "promote", previous or None)


@model_group.command("rollback")
@click.option("--local-only", is_flag=True, help="Only move the registry pointer; tell no running worker")
def rollback_cmd(local_only: bool) -> None:
    """Undo the last promotion, in the registry and in running workers."""
    reg = registry()
    before = reg.current()
    now = reg.rollback()
    click.echo(f"current: {now or 'none'}")
    if now and not local_only:
        _announce(reg, now, "rollback", before)


def _announce(reg: Any, version: str, action: str, previous: str | None) -> None:
    """Publish the promotion on the compacted models topic; every worker follows it."""
    import getpass

    from infra.kafka.connect import resolve_bootstrap
    from infra.kafka.topics import MODELS, topic_specs
    from infra.settings import get_settings
    from processors.quality.artifacts import read_manifest
    from schemas.models import ModelPromotion
    from streams.model_updates import publish_promotion

    settings = resolve_bootstrap(get_settings())
    manifest = read_manifest(reg.path(version))
    promotion = ModelPromotion(kind="quality", version=version, action=action, previous_version=previous,
                               checksum=manifest.get("manifest_sha256"), promoted_at=time.time(),
                               promoted_by=getpass.getuser())
    topic = topic_specs(settings.kafka)[MODELS].name
    publish_promotion(settings.kafka.librdkafka_config(), topic, promotion)
    click.echo(f"announced on {topic}: {action} quality {version}")
