"""processors.quality.baseline: orderings on realistic inputs, metadata rules, determinism, speed."""

from __future__ import annotations

import ast
import importlib
import inspect
import json.decoder
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from processors.quality import MODEL_VERSION, label_for, quality_features, score_quality
from schemas.documents import Document

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)

PROSE = (
    "Kafka stores streams of records in categories called topics. Each record consists of a key, a value, "
    "and a timestamp. Topics are partitioned, and each partition is an ordered, immutable sequence of records "
    "that is continually appended to.\n\n"
    "Consumers label themselves with a consumer group name, and each record published to a topic is delivered "
    "to one consumer instance within each subscribing consumer group. Consumer instances can be in separate "
    "processes or on separate machines.\n\n"
    "If all the consumer instances have the same consumer group, then the records will effectively be load "
    "balanced over the consumer instances.\n"
)

MARKDOWN = """# Streaming pipeline

The pipeline reads documents from Kafka, validates them and extracts patterns.
Each stage is a pure function, so it is easy to test in isolation.

## Installation

Install the package with pip and start the embedded broker:

```sh
pip install assay
assay demo
```

## Configuration

Settings come from environment variables with the `ASSAY_` prefix.
See [the settings reference](docs/settings.md) for every option.

- `ASSAY_MAX_DOCUMENT_BYTES`: size cap
- `ASSAY_QUALITY_THRESHOLD`: minimum quality
"""


def doc(content: str, type_: str = "general", **kw) -> Document:
    return Document(id="d", type=type_, content=content, version="v", **kw)


def py(module) -> Document:
    return doc(inspect.getsource(module), "code", language="python", uri=f"{module.__name__}.py")


def score(d: Document) -> float:
    return score_quality(d, now=NOW).score


def strip_docstrings(src: str) -> str:
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if ast.get_docstring(node) is not None:
                node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)  # also drops comments


# --------------------------------------------------------------------------- range, labels, version

def test_score_range_label_and_version():
    for d in (doc("x"), doc("asdf asdf asdf"), py(json.decoder), doc(MARKDOWN, "documentation"), doc(PROSE)):
        q = score_quality(d, now=NOW)
        assert 1.0 <= q.score <= 5.0
        assert q.label == label_for(q.score)
        assert q.model_version == MODEL_VERSION == "baseline-1.0.0"


@pytest.mark.parametrize(
    ("value", "label"),
    [(1.0, "poor"), (1.49, "poor"), (1.5, "fair"), (2.49, "fair"), (2.5, "good"), (3.49, "good"),
     (3.5, "very_good"), (4.49, "very_good"), (4.5, "excellent"), (5.0, "excellent")],
)
def test_label_thresholds(value, label):
    assert label_for(value) == label


# --------------------------------------------------------------------------- orderings

def test_tiny_and_degenerate_texts_are_poor():
    assert score(doc("asdf asdf asdf")) < 2
    assert score(doc("hello there friend")) < 2
    assert score(doc("lorem " * 200)) < 2
    assert score(doc("the same line repeated here\n" * 100)) < 2


def test_stdlib_module_beats_garbage():
    assert score(py(json.decoder)) > score(doc("asdf asdf")) + 2
    assert score(py(json.decoder)) >= 3


STDLIB = ["json.decoder", "json.encoder", "textwrap", "inspect", "collections", "functools", "argparse",
          "dataclasses", "pathlib", "string", "heapq", "bisect", "shlex", "fnmatch", "difflib", "csv", "queue",
          "contextlib", "calendar", "ipaddress"]


def test_stdlib_modules_mostly_score_at_least_3():
    scores = {name: score(py(importlib.import_module(name))) for name in STDLIB}
    good = [n for n, s in scores.items() if s >= 3]
    assert len(good) >= 0.9 * len(STDLIB), scores


def test_documented_code_beats_the_same_code_without_docs():
    import textwrap

    src = inspect.getsource(textwrap)
    with_docs = score(doc(src, "code", language="python"))
    without = score(doc(strip_docstrings(src), "code", language="python"))
    assert with_docs > without


def test_structured_markdown_beats_the_same_text_flattened():
    flat = re.sub(r"^#+ |^- |^```\w*$", "", MARKDOWN, flags=re.M)
    assert score(doc(MARKDOWN, "documentation", language="markdown")) > score(doc(flat, "documentation"))


