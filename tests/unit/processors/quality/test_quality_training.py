"""processors.quality.training.run.train_and_register: one run end to end without the CLI (a fake
embedder, a small synthetic data set), what it records, and the requests it refuses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from inference.base import Embedder, ModelVariant
from processors.quality.registry import Registry
from processors.quality.training.config import TrainConfig, TrainInputError
from processors.quality.training.dataset import read_labelled_rows
from processors.quality.training.fit import TrainParams
from processors.quality.training.run import train_and_register

pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

SMALL = TrainParams(word_max_features=500, inner_folds=2, mlp_hidden=0, max_iter=200)
WORDS = {
    "LQ_CLOSE": "urgent help plz asap homework give code",
    "LQ_EDIT": "error code works not sure why tried",
    "HQ": "pre code example expected output documentation href minimal reproducible",
}


class FakeEmbedder(Embedder):
    """Deterministic 8-dimensional vectors from a hash of each text."""

    variant = ModelVariant(model="fake", revision="0", precision="fp32", backend="test", dim=8)

    def __init__(self) -> None:
        self.closed = False

    def embed(self, texts):
        out = np.array([np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=8)
                        for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def data(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for label, words in WORDS.items():
        vocab = words.split()
        for i in range(30):
            rows.append({"text": " ".join(rng.choice(vocab, size=12)) + f" question {i}", "rating": label})
    path = tmp_path / "rows.csv"
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


def test_a_run_cross_validates_fits_and_registers(data, tmp_path):
    reg = Registry(tmp_path / "registry", builtin=None)
    opened: list[FakeEmbedder] = []

    def open_embedder() -> FakeEmbedder:
        opened.append(FakeEmbedder())
        return opened[-1]

    lines: list[str] = []
    report = train_and_register(TrainConfig(data=data, folds=2, params=SMALL, promote=True), reg, open_embedder,
                                say=lines.append)
    assert report.version == "1.0.0" and report.promoted and reg.current() == "1.0.0"
    assert report.rows == 90 and report.path == reg.root / "1.0.0" and report.size_bytes > 0
    assert report.cv_summary is not None and report.cv_summary["macro_f1"]["mean"] > 0.5
    assert len(opened) == 1 and opened[0].closed  # opened for the embedding pass only
    assert lines[0].startswith("90 rows from rows.csv")
    assert [line.split(":")[0] for line in lines if line.startswith("  fold")] == ["  fold 1/2", "  fold 2/2"]
    assert any(line.startswith("CV 2-fold: macro-F1") for line in lines)
    assert lines[-1].startswith("fitted on all 90 rows")

    manifest = reg.load("1.0.0").manifest
    assert manifest["data"]["hash"] == report.data_hash == read_labelled_rows(data, "text", "rating").data_hash
    assert manifest["data"]["class_counts"] == {"LQ_CLOSE": 30, "LQ_EDIT": 30, "HQ": 30}
    assert manifest["embedding"]["model"] == FakeEmbedder.variant.id and manifest["params"] == SMALL.to_dict()
    assert manifest["metrics"]["cv"]["folds"] == 2 and "oof_proba" not in manifest["metrics"]["cv"]
    assert "finetuned" not in manifest


def test_requests_it_cannot_carry_out_are_refused_before_training(data, tmp_path):
    reg = Registry(tmp_path / "registry", builtin=None)
    train_and_register(TrainConfig(data=data, folds=0, params=SMALL, version="2.0.0"), reg, FakeEmbedder)

    def refused(config: TrainConfig) -> TrainInputError:
        with pytest.raises(TrainInputError) as e:
            train_and_register(config, reg, FakeEmbedder)
        return e.value

    assert refused(TrainConfig(data=data, version="2.0.0")).field == "version"
    assert refused(TrainConfig(data=data, folds=5, cv_from=(data,))).field == "cv_from"
    bad = tmp_path / "rows.txt"
    bad.write_text("x")
    err = refused(TrainConfig(data=bad, folds=0))
    assert err.field is None and "unsupported data file" in str(err)
    err = refused(TrainConfig(data=data, folds=0, text_col="body"))
    assert "no column(s) ['body']" in str(err)
    assert reg.versions() == ["2.0.0"]
