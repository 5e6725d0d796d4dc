"""One way for every ``assay`` command group to report Assay's own errors."""

from __future__ import annotations

import sys

import click

from infra.errors import AssayError


class AssayGroup(click.Group):
    """Turns Assay's own errors into one clear line and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AssayError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