def test_clean_prose_beats_shouting_and_spam():
    clean = score(doc(PROSE))
    assert clean >= 3.5
    assert score(doc(PROSE.upper())) < clean - 1
    assert score(doc(PROSE + "\nCLICK HERE!!! Buy now, limited time, 100% FREE $$$ casino")) < clean - 1


def test_short_but_fine_function_is_not_poor():
    src = 'def area(r: float) -> float:\n    """Area of a circle of radius r."""\n    return 3.14159 * r * r\n'
    assert score(doc(src, "code", language="python")) >= 2


def test_generic_code_with_doc_comments_scores_well():
    java = (
        "package demo;\n\n/** Greets people by name. */\npublic class Greeter {\n"
        "    /** Builds the greeting for {@code name}. */\n    public String greet(String name) {\n"
        "        return \"Hello, \" + name;\n    }\n}\n"
    )
    assert score(doc(java, "code", language="java")) >= 3


# --------------------------------------------------------------------------- metadata

def test_missing_metadata_never_lowers():
    base = doc(PROSE)
    unknown_only = doc(PROSE, metadata={"author": "someone", "stars": 3})
    assert score(base) == score(unknown_only)
    for d in (doc("short text here"), py(json.decoder), doc(MARKDOWN, "documentation")):
        assert quality_features(d)["metadata_adjustment"] == 0.0


def test_metadata_adjusts_when_present():
    text = "A short note about consumers. It explains groups and partitions briefly.\n"
    plain = score(doc(text))
    assert score(doc(text, metadata={"source_credibility": 1.0})) > plain
    assert score(doc(text, metadata={"source_credibility": 0.0})) < plain
    assert score(doc(text, metadata={"engagement": 5000})) > plain
    assert score(doc(text, metadata={"engagement": 0})) == plain
    fresh = (NOW - timedelta(days=30)).isoformat()
    stale = (NOW - timedelta(days=4000)).isoformat()
    assert score(doc(text, metadata={"published_at": fresh})) > plain
    assert score(doc(text, metadata={"published_at": stale})) < plain


def test_bad_metadata_values_are_ignored():
    text = PROSE
    plain = score(doc(text))
    weird = {"source_credibility": "high", "engagement": float("nan"), "published_at": "yesterday-ish"}
    assert score(doc(text, metadata=weird)) == plain


def test_published_at_accepts_datetime_and_naive_strings():
    text = "Short release note. Nothing else here to read today.\n"
    a = score(doc(text, metadata={"published_at": NOW - timedelta(days=10)}))
    b = score(doc(text, metadata={"published_at": (NOW - timedelta(days=10)).replace(tzinfo=None).isoformat()}))
    assert a == b


# --------------------------------------------------------------------------- features, determinism, speed

def test_features_have_the_same_keys_for_every_type():
    keysets = {
        frozenset(quality_features(d, now=NOW))
        for d in (doc(PROSE), doc(MARKDOWN, "documentation"), py(json.decoder), doc("a: 1\n", "architecture", language="yaml"))
    }
    assert len(keysets) == 1
    features = quality_features(py(json.decoder), now=NOW)
    assert all(isinstance(v, float) for v in features.values())
    assert features["def_count"] > 5 and 0 < features["doc_coverage"] <= 1


def test_deterministic():
    d = py(json.decoder)
    assert score_quality(d, now=NOW) == score_quality(d, now=NOW)
    assert quality_features(d, now=NOW) == quality_features(d, now=NOW)


def test_empty_content_does_not_crash():
    assert score(doc("")) == 1.0
    assert score(doc("   \n")) == 1.0


def test_fast_on_a_20kb_document():
    # Target is < 1 ms; the bound here is loose so a loaded CI machine does not flake.
    big = doc(inspect.getsource(inspect)[:20_000], "code", language="python")
    prose = doc((PROSE * 30)[:20_000])
    for d in (big, prose):
        best = min(_timed(d) for _ in range(20))
        assert best < 0.005, best


def _timed(d: Document) -> float:
    t = time.perf_counter()
    score_quality(d, now=NOW)
    return time.perf_counter() - t
