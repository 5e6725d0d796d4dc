"""The learner's checkpoint: its whole state and the feedback offsets it covers, in one atomic file.

One file holds the online session (head, optimizer, replay, metrics, detector, held-back rows:
:meth:`processors.learning.session.OnlineSession.to_bytes`) and a JSON header: the offsets of
``quality.feedback`` (and of parked labels) already applied, the running experiment, the base and
published versions. It is written to a temporary file, fsynced and renamed over the old one, after
a batch is applied and *before* its offsets are committed: after a kill -9 the learner restarts
from the last checkpoint, feedback after it is read again and applied once, feedback before it is
skipped — nothing is lost or counted twice.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_MAGIC = b"ASSAYLRN1"


@dataclass
class LearnerCheckpoint:
    session: bytes
    base_version: str
    published_version: str
    covered: dict[int, int] = field(default_factory=dict)  # partition (−1: parked labels) → next offset
    experiment: dict[str, Any] | None = None
    cuts: int = 0
    validation_from: int = 0  # candidates are validated on held-back labels gathered after this mark

    def to_bytes(self) -> bytes:
        header = orjson.dumps({"base_version": self.base_version, "published_version": self.published_version,
                               "covered": {str(p): o for p, o in self.covered.items()},
                               "experiment": self.experiment, "cuts": self.cuts,
                               "validation_from": self.validation_from})
        return _MAGIC + struct.pack(">I", len(header)) + header + self.session

    @classmethod
    def from_bytes(cls, blob: bytes) -> "LearnerCheckpoint":
        if not blob.startswith(_MAGIC):
            raise ValueError("not a learner checkpoint")
        (n,) = struct.unpack(">I", blob[len(_MAGIC): len(_MAGIC) + 4])
        start = len(_MAGIC) + 4
        header = orjson.loads(blob[start: start + n])
        return cls(session=blob[start + n:], base_version=header["base_version"],
                   published_version=header["published_version"],
                   covered={int(p): int(o) for p, o in header["covered"].items()},
                   experiment=header.get("experiment"), cuts=int(header.get("cuts", 0)),
                   validation_from=int(header.get("validation_from", 0)))


def save_checkpoint(path: Path, checkpoint: LearnerCheckpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(checkpoint.to_bytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> LearnerCheckpoint | None:
    try:
        return LearnerCheckpoint.from_bytes(path.read_bytes())
    except FileNotFoundError:
        return None
