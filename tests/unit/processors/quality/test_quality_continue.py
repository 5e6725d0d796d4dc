"""Continued fine-tuning of the encoder half (processors.quality.training.continued): torch weights
recovered from the shipped INT8 graph, a killed job resuming to the result of an uninterrupted one,
a registered candidate that loads and scores, the next job continuing from the previous one's
checkpoint, and refusals (too few labels, changed rows).

The shipped 1.2.0 is the base; jobs run a handful of steps of 4 rows × 32 tokens on one thread:
the tests check the mechanics, not the accuracy (the README reports a real job)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from processors.quality.classes import CLASSES, softmax
from processors.quality.registry import BUILTIN_DIR, Registry
from processors.quality.training.config import TrainInputError
from processors.quality.training.continued import (ContinueConfig, LabelRow, continue_finetune, finetune_candidate,
                                                   start_point)
from processors.quality.training.finetune import FinetuneParams
from processors.quality.training.job_checkpoints import JobBusy, JobCheckpoints
from schemas.documents import Document

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")

DATA = Path(__file__).resolve().parents[5] / "shared" / "datasets" / "so_quality" / "questions.parquet"
CONFIG = ContinueConfig(params=FinetuneParams(epochs=1, batch_size=4, max_tokens=32), save_every=2, threads=1,
                        min_labels=8)
ENCODER_ID = "all-MiniLM-L6-v2@test"


class Killed(Exception):
    pass


def kill_at(n: int):
    """An ``on_step`` that stops the job after step ``n``, as a kill would."""
    def on_step(step: int) -> None:
        if step == n:
            raise Killed
    return on_step


@pytest.fixture(scope="module")
def rows() -> list[LabelRow]:
    pd = pytest.importorskip("pandas")
    if not DATA.is_file():
        pytest.skip(f"{DATA} not available")
    df = pd.read_parquet(DATA).sample(60, random_state=7).reset_index(drop=True)
    return [LabelRow(i + 1, f"doc-{i}", t, "general", lbl) for i, (t, lbl) in enumerate(zip(df["text"], df["rating"]))]


@pytest.fixture(scope="module")
def encoder_dir() -> Path:
    from inference.factory import default_model_path

    try:
        return default_model_path()
    except Exception as e:  # pragma: no cover - no model available
        pytest.skip(f"MiniLM unavailable: {e}")


@pytest.fixture(scope="module")
def base():
    return Registry(BUILTIN_DIR).load("1.2.0")


def _state(module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def uninterrupted(base, rows, encoder_dir, tmp_path_factory):
    """6 steps over 24 labels, never stopped."""
    half = continue_finetune(base, rows[:24], JobCheckpoints(tmp_path_factory.mktemp("whole")), encoder_dir, CONFIG,
                             encoder_id=ENCODER_ID)
    return half, _state(half.module)


def fake_embed(texts: list[str]) -> np.ndarray:
    return np.random.default_rng(len(texts)).normal(size=(len(texts), 384)).astype(np.float32)


def test_torch_weights_recovered_from_the_int8_graph_compute_what_it_computes(base, rows, encoder_dir):
    from processors.quality.training.dequantize import state_from_int8
    from processors.quality.training.finetune import classifier_module, torch_proba

    module = classifier_module(encoder_dir)
    missing, unexpected = module.load_state_dict(
        {k: torch.tensor(v) for k, v in state_from_int8(base.finetuned.onnx_path).items()}, strict=False)
    assert not unexpected and all(k.startswith("encoder.pooler.") for k in missing)
    module.eval()
    texts = [r.clean() for r in rows[:8]]
    expected = softmax(base.finetuned.logits(texts))
    got = torch_proba(module, texts, base.finetuned.tokenizer_path, base.finetuned.max_tokens)
    # fp32 weights within half a quantization step of the trained ones; the difference is the graph's
    # INT8 activations (a freshly trained module differs from its own INT8 export as much)
    diff = np.abs(got - expected)
    assert diff.mean() < 0.02 and diff.max() < 0.15
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 7 / 8


def test_a_killed_job_resumes_from_its_checkpoint_to_the_uninterrupted_result(base, rows, encoder_dir, tmp_path,
                                                                             uninterrupted):
    whole, expected = uninterrupted
    assert whole.spec["steps"] == 6 and whole.resumed_at == 0 and whole.spec["start"]["kind"] == "int8"
    store = JobCheckpoints(tmp_path)

    with pytest.raises(Killed):  # after step 3; the last checkpoint is step 2's
        continue_finetune(base, rows[:24], store, encoder_dir, CONFIG, encoder_id=ENCODER_ID, on_step=kill_at(3))
    saved = store.running()
    assert (saved["step"], saved["epoch"], saved["position"]) == (2, 0, 2)
    job = saved["spec"]["job"]

    # new labels arrived meanwhile: the resumed job keeps its own rows (marks 1–24)
    lines: list[str] = []
    resumed = continue_finetune(base, rows[:40], store, encoder_dir, CONFIG, encoder_id=ENCODER_ID, say=lines.append)
    assert resumed.resumed_at == 2 and resumed.spec["job"] == job and resumed.spec["labels"]["rows"] == 24
    assert any("resuming job" in line and "step 2/6" in line for line in lines)
    assert store.running()["step"] == 6
    got = _state(resumed.module)
    assert got.keys() == expected.keys()
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)


def test_an_interrupted_job_whose_rows_changed_is_refused_not_silently_changed(base, rows, encoder_dir, tmp_path):
    store = JobCheckpoints(tmp_path)
    with pytest.raises(Killed):
        continue_finetune(base, rows[:24], store, encoder_dir, CONFIG, encoder_id=ENCODER_ID,
                          on_step=kill_at(2))
    changed = [LabelRow(r.mark, r.key, r.text, r.doc_type, CLASSES[0]) for r in rows[:24]]
    with pytest.raises(TrainInputError, match="have changed.*--restart"):
        continue_finetune(base, changed, store, encoder_dir, CONFIG, encoder_id=ENCODER_ID)
    fresh = continue_finetune(base, changed, store, encoder_dir, ContinueConfig(**{**CONFIG.__dict__, "restart": True,
                                                                                   "max_steps": 1}),
                              encoder_id=ENCODER_ID)
    assert fresh.resumed_at == 0 and fresh.spec["steps"] == 1


def test_too_few_labels_are_refused_with_what_to_do(base, rows, encoder_dir, tmp_path):
    with pytest.raises(TrainInputError, match="5 labels gathered .* at least 8 needed"):
        continue_finetune(base, rows[:5], JobCheckpoints(tmp_path), encoder_dir, CONFIG, encoder_id=ENCODER_ID)


def test_the_registered_candidate_loads_scores_and_the_next_job_continues_it(base, rows, encoder_dir, tmp_path):
    reg = Registry(tmp_path / "registry", builtin=BUILTIN_DIR)
    store = JobCheckpoints(tmp_path / "finetune")
    config = ContinueConfig(**{**CONFIG.__dict__, "max_steps": 2})
    held = rows[50:60]
    report = finetune_candidate(base, rows[:24], held, store, reg, encoder_dir, config, encoder_id=ENCODER_ID,
                                embed=fake_embed)
    assert report.version == "1.2.1" and report.to_dict()["registered"]
    model = reg.load(report.version)
    assert model.finetuned is not None and model.finetuned.max_tokens == 32
    m = reg.show(report.version)
    assert m["parent"] == "1.2.0"
    lineage = m["lineage"]
    assert lineage["continued_from"] == {"kind": "int8", "source": "1.2.0"}
    assert lineage["labels"] == {"after": 0, "through": 24, "rows": 24} and lineage["steps"] == 2
    assert lineage["data_hash"] and m["metrics"]["held_back"]["n"] == 10
    assert m["finetuned"]["lineage"]["labels_through"] == 24
    # the linear half is the base's, the fine-tuned half a new one
    texts = [r.clean() for r in held]
    assert all(np.array_equal(model.logits(t), base.logits(t)) for t in texts)
    assert not np.allclose(model.finetuned.logits(texts), base.finetuned.logits(texts))
    q = model.score(Document(id="d", type="general", content="How do I sort a dict by value in python?", version="v"))
    assert 1.0 <= q.score <= 5.0 and q.model_version == "quality-1.2.1"
    assert store.running() is None and store.finished(lineage["job"]) is not None

    # the next job continues that half exactly (its fp32 weights), on the labels gathered since
    assert start_point(model, store, ENCODER_ID).kind == "checkpoint"
    nxt = continue_finetune(model, rows[:50], store, encoder_dir, ContinueConfig(**{**config.__dict__, "max_steps": 1}),
                            encoder_id=ENCODER_ID)
    assert nxt.spec["start"] == {"kind": "checkpoint", "source": lineage["job"]}
    assert nxt.spec["labels"] == {"after": 24, "through": 50, "rows": 26}
    # …and nothing is registered when it must beat the base and there is nothing to check it on
    store.discard_running()
    none = finetune_candidate(model, rows[:50], [], store, reg, encoder_dir, ContinueConfig(**{**config.__dict__,
                              "max_steps": 1}), encoder_id=ENCODER_ID, require_better=True)
    assert none.version is None and "no held-back labels" in none.reason and reg.versions()[-1] == "1.2.1"


def test_one_job_at_a_time_per_checkpoint_directory(tmp_path):
    store = JobCheckpoints(tmp_path)
    with store.lock():
        with pytest.raises(JobBusy, match="another fine-tuning job"):
            with JobCheckpoints(tmp_path).lock():
                pass


# starts the job, waits for its first checkpoint, prints the job's pid and dies (as a killed learner)
PARENT = """
import json, os, subprocess, sys, time
cmd, running, log = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
job = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
while not os.path.exists(running) and job.poll() is None:
    time.sleep(0.1)
