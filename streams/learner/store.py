"""The learner's local tables (SQLite in its data dir): the join with ``sources.raw``, parked labels, gathered labels.

* ``sources``: the latest text of every source, mirrored from the compacted ``sources.raw``
  (:mod:`streams.learner.mirror`), so a label that names only a ``source_id`` finds its text,
  hours later as well;
* ``pending``: labels whose source has not arrived yet; each gets a sequence number and is learned
  as offset ``seq`` of the virtual partition :data:`PENDING_PARTITION`, so the checkpoint's offset
  bookkeeping covers them too (a parked label is learned once, even across a crash);
* ``labels``: every label learned or held back, with its text: the candidates' validation, the
  replay after a re-base, and the fine-tuning data of the encoder half.

Everything here is rebuildable from Kafka (the mirror from ``sources.raw``, the rest from
``quality.feedback``); the session checkpoint says which feedback offsets are covered.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: The virtual partition parked labels are learned under (never a Kafka partition).
PENDING_PARTITION = -1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (source_id TEXT PRIMARY KEY, content TEXT NOT NULL, doc_type TEXT,
                                    version TEXT);
CREATE TABLE IF NOT EXISTS mirror_offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, doc_type TEXT,
                                    label TEXT NOT NULL, weight REAL NOT NULL, partition INTEGER NOT NULL,
                                    offset INTEGER NOT NULL, received_at REAL NOT NULL,
                                    UNIQUE (partition, offset));
CREATE TABLE IF NOT EXISTS labels (partition INTEGER NOT NULL, offset INTEGER NOT NULL, key TEXT NOT NULL,
                                   text TEXT NOT NULL, doc_type TEXT, label TEXT NOT NULL, weight REAL NOT NULL,
                                   holdout INTEGER NOT NULL, PRIMARY KEY (partition, offset));
"""


@dataclass(frozen=True)
class SourceText:
    source_id: str
    content: str
    doc_type: str | None


@dataclass(frozen=True)
class Parked:
    """A label waiting for its source."""

    seq: int
    source_id: str
    doc_type: str | None
    label: str
    weight: float


@dataclass(frozen=True)
class StoredLabel:
    key: str
    text: str
    doc_type: str | None
    label: str
    weight: float
    holdout: bool


class LearnerStore:
    """One SQLite file, shared by the mirror thread and the learner (one lock, short transactions)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the join with sources.raw ---------------------------------------------------------------

    def mirror(self, upserts: Iterable[SourceText], deletes: Iterable[str], offsets: dict[int, int]) -> None:
        """Apply a batch read from ``sources.raw`` and the offsets it reached, atomically."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, NULL)",
                                 [(s.source_id, s.content, s.doc_type) for s in upserts])
            self._db.executemany("DELETE FROM sources WHERE source_id = ?", [(d,) for d in deletes])
            self._db.executemany("INSERT OR REPLACE INTO mirror_offsets VALUES (?, ?)", list(offsets.items()))
            self._db.execute("COMMIT")

    def mirror_offsets(self) -> dict[int, int]:
        with self._lock:
            return dict(self._db.execute("SELECT partition, next_offset FROM mirror_offsets").fetchall())

    def texts(self, source_ids: Iterable[str]) -> dict[str, SourceText]:
        ids = list(dict.fromkeys(source_ids))
        out: dict[str, SourceText] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i: i + 500]
                rows = self._db.execute(
                    f"SELECT source_id, content, doc_type FROM sources WHERE source_id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                out.update({r[0]: SourceText(*r) for r in rows})
        return out

    def sources(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM sources").fetchone()[0])

    # -- parked labels -------------------------------------------------------------------------

    def park(self, source_id: str, doc_type: str | None, label: str, weight: float, partition: int, offset: int,
             at: float) -> None:
        """Park a label whose source is unknown (a redelivered one is parked once)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO pending (source_id, doc_type, label, weight, partition, offset, "
                             "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (source_id, doc_type, label, weight, partition, offset, at))

    def joinable(self, after_seq: int, limit: int) -> list[tuple[Parked, SourceText]]:
        """Parked labels (seq ≥ ``after_seq``, in order) whose source has arrived."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.seq, p.source_id, p.doc_type, p.label, p.weight, s.content, s.doc_type FROM pending p "
                "JOIN sources s ON s.source_id = p.source_id WHERE p.seq >= ? ORDER BY p.seq LIMIT ?",
                (after_seq, limit)).fetchall()
        return [(Parked(r[0], r[1], r[2], r[3], r[4]), SourceText(r[1], r[5], r[2] or r[6])) for r in rows]

    def forget_parked(self, below_seq: int) -> None:
        """Drop parked labels a checkpoint covers."""
        with self._lock:
            self._db.execute("DELETE FROM pending WHERE seq < ? AND source_id IN (SELECT source_id FROM sources)",
                             (below_seq,))

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    # -- gathered labels ------------------------------------------------------------------------

    def keep_labels(self, rows: Iterable[tuple[int, int, StoredLabel]]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 [(p, o, s.key, s.text, s.doc_type, s.label, s.weight, int(s.holdout))
                                  for p, o, s in rows])

    def label_mark(self) -> int:
        """A position in the gathered labels: :meth:`recent_labels` can start after it (a new concept)."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0])

    def label_count(self, *, holdout: bool = False) -> int:
        """Labels gathered (learned ones, or the held-back ones)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM labels WHERE holdout = ?", (int(holdout),)).fetchone()[0])

    def recent_labels(self, limit: int, *, holdout: bool | None = None, after: int = 0) -> list[StoredLabel]:
        """The most recent labels (gathered after mark ``after``), oldest first."""
        where = f"WHERE rowid > {int(after)}" + ("" if holdout is None else f" AND holdout = {int(holdout)}")
        with self._lock:
            rows = self._db.execute(f"SELECT key, text, doc_type, label, weight, holdout FROM labels {where} "
                                    "ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
        return [StoredLabel(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in reversed(rows)]


def read_labels(path: Path, *, holdout: bool, limit: int | None = None) -> list[tuple[int, StoredLabel]]:
    """The gathered labels of the learner's database at ``path`` with their marks (rowids), oldest
    first (with ``limit``: the most recent ones) — for a process beside the learner (the fine-tuning
    job); reads only, never creates the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no learner database at {path}: run `assay learner` and send feedback first")
    db = sqlite3.connect(str(path))
    try:
        rows = db.execute("SELECT rowid, key, text, doc_type, label, weight, holdout FROM labels WHERE holdout = ? "
                          "ORDER BY rowid DESC" + ("" if limit is None else f" LIMIT {int(limit)}"),
                          (int(holdout),)).fetchall()
    finally:
        db.close()
    return [(r[0], StoredLabel(r[1], r[2], r[3], r[4], r[5], bool(r[6]))) for r in reversed(rows)]
