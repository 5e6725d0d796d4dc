"""Where continued fine-tuning keeps its torch state (``assay quality finetune-candidate --checkpoint``).

Layout (``<data_dir>/learner/finetune/`` by default)::

    <root>/job.pt          the running job: weights, optimizer, schedule, step, torch RNG and the
                           job's spec (which labels, which start); replaced atomically every K steps
    <root>/done/<job>.pt   the fp32 weights a finished job ended with: the next job continues from
                           them when the version it starts from carries that job's half
    <root>/lock            held by the one job that may write here

Files are written with ``torch.save`` and read with ``weights_only=True`` (tensors and plain
values, no pickled code). Finished weights beyond the newest ``keep`` are deleted: a job whose
start is gone falls back to the published INT8 graph (:mod:`.dequantize`), never fails.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from infra.errors import AssayError

__all__ = ["JobCheckpoints", "JobBusy"]

RUNNING = "job.pt"
DONE = "done"


class JobBusy(AssayError):
    """Another fine-tuning job holds the checkpoint directory."""


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


class JobCheckpoints:
    def __init__(self, root: str | Path, *, keep: int = 2) -> None:
        self.root = Path(root)
        self.keep = keep

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive use of the directory for one job; :class:`JobBusy` when another holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise JobBusy(f"another fine-tuning job is running on {self.root}") from e
            for stale in [*self.root.glob(".*.tmp"), *self.root.glob(f"{DONE}/.*.tmp")]:
                stale.unlink(missing_ok=True)  # a job killed while saving
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    # -- the running job -----------------------------------------------------------------------

    def running(self) -> dict[str, Any] | None:
        """The interrupted job's state (``spec``, ``model``, ``optimizer``, ``scheduler``, ``step``,
        ``epoch``, ``position``, ``torch_rng``), or None."""
        import torch

        path = self.root / RUNNING
        if not path.is_file():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def save_running(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_save(state, self.root / RUNNING)

    def discard_running(self) -> None:
        (self.root / RUNNING).unlink(missing_ok=True)

    # -- finished jobs -------------------------------------------------------------------------

    def finished(self, job_id: str) -> Path | None:
        path = self.root / DONE / f"{job_id}.pt"
        return path if path.is_file() else None

    def load_finished(self, job_id: str) -> dict[str, Any]:
        import torch

        path = self.finished(job_id)
        if path is None:
            raise FileNotFoundError(f"no finished weights of job {job_id} in {self.root / DONE}")
        return torch.load(path, map_location="cpu", weights_only=True)

    def finish(self, job_id: str, model_state: dict[str, Any]) -> Path:
        """Keep a finished job's weights (the next job may continue from them), drop the running
        state, and delete finished weights beyond the newest ``keep``."""
        done = self.root / DONE
        done.mkdir(parents=True, exist_ok=True)
        path = done / f"{job_id}.pt"
        _atomic_save(model_state, path)
        self.discard_running()
        for old in sorted(done.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)[self.keep:]:
            old.unlink(missing_ok=True)
        return path
