"""One way for every ``assay`` command group to report Assay's own errors."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from infra.errors import AssayError
from infra.redact import redact_text


class AssayGroup(click.Group):
    """Turns Assay's own errors and invalid settings into one clear line and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AssayError as exc:
            click.echo(f"error: {redact_text(str(exc))}", err=True)
            sys.exit(2)
        except ValidationError as exc:  # settings read from the environment
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or exc.title}: {e['msg']}" for e in exc.errors())
            click.echo(f"error: invalid settings ({exc.title}): {problems}", err=True)
            sys.exit(2)
