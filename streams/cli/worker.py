"""``assay worker``: the stream worker."""

from __future__ import annotations

import sys

import click

from streams.cli.common import settings

__all__ = ["worker"]


@click.command()
@click.option("--loglevel", default="info")
@click.option("--role", type=click.Choice(["all", "compute", "index"]), default=None,
              help="all (default): compute and index in one process; compute: validate, score, extract, embed "
                   "(run several); index: the one store writer [env ASSAY_WORKER_ROLE]")
def worker(loglevel: str, role: str | None) -> None:
    """Run the stream worker (Faust) until Ctrl-C / SIGTERM.

    Exit codes: 0 stopped, 2 configuration error, 3 stalled or crashed (watchdog), 4 forced stop.
    """
    from streams.web_auth import check_web_exposure
    from streams.worker import run_worker

    s = settings()
    if role is not None:
        s = s.model_copy(update={"worker_role": role})
    check_web_exposure(s)  # before minutes of loading models, not after
    sys.exit(run_worker(s, loglevel=loglevel))
