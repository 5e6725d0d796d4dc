"""The online-learning loop on the real broker: labels in, a better model rolled out by itself.

A deliberately weak current model (fitted on 300 labelled questions) serves a real worker; the
learner (``assay learner``) reads labelled feedback, learns, cuts a candidate, runs it in shadow
and A/B, and promotes it, and the worker switches. A worse candidate is rolled back. After a
concept shift (labels rotated) the learner raises a drift alarm and promotes a model that follows
the new labels on texts it never saw.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import numpy as np
import orjson
import pytest

from infra.kafka.broker import free_port
from infra.kafka.topics import ALERTS, EXPERIMENTS, MODELS, PIPELINE_METRICS, QUALITY_FEEDBACK, SOURCES_RAW
from processors.quality.classes import CLASSES
from processors.quality.model import QualityModel
from processors.quality.registry import Registry

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "datasets" / "so_quality" / "questions.parquet"
BASE_ROWS = 300
ROTATE = {"HQ": "LQ_EDIT", "LQ_EDIT": "LQ_CLOSE", "LQ_CLOSE": "HQ"}


@pytest.fixture(scope="module")
def questions() -> Any:
    if not DATA.exists():
        pytest.skip(f"the labelled questions are not at {DATA}")
    import pandas as pd

    df = pd.read_parquet(DATA)
    order = np.random.default_rng(0).permutation(len(df))
    return df.iloc[order].reset_index(drop=True)


@pytest.fixture(scope="module")
def weak_base(questions: Any, embedder: Any, models_dir: Path) -> Path:
    """A linear-only quality model fitted on the first 300 questions (cached: about 20 s to build)."""
    path = models_dir.parent / "test-cache" / f"quality-weak-{BASE_ROWS}"
    if (path / "manifest.json").exists():
        return path
    from processors.quality.preprocess import preprocess
    from processors.quality.training.fit import TrainParams, fit

    texts = [preprocess(t) for t in questions["text"].iloc[:BASE_ROWS]]
    model = fit(texts, questions["rating"].iloc[:BASE_ROWS].tolist(), embedder.embed(texts),
                TrainParams(bases=("word", "emb", "stats"), mlp_hidden=0, inner_folds=2, word_max_features=20_000))
    model.manifest["version"] = "0.5.0"
    model.save(path, overwrite=True)
    return path


@pytest.fixture
def registry(tmp_path: Path, weak_base: Path) -> Registry:
    reg = Registry(tmp_path / "registry")
    reg.register(QualityModel.load(weak_base), "0.5.0")
    reg.promote("0.5.0")
    return reg


class LearnerProcess:
    """``assay learner`` as a subprocess."""

    def __init__(self, topics: Any, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "learner.log"
        self.env = {**os.environ, "ASSAY_KAFKA_BOOTSTRAP_SERVERS": topics.kafka.bootstrap_servers,
                    "ASSAY_KAFKA_TOPIC_PREFIX": topics.prefix, "ASSAY_KAFKA_PARTITIONS": str(topics.kafka.partitions),
                    "ASSAY_KAFKA_SESSION_TIMEOUT_S": "6", "ASSAY_DATA_DIR": str(data_dir),
                    "ASSAY_MODEL_CACHE_DIR": str(REPO / ".assay" / "models"), "ASSAY_WEB_PORT": str(self.port), "HF_HUB_OFFLINE": "1",
                    **env}
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "learner"], env=self.env, cwd=REPO,
                                     stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"learner not up:\n{self.log()}")

    def status(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/learner", timeout=10).json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_learner(tmp_path: Path) -> Iterator[Any]:
    started: list[LearnerProcess] = []

    def start(topics: Any, **env: str) -> LearnerProcess:
        learner = LearnerProcess(topics, tmp_path / "learner", env)
        started.append(learner)
        return learner

    yield start
    for learner in started:
        learner.stop()


def feedback(topics: Any, rows: Any, rotate: bool = False) -> None:
    topics.produce(QUALITY_FEEDBACK, [
        (None, orjson.dumps({"content": text, "doc_type": "general",
                             "label": ROTATE[label] if rotate else label}))
        for text, label in zip(rows["text"], rows["rating"])])


def records(topics: Any, role: str, until: Any, timeout_s: float = 240) -> list[dict[str, Any]]:
    return [m["value"] for m in topics.consume(role, lambda ms: until([m["value"] for m in ms]), timeout_s=timeout_s)]


def fast_loop(registry: Registry, **extra: str) -> dict[str, str]:
    """Learner settings sized for a test: small A/B steps, cuts after 1,000 labels."""
    return {"ASSAY_QUALITY_REGISTRY": str(registry.root), "ASSAY_LEARNER_BATCH_SIZE": "64",
            "ASSAY_LEARNER_BATCH_WITHIN_S": "0.3", "ASSAY_LEARNER_CUT_EVERY_LABELS": "1000",
            "ASSAY_LEARNER_AB_MIN_LABELS_SHADOW": "60", "ASSAY_LEARNER_AB_MIN_LABELS_PER_STEP": "60",
            "ASSAY_LEARNER_AB_MIN_SAMPLES": "60", "ASSAY_LEARNER_MIN_VALIDATION_ROWS": "60", **extra}


def macro_f1(model: QualityModel, rows: Any, embedder: Any, rotate: bool = False) -> float:
    from sklearn.metrics import f1_score

    from processors.learning.examples import example_document, model_proba

    docs = [example_document(f"eval-{i}", t, "general") for i, t in enumerate(rows["text"])]
    E = embedder.embed([model.embedding_text(d) for d in docs])
    y = [CLASSES.index(ROTATE[lbl] if rotate else lbl) for lbl in rows["rating"]]
    return float(f1_score(y, model_proba(model, docs, E).argmax(axis=1), average="macro"))


def test_labels_improve_the_model_and_a_better_candidate_is_rolled_out(topics, start_worker, start_learner, registry,
                                                                        questions):
    env = fast_loop(registry, ASSAY_LEARNER_AB_MIN_LABELS_SHADOW="300")
    worker = start_worker(topics, **env)
    learner = start_learner(topics, **env)
    feedback(topics, questions.iloc[BASE_ROWS: BASE_ROWS + 1250])  # a cut after 1,000 learned (not held-back)

    shadow = records(topics, EXPERIMENTS, lambda rs: any(r["phase"] == "shadow" for r in rs))[-1]
    candidate = shadow["candidate_version"]
    assert shadow["control_version"] == "0.5.0" and shadow["origin"] == "learner"
    lineage = registry.show(candidate)["lineage"]
    assert lineage["base"] == "0.5.0" and lineage["feedback_offsets"] and lineage["data_hash"]
    # In shadow, learned documents are scored by both versions and the control's score is served.
    topics.produce(SOURCES_RAW, [(f"doc-{i}", orjson.dumps({"type": "general", "content": text}))
                                 for i, text in enumerate(questions["text"].iloc[6000:6005])])
    docs = records(topics, PIPELINE_METRICS, lambda rs: len([r for r in rs if r["type"] == "document"]) >= 5)
    scored = [m for m in docs if m["type"] == "document"]
    assert all(m["experiment"] and m["experiment"]["arm"] == "control" for m in scored), scored
    assert all(m["quality"] == m["experiment"]["control"] for m in scored)

    feedback(topics, questions.iloc[BASE_ROWS + 1250: BASE_ROWS + 2500])
    phases = records(topics, EXPERIMENTS, lambda rs: any(r["phase"] in ("promoted", "rolled_back") for r in rs))
    assert [r["phase"] for r in phases][-1] == "promoted", phases[-1]
    assert "ramping" in [r["phase"] for r in phases]
    promotion = records(topics, MODELS, lambda rs: any(r["version"] == candidate for r in rs))[-1]
    assert promotion["action"] == "promote"
    deadline = time.monotonic() + 60
    while httpx.get(f"{worker.url}/stats").json()["quality"] != f"quality-{candidate}":
        assert time.monotonic() < deadline, "the worker did not switch to the promoted version"
        time.sleep(0.5)
    assert registry.current() == candidate

    metrics = records(topics, PIPELINE_METRICS, lambda rs: sum(r.get("accepted", 0) for r in rs
                                                               if r["type"] == "learner") >= 2500)
    learned = [m for m in metrics if m["type"] == "learner" and m["window_n"] >= 500]
    # Progressive validation: the learner's head beat the published head on the same examples.
    assert any(m["log_loss"] < m["published_log_loss"] for m in learned), learned[-3:]
    assert learner.status()["published"] == candidate


def test_a_worse_candidate_is_rolled_back(topics, start_worker, start_learner, registry, questions, tmp_path):
    from processors.learning.fold import fold_into, initial_head
    from processors.learning.learner import HeadParams

    base = registry.load("0.5.0")
    inverted = HeadParams(-initial_head().weights, np.zeros(3))  # swaps what the model is sure about
    worse = base.with_linear_params(fold_into(base.linear_params, inverted), version="0.6.0",
                                    lineage={"test": "deliberately worse"})
    registry.register(worse, "0.6.0")
    env = fast_loop(registry, ASSAY_LEARNER_CUT_EVERY_LABELS="0")
    worker = start_worker(topics, **env)
    learner = start_learner(topics, **env)
    out = subprocess.run([sys.executable, "-m", "streams.cli", "experiment", "start", "--candidate", "0.6.0"],
                         env=learner.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    records(topics, EXPERIMENTS, lambda rs: any(r["phase"] == "shadow" for r in rs))
    feedback(topics, questions.iloc[BASE_ROWS: BASE_ROWS + 600])

    final = records(topics, EXPERIMENTS, lambda rs: any(r["phase"] in ("promoted", "rolled_back") for r in rs))[-1]
    assert final["phase"] == "rolled_back" and final["candidate_version"] == "0.6.0", final
    assert final["test"]["high"] < 0 and final["test"]["decision"] == "rollback"
    assert registry.current() == "0.5.0"
    assert httpx.get(f"{worker.url}/stats").json()["quality"] == "quality-0.5.0"
    status = subprocess.run([sys.executable, "-m", "streams.cli", "experiment", "status"], env=learner.env,
                            capture_output=True, text=True, timeout=60)
    assert "rolled_back" in status.stdout and "0.6.0" in status.stdout


def test_a_concept_shift_is_detected_and_followed(topics, start_worker, start_learner, registry, questions,
                                                  embedder):
    env = fast_loop(registry, ASSAY_LEARNER_CUT_EVERY_LABELS="5000", ASSAY_LEARNER_CUT_AFTER_DRIFT_LABELS="300")
    start_worker(topics, **env)
    learner = start_learner(topics, **env)
    natural = questions.iloc[BASE_ROWS: BASE_ROWS + 700]
    rotated = questions.iloc[BASE_ROWS + 700: BASE_ROWS + 2500]
    feedback(topics, natural)
    before = records(topics, PIPELINE_METRICS, lambda rs: sum(r.get("accepted", 0) for r in rs
                                                              if r["type"] == "learner") >= len(natural))
    # No regression beforehand: on natural labels the learner is no worse than the published head.
    last = [m for m in before if m["type"] == "learner"][-1]
    assert last["log_loss"] <= last["published_log_loss"] + 0.01, last
    assert not any(m["drift"] for m in before if m["type"] == "learner")

    feedback(topics, rotated, rotate=True)
    drift = records(topics, ALERTS, lambda rs: any(r["kind"] == "drift" for r in rs))
    assert drift and drift[-1]["severity"] == "warning"
    final = records(topics, EXPERIMENTS, lambda rs: any(r["phase"] == "promoted" for r in rs), timeout_s=300)[-1]
    promoted = registry.load(final["candidate_version"])
    assert "drift" in final["reason"] or "drift" in str(registry.show(promoted.version)["lineage"])
    unseen = questions.iloc[5000:5600]
    base_f1 = macro_f1(registry.load("0.5.0"), unseen, embedder, rotate=True)
    new_f1 = macro_f1(promoted, unseen, embedder, rotate=True)
    assert new_f1 > base_f1 + 0.2, (new_f1, base_f1)
    # After a shift the learner cuts again a few times as the new concept settles: later versions may follow.
    assert learner.status()["published"] == registry.current() != "0.5.0"


def test_a_killed_learner_neither_loses_nor_double_counts_a_label(topics, start_learner, registry, questions):
    from processors.learning.examples import example_key, holdout_of
    from schemas.feedback import Feedback

    env = fast_loop(registry, ASSAY_LEARNER_CUT_EVERY_LABELS="0", ASSAY_LEARNER_BATCH_SIZE="16")
    rows = questions.iloc[BASE_ROWS: BASE_ROWS + 800]
    expected = sum(not holdout_of(example_key(Feedback(content=t, label=lbl)))
                   for t, lbl in zip(rows["text"], rows["rating"]))
    learner = start_learner(topics, **env)
    feedback(topics, rows)
    deadline = time.monotonic() + 120
    while learner.status()["learned"] < 150:
        assert time.monotonic() < deadline, learner.log()
        time.sleep(0.2)
    learner.proc.send_signal(signal.SIGKILL)
    learner.proc.wait()
    again = start_learner(topics, **env)  # same data dir: the checkpoint and the store
    deadline = time.monotonic() + 180
    while (status := again.status())["learned"] < expected:
        assert time.monotonic() < deadline, (status, again.log())
        time.sleep(0.5)
    time.sleep(3)  # nothing more arrives: every label was learned once
    assert again.status()["learned"] == expected


def test_unlabelled_input_drift_raises_an_alert(topics, start_learner, registry, questions):
    import ast
    import sysconfig

    env = fast_loop(registry, ASSAY_LEARNER_DRIFT_WINDOW="150")
    start_learner(topics, **env)
    # Reference window: Stack Overflow questions; the next one: docstrings of the standard library.
    topics.produce(SOURCES_RAW, [(f"q-{i}", orjson.dumps({"type": "general", "content": text}))
                                 for i, text in enumerate(questions["text"].iloc[3000:3150])])
    docstrings: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        docstrings += [d for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                       and (d := ast.get_docstring(n)) and len(d) > 80]
        if len(docstrings) >= 150:
            break
    time.sleep(3)
    topics.produce(SOURCES_RAW, [(f"d-{i}", orjson.dumps({"type": "general", "content": d}))
                                 for i, d in enumerate(docstrings[:150])])
    alerts = records(topics, ALERTS, lambda rs: any(r["kind"] == "input_drift" for r in rs), timeout_s=180)
    drift = [a for a in alerts if a["kind"] == "input_drift"][-1]
    report = drift["details"]["general"]
    assert report["mix_shift"] or report["novel_documents"], report


def test_the_learner_continues_the_encoder_half_in_a_background_job(topics, start_learner, questions, tmp_path):
    """Every N labels the learner starts ``assay quality finetune-candidate`` in the background; the
    candidate it registers (the shipped 1.2.0's encoder half continued on the labels) goes to shadow."""
    registry = Registry(tmp_path / "registry")  # the shipped 1.2.0 is current
    env = fast_loop(registry, ASSAY_LEARNER_CUT_EVERY_LABELS="0", ASSAY_LEARNER_FINETUNE_EVERY_LABELS="64",
                    ASSAY_LEARNER_FINETUNE_MAX_STEPS="2", ASSAY_LEARNER_FINETUNE_REQUIRE_BETTER="false")
    learner = start_learner(topics, **env)
    feedback(topics, questions.iloc[:120])  # about 108 learned, 12 held back
    shadow = records(topics, EXPERIMENTS, lambda rs: any(r["phase"] == "shadow" for r in rs), timeout_s=300)[-1]
    assert shadow["control_version"] == "1.2.0" and "fine-tuning job" in shadow["reason"], shadow
    manifest = registry.show(shadow["candidate_version"])
    lineage = manifest["lineage"]
    assert lineage["variant"] == "finetuned" and lineage["continued_from"] == {"kind": "int8", "source": "1.2.0"}
    assert lineage["labels"]["rows"] >= 64 and lineage["steps"] == 2 and manifest["metrics"]["held_back"]["n"] > 0
    assert (Path(learner.env["ASSAY_DATA_DIR"]) / "learner" / "finetune" / "done").is_dir()
