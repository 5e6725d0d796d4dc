"""``assay schemas export`` and ``assay demo``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from streams.cli.common import settings

__all__ = ["demo", "schemas"]


@click.group()
def schemas() -> None:
    """JSON Schemas of every topic's messages."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schemas_export(directory: Path) -> None:
    """Write one JSON Schema per topic into DIRECTORY."""
    from schemas.export import export_schemas

    for path in export_schemas(directory):
        click.echo(str(path))


@click.command()
@click.option("--stdlib-modules", default=150, show_default=True, help="How many stdlib modules to add to the corpus")
@click.option("--timeout", default=900.0, show_default=True, help="Give up after this many seconds")
def demo(stdlib_modules: int, timeout: float) -> None:
    """Start the embedded default, process a real corpus end to end, print a summary, stop everything."""
    from streams.demo import run_demo

    started = time.monotonic()
    code = run_demo(settings(), stdlib_modules=stdlib_modules, timeout_s=timeout)
    click.echo(f"demo finished in {time.monotonic() - started:.0f} s")
    sys.exit(code)
