"""processors.quality learned model: training, persistence, integrity, registry, preprocessing,
metadata neutrality, exact explanations, and the shipped artifact."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from processors.quality.artifacts import ArtifactError
from processors.quality.classes import CLASSES
from processors.quality.embed_cache import cached_embeddings
from processors.quality.evaluate import evaluate_proba
from processors.quality.features import STAT_NAMES, Tfidf
from processors.quality.linear import LinearParams
from processors.quality.metadata import metadata_shift
from processors.quality.model import QualityModel
from processors.quality.preprocess import STOP_WORDS, document_text, preprocess
from processors.quality.registry import BUILTIN_DIR, Registry, RegistryError
from processors.quality.training.fit import TrainParams, encode_labels, fit
from schemas.documents import Document
from schemas.patterns import QualityScore

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path("/work/shared/datasets/so_quality/questions.parquet")
N_TRAIN, N_TEST = 600, 300

RAW_HTML = (
    "<h2>How do I sort a list of dicts by a value?</h2>\n"
    "<p>I have a list of <strong>dictionaries</strong> and I want to sort it by the <em>age</em> key. "
    "See <a href=\"https://docs.python.org/3/howto/sorting.html\" rel=\"nofollow\">the docs</a>.</p>\r\n"
    "<pre><code>people.sort(key=lambda p: p['age'])  # if a &lt; b\n</code></pre>\r\n"
)
RAW_MARKDOWN = (
    "## How do I sort a list of dicts by a value?\n\n"
    "I have a list of **dictionaries** and I want to sort it by the *age* key. "
    "See [the docs](https://docs.python.org/3/howto/sorting.html).\n\n"
    "```python\npeople.sort(key=lambda p: p['age'])  # if a < b\n```\n"
)


def _doc(content: str, **kw) -> Document:
    return Document(id=kw.pop("id", "d"), type=kw.pop("type", "general"), content=content, version="v", **kw)


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def slice_data():
    """600 training + 300 held-back rows (balanced, fixed seed) with embeddings, computed once."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    if not DATA.is_file():
        pytest.skip(f"{DATA} not available")
    df = pd.read_parquet(DATA)
    per_class = (N_TRAIN + N_TEST) // 3
    df = pd.concat([df[df["rating"] == c].sample(per_class, random_state=7) for c in sorted(set(df["rating"]))])
    df = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    clean = [preprocess(t) for t in df["text"]]
    try:
        from inference.factory import create_embedder
        from infra.settings import get_settings

        s = get_settings()
        emb = create_embedder(s.inference, s.models_dir)
    except Exception as e:  # pragma: no cover - no model available
        pytest.skip(f"embedder unavailable: {e}")
    try:  # cached next to the registry's training embeddings: later runs skip the embedder
        E = cached_embeddings(clean, emb.embed, emb.variant.id, s.data_dir / "models" / "quality" / "cache")
    finally:
        emb.close()
    labels = df["rating"].tolist()
    return {
        "train": (clean[:N_TRAIN], labels[:N_TRAIN], E[:N_TRAIN]),
        "test": (clean[N_TRAIN:], labels[N_TRAIN:], E[N_TRAIN:]),
    }


@pytest.fixture(scope="module")
def small_model(slice_data):
    texts, labels, E = slice_data["train"]
    params = TrainParams(word_max_features=5000, word_c=1.0, embedding_c=1.0, inner_folds=3, mlp_hidden=0, max_iter=500)
    return fit(texts, labels, E, params, manifest={"data": {"hash": "test", "rows": len(texts)}})


