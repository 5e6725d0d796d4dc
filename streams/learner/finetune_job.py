"""The encoder half's background job: ``assay quality finetune-candidate`` as a niced subprocess.

The online learner moves only the linear half; every ``ASSAY_LEARNER_FINETUNE_EVERY_LABELS`` new
(not held-back) labels it also starts one job that continues the published version's fine-tuned
half on the gathered labels (:mod:`processors.quality.training.continued`). The job runs in its own
process, ``nice``-d (``ASSAY_LEARNER_FINETUNE_NICE``), on ``ASSAY_LEARNER_FINETUNE_THREADS`` threads
(torch, OpenMP and onnxruntime), at most ``ASSAY_LEARNER_FINETUNE_MAX_STEPS`` steps, so the learner's
batches never wait for it; :meth:`FinetuneJob.poll` (called between batches, on the event loop) starts it when due
and, when it has exited 0 with a registered candidate, returns ``(version, reason)`` for the
learner to put in an experiment, as ``assay experiment start`` would. With
``ASSAY_LEARNER_FINETUNE_REQUIRE_BETTER`` (default) the job registers only a candidate that beats
the published version on held-back labels, as the learner's own cuts do.

The job stops with the learner (``SIGTERM`` when it stops; after a kill the job notices that its
parent is gone at its next step) and leaves its checkpoint; the next learner resumes it at once. ``<checkpoint>/schedule.json`` remembers how
many labels had been gathered when the last job started; ``job.out``/``job.log`` hold the last
job's report and progress.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

SCHEDULE = "schedule.json"
RUNNING = "job.pt"  # processors.quality.training.job_checkpoints: an interrupted job's state


class FinetuneJob:
    def __init__(self, *, every_labels: int, threads: int, nice: int, checkpoint_dir: Path, labels_db: Path,
                 env: dict[str, str], max_steps: int | None = None, require_better: bool = True) -> None:
        self.every = every_labels
        self.max_steps, self.require_better = max_steps, require_better
        self.threads, self.nice = threads, nice
        self.dir, self.labels_db = checkpoint_dir, labels_db
        self.env = {**env, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                    "ASSAY_INFERENCE_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
        self.proc: subprocess.Popen[bytes] | None = None
        self._files: list[IO[bytes]] = []
        self.labels_at_start = self._schedule().get("labels", 0)
        self.resume = every_labels > 0 and (checkpoint_dir / RUNNING).is_file()  # killed mid-job: go on at once

    def _schedule(self) -> dict[str, int]:
        try:
            return json.loads((self.dir / SCHEDULE).read_text())
        except (OSError, ValueError):
            return {}

    def command(self, base_version: str) -> list[str]:
        # as many new labels as made it due: fewer means the rows changed under it (a new store)
        return [*(["nice", "-n", str(self.nice)] if self.nice else []), sys.executable, "-m", "streams.cli", "quality",
                "finetune-candidate", "--base", base_version, "--threads", str(self.threads), "--checkpoint",
                str(self.dir), "--labels-db", str(self.labels_db), "--min-labels", str(self.every), "--json",
                "--exit-with-parent",
                *(["--max-steps", str(self.max_steps)] if self.max_steps else []),
                *(["--require-better"] if self.require_better else [])]

    def poll(self, gathered: int, base_version: str) -> tuple[str, str] | None:
        """Start a job when due (``gathered``: labels learned so far); the candidate of a job that
        has just finished, if it registered one."""
        if self.proc is not None:
            rc = self.proc.poll()
            return None if rc is None else self._finished(rc)
        if self.every > 0 and (self.resume or gathered - self.labels_at_start >= self.every):
            self._start(gathered, base_version)
        return None

    def _start(self, gathered: int, base_version: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{SCHEDULE}.tmp"
        tmp.write_text(json.dumps({"labels": gathered}))
        os.replace(tmp, self.dir / SCHEDULE)
        self.labels_at_start, self.resume = gathered, False
        self._files = [open(self.dir / "job.out", "wb"), open(self.dir / "job.log", "wb")]
        self.proc = subprocess.Popen(self.command(base_version), env=self.env, stdout=self._files[0],
                                     stderr=self._files[1], stdin=subprocess.DEVNULL)
        log.info("fine-tuning job started on %s after %d labels (pid %d, nice %d, %d threads)", base_version,
                 gathered, self.proc.pid, self.nice, self.threads)

    def _finished(self, rc: int) -> tuple[str, str] | None:
        self.proc = None
        for f in self._files:
            f.close()
        if rc != 0:
            tail = (self.dir / "job.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            log.warning("fine-tuning job exited %d: %s", rc, tail[0])
            return None
        try:
            report = json.loads((self.dir / "job.out").read_text().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            log.warning("fine-tuning job exited 0 without a report (see %s)", self.dir / "job.log")
            return None
        if not report.get("version"):
            log.info("fine-tuning job %s: %s", report.get("job", {}).get("job"), report.get("reason"))
            return None
        job = report["job"]
        reason = (f"fine-tuning job {job['job']}: encoder half of {job['base']} continued on "
                  f"{job['labels']['rows']} labels, {job['steps']} steps")
        log.info("fine-tuning job registered %s; experiment requested", report["version"])
        return report["version"], reason

    def stop(self) -> None:
        """Stop a running job (it resumes from its checkpoint with the next learner)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in self._files:
            f.close()
