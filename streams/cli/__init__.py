"""The ``assay`` command line: one ``main`` group; each command group lives in a module of its own.

==========================  =======================================
module                      commands
==========================  =======================================
``broker``                  ``broker``, ``topics create | list``
``worker``                  ``worker``
``data``                    ``produce``, ``search``, ``tail``, ``status``
``dlq``                     ``dlq list | show | replay``
``tools``                   ``schemas export``, ``demo``
``quality``, ``model``      ``quality …``, ``model …``
``learning``                ``feedback``, ``learner``, ``experiment status | start``
``inference.cli``           ``inference serve``
==========================  =======================================

Command modules import heavy dependencies inside their commands, so ``assay --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import PackageNotFoundError, version

import click

from streams.cli.common import settings
from streams.cli.errors import AssayGroup

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = ["main"]


def _version() -> str:
    try:
        return version("assay")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


@click.group(cls=AssayGroup)
@click.version_option(_version(), "--version", prog_name="assay", message="%(prog)s %(version)s")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING …")
def main(log_level: str | None) -> None:
    """Assay: streaming knowledge extraction from Kafka into Qdrant."""
    from infra.redact import install_log_redaction

    level = (log_level or settings().log_level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_log_redaction()


def _register() -> None:
    from inference.cli import inference_group
    from streams.cli import broker, data, dlq, learning, model, quality, tools, worker

    for command in (broker.broker, broker.topics, worker.worker, data.produce, data.search, data.tail, data.status,
                    dlq.dlq, tools.schemas, tools.demo, quality.quality_group, model.model_group, inference_group,
                    learning.feedback, learning.learner, learning.experiment_group):
        main.add_command(command)


_register()
