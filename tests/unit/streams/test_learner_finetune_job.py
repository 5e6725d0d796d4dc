"""The learner's background fine-tuning job (streams.learner.finetune_job): started every N labels,
never twice at once, its registered candidate handed back for an experiment, a failure logged and
waited out, an interrupted job resumed at the next start. The command is a stand-in script here;
tests/unit/processors/quality/test_quality_continue.py runs the real job."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from streams.learner.finetune_job import FinetuneJob

REPORT = {"version": "1.2.1", "registered": True, "reason": "registered",
          "job": {"job": "abc", "base": "1.2.0", "labels": {"rows": 120}, "steps": 4}}


class StandIn(FinetuneJob):
    """Runs a script instead of ``assay quality finetune-candidate`` and records how it was asked."""

    def __init__(self, tmp_path: Path, script: str, every: int = 100) -> None:
        super().__init__(every_labels=every, threads=1, nice=5, checkpoint_dir=tmp_path / "finetune",
                         labels_db=tmp_path / "learner.db", env=dict(os.environ))
        self.script = script
        self.asked: list[list[str]] = []

    def command(self, base_version: str) -> list[str]:
        cmd = super().command(base_version)
        self.asked.append(cmd)
        return [*cmd[: cmd.index(sys.executable)], sys.executable, "-c", self.script]  # niced all the same


def wait(job: FinetuneJob, gathered: int, base: str = "1.2.0", timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while job.proc is not None:
        out = job.poll(gathered, base)
        if out is not None or job.proc is None:
            return out
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    return None


def test_a_job_starts_every_n_labels_and_hands_back_its_candidate(tmp_path):
    job = StandIn(tmp_path, f"import time, os; time.sleep(0.3); print({json.dumps(json.dumps(REPORT))}); "
                            "print(os.getpriority(os.PRIO_PROCESS, 0), os.environ['OMP_NUM_THREADS'], "
                            "file=__import__('sys').stderr)")
    assert job.poll(99, "1.2.0") is None and job.proc is None  # not due
    assert job.poll(100, "1.2.0") is None and job.proc is not None
    assert job.poll(150, "1.2.0") is None  # running: not a second one
    version, reason = wait(job, 150)
    assert version == "1.2.1" and "job abc" in reason and "120 labels" in reason
    cmd = job.asked[0]
    assert cmd[cmd.index("--base") + 1] == "1.2.0" and "--require-better" in cmd and "--json" in cmd
    assert cmd[cmd.index("--min-labels") + 1] == "100" and "--max-steps" not in cmd
    assert cmd[:3] == ["nice", "-n", "5"] and "--exit-with-parent" in cmd
    assert cmd[cmd.index("--threads") + 1] == "1"
    nice, threads = (tmp_path / "finetune" / "job.log").read_text().split()
    assert int(nice) >= 5 and threads == "1"
    # the next one waits for another 100 labels after the last start, even across a restart
    assert job.poll(199, "1.2.1") is None and job.proc is None
    assert StandIn(tmp_path, "").labels_at_start == 100


def test_a_failed_or_unregistered_job_queues_nothing(tmp_path, caplog):
    job = StandIn(tmp_path, "import sys; print('error: 12 labels gathered', file=sys.stderr); sys.exit(2)")
    job.poll(100, "1.2.0")
    assert wait(job, 100) is None and "12 labels gathered" in caplog.text
    assert job.poll(150, "1.2.0") is None and job.proc is None  # waits for the next 100 labels
    job = StandIn(tmp_path, "print('{\"version\": null, \"reason\": \"not registered: worse\", \"job\": {}}')")
    job.poll(300, "1.2.0")
    assert wait(job, 300) is None


def test_an_interrupted_job_is_resumed_at_the_next_start_and_stopped_with_the_learner(tmp_path):
    (tmp_path / "finetune").mkdir()
    (tmp_path / "finetune" / "job.pt").write_bytes(b"state")
    job = StandIn(tmp_path, "import time; time.sleep(60)")
    assert job.poll(0, "1.2.0") is None and job.proc is not None  # resumed without waiting for labels
    proc = job.proc
    job.stop()
    assert proc.poll() is not None
    off = StandIn(tmp_path, "", every=0)
    assert off.poll(10_000, "1.2.0") is None and off.proc is None  # 0: never