print(job.pid, flush=True)
os._exit(0)
"""


def test_finetune_candidate_command_reads_the_learners_labels(rows, tmp_path, monkeypatch):
    """``assay quality finetune-candidate``: too few labels is exit 2 with what to do; a job whose
    starter was killed stops at its next step and the next start resumes it; the candidate is a
    registered version from the non-held-back rows of the learner's ``labels`` table."""
    import json
    import subprocess
    import sys
    import time

    from click.testing import CliRunner

    from infra.settings import get_settings
    from streams.cli.quality import quality_group
    from streams.learner.store import LearnerStore, StoredLabel

    store = LearnerStore(tmp_path / "data" / "learner" / "learner.db")
    store.keep_labels((0, i, StoredLabel(r.key, r.text, r.doc_type, r.label, 1.0, i % 4 == 0))
                      for i, r in enumerate(rows[:40]))  # 30 learned, 10 held back
    store.close()
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(quality_group, ["finetune-candidate", "--min-labels", "31"])
        assert res.exit_code == 2, res.output
        assert "30 labels gathered" in res.output and "at least 31 needed" in res.output
        # started by a process that is then killed (the learner), the job stops after its next step…
        job_cmd = [sys.executable, "-m", "streams.cli", "quality", "finetune-candidate", "--epochs", "3",
                   "--save-every", "1", "--validation-rows", "0", "--min-labels", "30", "--exit-with-parent"]
        running = tmp_path / "data" / "learner" / "finetune" / "job.pt"
        parent = subprocess.run([sys.executable, "-c", PARENT, json.dumps(job_cmd), str(running),
                                 str(tmp_path / "job.log")], env={**os.environ, "ASSAY_DATA_DIR": str(tmp_path / "data")},
                                capture_output=True, text=True, timeout=300)
        pid = int(parent.stdout)
        deadline = time.monotonic() + 120
        while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
            assert time.monotonic() < deadline, "the orphaned job did not stop"
            time.sleep(0.2)
        assert "is gone: stopping" in (tmp_path / "job.log").read_text()
        stopped_at = JobCheckpoints(running.parent).running()["step"]
        assert 1 <= stopped_at < 3
        # …and the next start resumes it from its checkpoint
        res = runner.invoke(quality_group, ["finetune-candidate", "--epochs", "3", "--validation-rows", "0",
                                            "--min-labels", "30", "--json"])
        assert res.exit_code == 0, res.output + repr(res.exception)
        report = json.loads(res.output.strip().splitlines()[-1])
        assert report["version"] == "1.2.1" and report["job"]["labels"]["rows"] == 30 and report["job"]["steps"] == 3
        assert report["resumed_at"] == stopped_at
        reg = Registry(tmp_path / "data" / "models" / "quality")
        assert reg.load("1.2.1").finetuned is not None
        assert (tmp_path / "data" / "learner" / "finetune" / "done" / f"{report['job']['job']}.pt").is_file()
    finally:
        get_settings.cache_clear()


def test_a_cut_of_the_online_head_keeps_a_promoted_jobs_half_on_offer(base, rows, encoder_dir, tmp_path):
    from processors.learning.examples import candidate_models
    from processors.learning.fold import initial_head

    reg = Registry(tmp_path / "registry", builtin=BUILTIN_DIR)
    report = finetune_candidate(base, rows[:24], [], JobCheckpoints(tmp_path / "ft"), reg, encoder_dir,
                                ContinueConfig(**{**CONFIG.__dict__, "max_steps": 1}), encoder_id=ENCODER_ID)
    published = reg.load(report.version)
    variants = candidate_models(base, initial_head(), version="1.2.2", lineage={}, published=published)
    assert set(variants) == {"online_head", "linear_only", "published_half"}
    texts = [r.clean() for r in rows[50:53]]
    np.testing.assert_array_equal(variants["published_half"].finetuned_logits(texts), published.finetuned_logits(texts))
    assert variants["published_half"].manifest["finetuned"]["lineage"]["job"] == report.spec["job"]
    # no job promoted: the cut offers what it offered before
    assert set(candidate_models(base, initial_head(), version="1.2.2", lineage={}, published=base)) == \
        {"online_head", "linear_only"}
