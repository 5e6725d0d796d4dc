"""``python -m streams.cli …`` runs the ``assay`` command (tests and the demo start workers this way)."""

from streams.cli import main

main()
