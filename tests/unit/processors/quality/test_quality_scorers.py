"""processors.quality.scorers: which scorer scores which document type, batches equal one by one,
and the gate."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

import processors.quality.embed_cache
from processors.quality.baseline import MODEL_VERSION, score_quality
from processors.quality.preprocess import document_text
from processors.quality.registry import Registry
from processors.quality.scorers import BaselineScorer, LearnedScorer, is_gated
from schemas.documents import Document
from schemas.patterns import QualityScore

MARKDOWN = (
    "## How do I sort a list of dicts by a value?\n\n"
    "I have a list of **dictionaries** and I want to sort it by the *age* key. "
    "See [the docs](https://docs.python.org/3/howto/sorting.html).\n\n"
    "```python\npeople.sort(key=lambda p: p['age'])  # if a < b\n```\n"
)


def _docs() -> list[Document]:
    code = inspect.getsource(processors.quality.embed_cache)
    return [
        Document(id="code", type="code", content=code, version="v", language="python"),
        Document(id="doc", type="documentation", content=MARKDOWN, version="v", metadata={"source_credibility": 0.9}),
        Document(id="arch", type="architecture", content="The gateway calls the billing service.", version="v"),
        Document(id="junk", type="general", content="asdf asdf asdf", version="v"),
        Document(id="text", type="general", content="Retries back off exponentially. " * 5, version="v"),
    ]


def _embeddings(n: int, dim: int = 384) -> list[np.ndarray | None]:
    rng = np.random.default_rng(0)
    e = rng.normal(size=(n, dim))
    vectors = list(e / np.linalg.norm(e, axis=1, keepdims=True))
    vectors[-1] = None  # a failed embedding: the model falls back to its training mean
    return vectors


class FakeModel:
    """Records what the scorer asks of a model; scores 4.0, 4.1, … in call order."""

    model_version = "quality-9.9.9"

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list, int]] = []

    @staticmethod
    def embedding_text(doc: Document) -> str:
        return document_text(doc)

    def score_many(self, docs, embeddings, *, explain_top: int = 0) -> list[QualityScore]:
        self.calls.append(([d.id for d in docs], list(embeddings), explain_top))
        return [QualityScore(score=4.0 + i / 10, label="very_good", model_version=self.model_version)
                for i in range(len(docs))]


@pytest.fixture(scope="module")
def shipped_model():
    reg = Registry(Path("/nonexistent-quality-registry"))  # empty data dir → the built-in default
    if reg.current() is None:
        pytest.skip("no shipped artifact")
    return reg.load()


def test_baseline_scores_every_document_with_the_heuristic():
    docs = _docs()
    scorer = BaselineScorer()
    assert scorer.model_version == MODEL_VERSION and not scorer.needs_embedding
    assert scorer.embedding_text(docs[1]) == docs[1].content
    batch = scorer.score_many(docs, [None] * len(docs))
    assert batch == [score_quality(d) for d in docs] == [scorer.score(d) for d in docs]
    assert scorer.score_many([], []) == []


def test_learned_scorer_routes_its_types_to_the_model_in_one_call():
    docs, embs = _docs(), _embeddings(5)
    model = FakeModel()
    scorer = LearnedScorer(model, explain_top=2)
    assert scorer.needs_embedding and scorer.model_version == "quality-9.9.9"
    assert scorer.embedding_text(docs[1]) == document_text(docs[1])
    out = scorer.score_many(docs, embs)
    # documentation and general go to the model, in order, with their own embeddings; once
    assert [ids for ids, _, _ in model.calls] == [["doc", "junk", "text"]]
    _, passed, explain_top = model.calls[0]
    assert explain_top == 2
    assert passed[0] is embs[1] and passed[1] is embs[3] and passed[2] is None
    assert [q.score for q in (out[1], out[3], out[4])] == [4.0, 4.1, 4.2]
    # code and architecture keep the baseline
    assert out[0] == score_quality(docs[0]) and out[2] == score_quality(docs[2])
    assert out[0].model_version == out[2].model_version == MODEL_VERSION


def test_learned_scorer_types_are_configurable():
    docs, embs = _docs(), _embeddings(5)
    model = FakeModel()
    out = LearnedScorer(model, types=frozenset({"code"})).score_many(docs, embs)
    assert [ids for ids, _, _ in model.calls] == [["code"]]
    assert out[0].model_version == "quality-9.9.9"
    assert all(q == score_quality(d) for q, d in zip(out[1:], docs[1:]))
    assert LearnedScorer(FakeModel()).score_many([], []) == []


def test_learned_batch_equals_one_by_one_with_the_shipped_model(shipped_model):
    docs, embs = _docs(), _embeddings(5)
    scorer = LearnedScorer(shipped_model, explain_top=3)
    batch = scorer.score_many(docs, embs)
    single = [scorer.score(d, embs[i]) for i, d in enumerate(docs)]
    assert batch == single
    assert batch[1] == shipped_model.score(docs[1], embs[1], explain_top=3)
    assert batch[1].model_version == shipped_model.model_version and len(batch[1].explanation) == 3
    # a document's score does not depend on what it is batched with
    assert scorer.score_many(docs[3:], embs[3:]) == batch[3:]


@pytest.mark.parametrize(("score", "gated"), [(1.0, True), (1.9999, True), (2.0, False), (4.5, False)])
def test_gate_drops_scores_below_the_threshold(score, gated):
    q = QualityScore(score=score, label="fair", model_version="m")
    assert is_gated(q, 2.0) is gated
