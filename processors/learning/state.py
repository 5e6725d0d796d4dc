"""Pickle-free state bytes: named numpy arrays plus one JSON header, in one ``.npz``.

Every stateful part of the online learner (weights, optimizer moments, replay buffer, metrics,
drift detector, covered feedback offsets) turns into ``(arrays, meta)`` and back; this module is
the one place that makes bytes of that. Loading never unpickles (``allow_pickle=False``), and a
format tag guards against reading one kind of state as another.

>>> blob = pack("demo/1", {"w": np.eye(2)}, {"step": 3})
>>> arrays, meta = unpack(blob, "demo/1")
>>> meta["step"], arrays["w"].tolist()
(3, [[1.0, 0.0], [0.0, 1.0]])
"""

from __future__ import annotations

import io
import json
from typing import Any, Mapping

import numpy as np

__all__ = ["StateError", "pack", "prefixed", "unpack", "unprefixed"]

_META = "__meta__"


class StateError(ValueError):
    """State bytes of the wrong kind, a newer format, or damaged; restore from an older checkpoint."""


def pack(kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    """``arrays`` and JSON-able ``meta`` as npz bytes tagged with ``kind`` (e.g. ``"learner/1"``)."""
    if _META in arrays:
        raise ValueError(f"array name {_META!r} is reserved")
    header = json.dumps({"kind": kind, "meta": meta}, sort_keys=True, separators=(",", ":")).encode()
    buf = io.BytesIO()
    np.savez(buf, **{_META: np.frombuffer(header, dtype=np.uint8)},
             **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def unpack(blob: bytes, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The ``(arrays, meta)`` of :func:`pack` bytes; :class:`StateError` unless tagged ``kind``."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays.pop(_META).tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise StateError(f"unreadable state bytes ({type(e).__name__}: {e})") from e
    if header.get("kind") != kind:
        raise StateError(f"state is {header.get('kind')!r}, expected {kind!r}")
    return arrays, header["meta"]


def prefixed(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` renamed ``prefix.name``: nest one part's state inside another's."""
    return {f"{prefix}.{k}": v for k, v in arrays.items()}


def unprefixed(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of :func:`prefixed` ``prefix``, names restored."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}
