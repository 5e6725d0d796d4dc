"""Deterministic Qdrant point ids.

A point id is ``UUIDv5(ASSAY_NAMESPACE, f"{source_id}\\x1f{pattern_key}")``: the same source and
pattern key always give the same point, so re-processing a document overwrites its points instead of
duplicating them, and deletes can be computed without reading the store. ``\\x1f`` (ASCII unit
separator) cannot be confused with characters that appear in ids or keys.

.. warning::
   :data:`ASSAY_NAMESPACE` must never change: changing it re-addresses every stored point, so
   updates would duplicate points and deletes would miss them.

>>> point_id("repo:json/decoder.py", "class:JSONDecoder")
'6c36f914-a21d-5b54-b453-14283e30fd78'
>>> point_id("a", "b") == point_id("a", "b") != point_id("a", "c")
True
"""

from __future__ import annotations

import uuid

__all__ = ["ASSAY_NAMESPACE", "point_id"]

#: Namespace of every Assay point id. Generated once (uuid4); NEVER change it (see module docs).
ASSAY_NAMESPACE = uuid.UUID("705cccca-026a-41a0-817e-fec5c93e6127")

_SEPARATOR = "\x1f"


def point_id(source_id: str, pattern_key: str) -> str:
    """UUIDv5 string of ``source_id`` + ``\\x1f`` + ``pattern_key`` under :data:`ASSAY_NAMESPACE`.

    >>> uuid.UUID(point_id("s", "k")).version
    5
    """
    return str(uuid.uuid5(ASSAY_NAMESPACE, f"{source_id}{_SEPARATOR}{pattern_key}"))