@pytest.fixture(scope="module")
def saved(small_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("artifact") / "1.0.0"
    small_model.manifest["version"] = "1.0.0"
    small_model.save(path)
    return path


# ---------------------------------------------------------------------------------- training
def test_training_on_a_slice_beats_chance(small_model, slice_data):
    texts, labels, E = slice_data["test"]
    proba = small_model.predict_proba(texts, E)
    assert proba.shape == (N_TEST, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    r = evaluate_proba(encode_labels(labels), proba)
    assert r["macro_f1"] > 0.5, r  # chance is 1/3
    # the expected score orders the classes: LQ_CLOSE < LQ_EDIT < HQ on average
    ms = r["mean_score_by_class"]
    assert ms["LQ_CLOSE"] < ms["LQ_EDIT"] < ms["HQ"]


def test_score_returns_quality_score(small_model):
    q = small_model.score(_doc(RAW_MARKDOWN))
    assert isinstance(q, QualityScore)
    assert 1.0 <= q.score <= 5.0
    assert q.model_version == f"quality-{small_model.version}"
    with pytest.raises(ValueError, match="dimensions"):
        small_model.score(_doc(RAW_MARKDOWN), np.zeros(7))


# ---------------------------------------------------------------------------------- persistence
def test_save_load_round_trips_exactly(small_model, saved, slice_data):
    texts, _, E = slice_data["test"]
    loaded = QualityModel.load(saved)
    assert np.array_equal(small_model.predict_proba(texts, E), loaded.predict_proba(texts, E))
    doc = _doc(RAW_HTML, metadata={"source_credibility": 0.9})
    assert small_model.score(doc, E[0]) == loaded.score(doc, E[0])
    assert small_model.explain(doc, E[0]).contributions == loaded.explain(doc, E[0]).contributions
    files = {p.name for p in saved.iterdir()}
    assert files == {"manifest.json", "weights.safetensors", "vocab.json"}  # JSON + safetensors, no pickle


def _copy(saved: Path, tmp_path: Path) -> Path:
    dst = tmp_path / saved.name
    shutil.copytree(saved, dst)
    return dst


def test_corrupt_weights_are_refused(saved, tmp_path):
    art = _copy(saved, tmp_path)
    w = art / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256 .* does not match the manifest"):
        QualityModel.load(art)


def test_tampered_manifest_is_refused(saved, tmp_path):
    art = _copy(saved, tmp_path)
    m = json.loads((art / "manifest.json").read_text())
    m["version"] = "9.9.9"
    (art / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="manifest checksum mismatch"):
        QualityModel.load(art)


def test_tampered_vocabulary_and_missing_files_are_refused(saved, tmp_path):
    art = _copy(saved, tmp_path)
    vocab = json.loads((art / "vocab.json").read_text())
    vocab["word"][0], vocab["word"][1] = vocab["word"][1], vocab["word"][0]
    (art / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(ArtifactError, match="vocab.json: sha256"):
        QualityModel.load(art)
    (art / "vocab.json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        QualityModel.load(art)
    with pytest.raises(ArtifactError, match="no manifest.json"):
        QualityModel.load(tmp_path / "nowhere")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "manifest.json").write_text("not json")
    with pytest.raises(ArtifactError, match="cannot read"):
        QualityModel.load(tmp_path / "junk")


def test_inconsistent_arrays_are_refused(small_model):
    p = small_model.linear_params
    vec, w = p.tfidf["word"]
    with pytest.raises(ArtifactError, match="inconsistent"):
        LinearParams(bias=p.bias, emb_weights=p.emb_weights, emb_mean=p.emb_mean, stats_mean=p.stats_mean,
                     stats_scale=p.stats_scale, stats_weights=p.stats_weights, tfidf={"word": (vec, w[:-1])})
    with pytest.raises(ArtifactError, match="non-finite"):
        dataclasses.replace(p, bias=np.array([0.0, np.nan, 0.0]))


# ---------------------------------------------------------------------------------- online-learning hooks
def test_linear_features_give_the_logits_scoring_uses(small_model, slice_data):
    texts, _, E = slice_data["test"]
    docs = [_doc(RAW_MARKDOWN, metadata={"source_credibility": 0.8, "engagement": 30}), _doc(RAW_HTML),
            _doc(texts[0], type="documentation")]
    embs = [E[0], None, E[2]]
    f = small_model.linear_features(docs, embs)
    params = small_model.linear_params
    assert len(f) == 3 and f.tfidf["word"].shape == (3, params.tfidf["word"][0].size)
    assert f.shift.tolist() == [metadata_shift(d.metadata) for d in docs]
    one_by_one = [small_model.logits(document_text(d), embs[i], f.shift[i]) for i, d in enumerate(docs)]
    np.testing.assert_allclose(params.logits(f), one_by_one, rtol=0, atol=1e-9)
    assert len(small_model.linear_features([])) == 0


def test_a_model_with_updated_linear_params_registers_with_its_lineage(small_model, tmp_path):
    params = small_model.linear_params
    towards_hq = dataclasses.replace(params, bias=params.bias + np.array([-0.5, 0.0, 0.5], dtype=np.float32))
    lineage = {"kind": "online", "feedback_rows": 12, "steps": 3}
    new = small_model.with_linear_params(towards_hq, version="9.0.1", lineage=lineage)
    assert new.linear_params is towards_hq and small_model.linear_params is params  # the source is untouched
    doc = _doc(RAW_MARKDOWN)
    assert new.score(doc).score > small_model.score(doc).score
    assert new.model_version == "quality-9.0.1" and new.manifest["parent"] == small_model.version
    assert new.manifest["metrics"] == {} and new.manifest["params"] == small_model.manifest["params"]

    reg = Registry(tmp_path / "data", builtin=None)
    version = reg.register(new, new.version, parent=small_model.version, metrics={"feedback": {"accuracy": 0.9}})
    loaded = reg.load(version)
    assert loaded.manifest["lineage"] == lineage and loaded.manifest["parent"] == small_model.version
    assert loaded.manifest["metrics"] == {"feedback": {"accuracy": 0.9}}
    assert loaded.score(doc) == new.score(doc)
    assert reg.show(version)["lineage"] == lineage


# ---------------------------------------------------------------------------------- registry
def test_registry_promote_and_rollback(small_model, saved, tmp_path):
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    shutil.copytree(saved, builtin / "1.0.0")
    reg = Registry(tmp_path / "data", builtin=builtin)
    assert reg.current() == "1.0.0"  # nothing promoted: the built-in default
    assert reg.load().version == "1.0.0"
    v1 = reg.register(small_model)
    v2 = reg.register(small_model, "2.0.0")
    assert (v1, v2) == ("1.1.0", "2.0.0")
    assert reg.show(v1)["parent"] == "1.0.0"
    assert reg.current() == "1.0.0"  # saving does not promote
    with pytest.raises(RegistryError, match="already exists"):
        reg.register(small_model, "2.0.0")
    with pytest.raises(RegistryError, match="semantic version"):
        reg.register(small_model, "v3")

    assert reg.promote(v1) == "1.0.0"
    assert reg.current() == v1
    reg.promote(v2)
    assert reg.current() == v2 and reg.load().version == v2
    assert [i.version for i in reg.list() if i.current] == [v2]

    with pytest.raises(RegistryError, match="no quality model 7.0.0"):
        reg.promote("7.0.0")
    # a corrupt artifact is refused and current stays as it was
    w = reg.path(v1) / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-10])
    with pytest.raises(ArtifactError):
        reg.promote(v1)
    assert reg.current() == v2
    assert any(i.version == v1 for i in reg.list())

    assert reg.rollback() == v1
    assert reg.rollback() == "1.0.0"  # back to the built-in default
    assert not (reg.root / "current").exists()
    with pytest.raises(RegistryError, match="nothing to roll back"):
        reg.rollback()


# ---------------------------------------------------------------------------------- preprocessing
def test_preprocess_makes_raw_documents_look_like_training_rows():
    html = preprocess(RAW_HTML)
    md = preprocess(RAW_MARKDOWN)
    for clean in (html, md):
        assert clean == clean.lower()
        assert "<" not in clean and "\r" not in clean and "\n" not in clean
        assert not set(clean.split()) & STOP_WORDS
        assert all(ch.isalnum() or ch in " ()" for ch in clean), clean
        assert "pre code" in clean and "code pre" in clean  # code blocks as the rows carry them
        assert "strong dictionaries strong" in clean and "em age em" in clean
        assert " lt b" in clean  # "<" in code → the entity name, as in the rows
        assert "href http docs python org" in clean
    assert html.split()[:5] == ["h2", "sort", "list", "dicts", "value"]
    assert md.split()[:5] == html.split()[:5]
    # training rows are left as they are (up to whitespace): the function is idempotent
    row = "parse html string angular 2 extract \n\n pre code lt div innerhtml displaystring gt \n code pre \r\n"
    assert preprocess(row) == " ".join(row.split())
    assert preprocess(preprocess(RAW_HTML)) == html


def test_code_documents_are_one_code_block():
    doc = _doc("def f(x):\n    return x < 1\n", type="code", language="python", title="Helpers")
    assert document_text(doc) == "helpers pre code def f(x) return x lt 1 code pre"


# ---------------------------------------------------------------------------------- metadata
def test_missing_metadata_scores_like_neutral_metadata(small_model, slice_data):
    e = slice_data["test"][2][0]
    missing = small_model.score(_doc(RAW_MARKDOWN), e)
    neutral = small_model.score(_doc(RAW_MARKDOWN, metadata={"source_credibility": 0.5, "engagement": 0}), e)
    assert missing == neutral
    high = small_model.score(_doc(RAW_MARKDOWN, metadata={"source_credibility": 1.0, "engagement": 5000}), e)
    low = small_model.score(_doc(RAW_MARKDOWN, metadata={"source_credibility": 0.0}), e)
    assert low.score < missing.score < high.score
    assert metadata_shift({"other": "x"}) == 0.0
    assert metadata_shift({"published_at": "2000-01-01T00:00:00Z"}) < 0


# ---------------------------------------------------------------------------------- explain
@pytest.mark.parametrize("target", ["quality", *CLASSES])
def test_explain_contributions_sum_to_the_logit(small_model, slice_data, target):
    e = slice_data["test"][2][1]
    doc = _doc(RAW_HTML, metadata={"source_credibility": 0.8})
    ex = small_model.explain(doc, e, target=target)
    total = ex.bias + sum(v for _, v in ex.contributions)
    assert total == pytest.approx(ex.logit, abs=1e-9)
    assert ex.linear_logit == pytest.approx(ex.logit, abs=1e-9)  # no MLP in this model
    logits = small_model.logits(document_text(doc), e, metadata_shift(doc.metadata))
    u = {"quality": logits[2] - logits[0]}.get(target)
    assert ex.logit == pytest.approx(u if u is not None else logits[CLASSES.index(target)], abs=1e-9)
    names = [k for k, _ in ex.contributions]
    assert "embedding" in names and "metadata" in names and any(k.startswith("word:") for k in names)
    assert {f"stat:{s}" for s in STAT_NAMES} <= set(names)
    assert abs(ex.top(3)[0][1]) >= abs(ex.top(3)[-1][1])


# ---------------------------------------------------------------------------------- shipped artifact
def test_shipped_artifact_loads_and_scores():
    reg = Registry(Path("/nonexistent-quality-registry"))  # empty data dir → built-in default
    version = reg.current()
    if version is None:
        pytest.skip("no shipped artifact")
    path = reg.path(version)
    assert path.parent == BUILTIN_DIR
    assert sum(f.stat().st_size for f in path.iterdir()) <= 25 * 1024 * 1024
    model = reg.load()
    assert "cv" in model.manifest["metrics"]
    good = model.score(_doc(RAW_MARKDOWN))
    junk = model.score(_doc("asdf asdf asdf"))
    assert 1.0 <= junk.score <= 5.0 and 1.0 <= good.score <= 5.0
    ex = model.explain(_doc(RAW_MARKDOWN))
    assert ex.bias + sum(v for _, v in ex.contributions) == pytest.approx(ex.logit, abs=1e-9)


def test_tfidf_matches_definition():
    vec = Tfidf.fit(["a b a", "b c", "c d"], "word", (1, 1), min_df=1)
    idx, val = vec.transform_one("a a b z")
    got = dict(zip((vec.terms[i] for i in idx), val))
    tf_a, tf_b = 1 + np.log(2), 1.0
    idf_a, idf_b = np.log(4 / 2) + 1, np.log(4 / 3) + 1
    norm = np.hypot(tf_a * idf_a, tf_b * idf_b)
    assert got == pytest.approx({"a": tf_a * idf_a / norm, "b": tf_b * idf_b / norm})
