"""The fine-tuned half of the quality model (processors.quality.training.finetune to train and export
it, processors.quality.finetuned to run it): a faithful ONNX export,
the equal-weight average, exact save/load round trips, refusal of a tampered classifier, exact
explanations, batched scoring, and ``assay quality train --finetune`` end to end.

The classifier here is MiniLM fine-tuned for a few steps on a few dozen rows: the tests check the
mechanics, not the accuracy (bench/quality_finetune.py measures that)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from processors.quality.artifacts import ArtifactError
from processors.quality.classes import CLASSES, FINETUNED_WEIGHT, softmax
from processors.quality.evaluate import evaluate_proba
from processors.quality.explain import occlusion
from processors.quality.finetuned import FinetunedClassifier
from processors.quality.model import QualityModel
from processors.quality.preprocess import document_text, preprocess
from processors.quality.registry import Registry
from processors.quality.training.dataset import LabelledRows
from processors.quality.training.finetune import FinetuneParams, export_classifier, finetune, torch_proba
from processors.quality.training.fit import TrainParams, encode_labels, fit
from schemas.documents import Document

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).resolve().parents[5] / "shared" / "datasets" / "so_quality" / "questions.parquet"
PARAMS = dict(epochs=1, batch_size=16, max_tokens=64)


def _rows(n: int, seed: int = 3):
    pd = pytest.importorskip("pandas")
    if not DATA.is_file():
        pytest.skip(f"{DATA} not available")
    df = pd.read_parquet(DATA)
    df = pd.concat([df[df["rating"] == c].sample(n // 3, random_state=seed) for c in CLASSES])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def encoder_dir():
    from inference.factory import default_model_path

    try:
        path = default_model_path()
    except Exception as e:  # pragma: no cover - no model available
        pytest.skip(f"MiniLM unavailable: {e}")
    return path


@pytest.fixture(scope="module")
def trained(encoder_dir, tmp_path_factory):
    """A linear model and a fine-tuned classifier on the same 48 rows; the classifier exported fp32
    and INT8."""
    pytest.importorskip("torch")
    df = _rows(96)
    clean = [preprocess(t) for t in df["text"]]
    y = encode_labels(df["rating"].tolist())
    rng = np.random.default_rng(0)
    E = rng.normal(size=(len(clean), 384))  # the linear half's embedding input: any vectors will do here
    linear = fit(clean[:48], y[:48], E[:48], TrainParams(word_max_features=2000, inner_folds=3, mlp_hidden=0,
                                                         max_iter=300, char=False))
    params = FinetuneParams(**PARAMS)
    module = finetune(clean[:48], y[:48], encoder_dir, params)
    work = tmp_path_factory.mktemp("finetuned")
    return {
        "linear": linear, "module": module, "params": params, "clean": clean, "y": y, "E": E,
        "fp32": export_classifier(module, work / "fp32.onnx", quantize=False),
        "int8": export_classifier(module, work / "int8.onnx"),
    }


@pytest.fixture(scope="module")
def ensemble(trained, encoder_dir):
    classifier = FinetunedClassifier(trained["int8"], encoder_dir / "tokenizer.json", PARAMS["max_tokens"])
    m = trained["linear"].with_finetuned(classifier, {"params": trained["params"].to_dict()})
    m.manifest["version"] = "1.0.0"
    return m


@pytest.fixture(scope="module")
def saved(ensemble, tmp_path_factory):
    return ensemble.save(tmp_path_factory.mktemp("artifact") / "1.0.0")


def test_fp32_export_computes_what_torch_computes(trained, encoder_dir):
    texts = trained["clean"][48:]
    expected = torch_proba(trained["module"], texts, encoder_dir / "tokenizer.json", PARAMS["max_tokens"])
    z = FinetunedClassifier(trained["fp32"], encoder_dir / "tokenizer.json", PARAMS["max_tokens"]).logits(texts)
    np.testing.assert_allclose(softmax(z), expected, atol=1e-4)
    # INT8 stays close to it: quantization noise, not a different model
    z8 = FinetunedClassifier(trained["int8"], encoder_dir / "tokenizer.json", PARAMS["max_tokens"]).logits(texts)
    assert np.abs(softmax(z8) - expected).max() < 0.1
    assert trained["int8"].stat().st_size < trained["fp32"].stat().st_size / 3


def test_probabilities_are_the_equal_weight_average(trained, ensemble):
    texts, E = trained["clean"][48:], trained["E"][48:]
    linear = trained["linear"].predict_proba(texts, E)
    ft = softmax(ensemble.finetuned.logits(texts))
    got = ensemble.predict_proba(texts, E)
    assert FINETUNED_WEIGHT == 0.5
    np.testing.assert_allclose(got, (linear + ft) / 2, atol=1e-12)
    assert not np.allclose(got, linear)  # the fine-tuned half is really used


def test_save_load_round_trips_exactly(trained, ensemble, saved):
    texts, E = trained["clean"][48:], trained["E"][48:]
    files = {p.name for p in saved.iterdir()}
    assert files == {"manifest.json", "weights.safetensors", "vocab.json", "classifier.onnx.gz", "tokenizer.json"}
    loaded = QualityModel.load(saved)
    assert loaded.finetuned is not None and loaded.manifest["finetuned"]["weight"] == 0.5
    assert loaded.manifest["finetuned"]["params"] == trained["params"].to_dict()
    assert np.array_equal(ensemble.predict_proba(texts, E), loaded.predict_proba(texts, E))
    doc = Document(id="d", type="general", content=trained["clean"][50], version="v")
    assert ensemble.score(doc, E[2]) == loaded.score(doc, E[2])


def test_a_tampered_classifier_is_refused(saved, tmp_path):
    bad = tmp_path / saved.name
    shutil.copytree(saved, bad)
    raw = bytearray((bad / "classifier.onnx.gz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (bad / "classifier.onnx.gz").write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="classifier.onnx.gz.*does not match"):
        QualityModel.load(bad)
    (bad / "classifier.onnx.gz").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        QualityModel.load(bad)


def test_a_classifier_onnxruntime_cannot_load_is_refused(tmp_path, encoder_dir):
    junk = tmp_path / "classifier.onnx"
    junk.write_bytes(b"not an onnx graph")
    with pytest.raises(ArtifactError, match="cannot load the fine-tuned classifier"):
        FinetunedClassifier(junk, encoder_dir / "tokenizer.json", 64)


def test_batched_scores_equal_one_by_one(trained, ensemble):
    docs = [Document(id=f"d{i}", type="general", content=t, version="v",
                     metadata={"source_credibility": 0.9} if i % 2 else {})
            for i, t in enumerate(trained["clean"][48:60])]
    E = trained["E"][48:60]
    # one text per session call: a document's score does not depend on what it is batched with
    assert ensemble.score_many(docs, E) == [ensemble.score(d, E[i]) for i, d in enumerate(docs)]
    assert ensemble.score_many(docs[3:5], E[3:5]) == ensemble.score_many(docs, E)[3:5]


@pytest.mark.parametrize("target", ["quality", *CLASSES])
def test_explanations_stay_exact_with_the_finetuned_half(trained, ensemble, target):
    doc = Document(id="d", type="general", content=trained["clean"][55], version="v",
                   metadata={"source_credibility": 0.8})
    e = trained["E"][55]
    ex = ensemble.explain(doc, e, target=target)
    assert ex.bias + sum(v for _, v in ex.contributions) == pytest.approx(ex.logit, abs=1e-9)
    assert "finetuned" in dict(ex.contributions)
    # the reported probabilities and score are the ensemble's
    proba = ensemble.predict_proba([document_text(doc)], e[None], [0.6])[0]
    assert [ex.probabilities[c] for c in CLASSES] == pytest.approx(proba.tolist(), abs=1e-12)
    if target == "quality":
        assert ex.logit == pytest.approx(np.log(proba[2] / proba[0]), abs=1e-9)
        # what an enriched event carries with ASSAY_QUALITY_EXPLAIN_TOP=3; the score is unchanged
        q = ensemble.score(doc, e, explain_top=3)
        assert [(c.feature, c.value) for c in q.explanation] == [(k, round(v, 6)) for k, v in ex.top(3)]
        assert q.score == ensemble.score(doc, e).score and ensemble.score(doc, e).explanation is None


def test_quality_train_finetune_end_to_end(tmp_path, monkeypatch, encoder_dir):
    """``assay quality train --finetune`` stores a two-half artifact that the registry loads, and
    ``--cv-from`` refuses results of other data."""
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from infra.settings import get_settings
    from streams.cli.quality import quality_group

    data = tmp_path / "rows.parquet"
    _rows(60, seed=5)[["text", "rating"]].to_parquet(data)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(quality_group, ["train", "--data", str(data), "--folds", "0", "--finetune",
                                            "--finetune-epochs", "1", "--out", "7.0.0", "--no-char"])
        assert res.exit_code == 0, res.output + repr(res.exception)
        reg = Registry(tmp_path / "data" / "models" / "quality")
        model = reg.load("7.0.0")
        assert model.finetuned is not None
        assert model.manifest["finetuned"]["rows"] == 60
        from inference.factory import model_name

        assert model.manifest["finetuned"]["encoder"].startswith(model_name(encoder_dir) + "@")
        assert model.manifest["data"]["hash"]
        q = model.score(Document(id="d", type="general", content="How do I sort a dict by value?", version="v"))
        assert 1.0 <= q.score <= 5.0 and q.model_version == "quality-7.0.0"

        other = tmp_path / "fold0.json"
        other.write_text(json.dumps({"fold": 0, "data_hash": "0" * 64, "ensemble_report": {}}))
        res = runner.invoke(quality_group, ["train", "--data", str(data), "--folds", "0", "--cv-from", str(other)])
        assert res.exit_code != 0 and "measured on data" in res.output

        # per-fold results of this data (as bench/quality_finetune.py writes them) become the CV
        df = _rows(60, seed=5)
        data_hash = LabelledRows(df["text"].astype(str).tolist(), df["rating"].astype(str).tolist()).data_hash
        rng = np.random.default_rng(1)
        files, f1 = [], []
        for fold in (1, 0):
            y = rng.integers(0, 3, 30)
            lin, ft = softmax(rng.normal(size=(30, 3))), softmax(rng.normal(size=(30, 3)))
            report = evaluate_proba(y, (lin + ft) / 2)
            f1.append(report["macro_f1"])
            path = tmp_path / f"fold{fold}.json"
            path.write_text(json.dumps({"fold": fold, "data_hash": data_hash, "ensemble_report": report}))
            np.savez(path.with_suffix(".npz"), y=y, linear=lin, finetuned_int8=ft)
            files += ["--cv-from", str(path)]
        res = runner.invoke(quality_group, ["train", "--data", str(data), "--folds", "0", "--no-char", "--out", "7.1.0",
                                            "--charts", str(tmp_path / "charts"), *files])
        assert res.exit_code == 0, res.output + repr(res.exception)
        cv = reg.show("7.1.0")["metrics"]["cv"]
        assert cv["folds"] == 2 and cv["summary"]["macro_f1"]["mean"] == pytest.approx(np.mean(f1))
        assert cv["source"]["files"] == ["fold0.json", "fold1.json"] and cv["pooled"]["confusion"]
        assert any(p.suffix == ".png" for p in (tmp_path / "charts").iterdir())

        res = runner.invoke(quality_group, ["train", "--data", str(data), "--folds", "0", *files[:2]])
        assert res.exit_code != 0 and "exactly once" in res.output  # fold 1 without fold 0
    finally:
        get_settings.cache_clear()


def test_word_occlusion_measures_what_removing_a_word_does(trained, ensemble):
    text = trained["clean"][60]
    u = np.array([-1.0, 0.0, 1.0])
    words = occlusion(ensemble.finetuned, text, u)
    head = text.split()[:PARAMS["max_tokens"]]
    assert sorted(w for w, _ in words) == sorted(set(head))
    assert abs(words[0][1]) >= abs(words[-1][1])
    word, value = words[0]
    rest = text.split()
    without = " ".join([w for w in head if w != word] + rest[len(head):])
    z = ensemble.finetuned.logits([text, without]) @ u
    assert value == pytest.approx(z[0] - z[1], abs=1e-9)
    assert occlusion(ensemble.finetuned, "", u) == []
