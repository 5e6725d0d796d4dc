"""A detector that fails is a value the caller can count, never a silently missing tag, never a raise."""

from __future__ import annotations

import logging

import pytest

from processors.patterns import DetectorFailure, Extraction, extract_patterns
from processors.patterns.architecture import records as architecture
from processors.patterns.design import detect as design_detect
from processors.patterns.sets import set_patterns
from schemas.documents import Document
from schemas.sets import SetMember

OBSERVER_AND_SINGLETON = '''
class Config:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance


class Subject:
    def __init__(self):
        self._observers = []

    def attach(self, observer):
        self._observers.append(observer)

    def notify(self, event):
        for observer in self._observers:
            observer.update(event)
'''


def code(src: str = OBSERVER_AND_SINGLETON, doc_id: str = "shop/config.py") -> Document:
    return Document(id=doc_id, type="code", content=src, version="v", language="python", uri=doc_id)


def boom(*_args: object, **_kwargs: object) -> list:
    raise KeyError("methods")


def gof(found: Extraction) -> set[str]:
    return {r.name for r in found.patterns if r.kind == "design_pattern"}


def test_nothing_failed_nothing_reported():
    found = extract_patterns(code())
    assert found.failures == ()
    assert gof(found) == {"singleton", "observer"}


def test_a_failing_design_detector_is_reported_and_the_others_still_tag(monkeypatch, caplog):
    detectors = tuple(boom if d is design_detect.detect_singletons else d for d in design_detect.DETECTORS)
    monkeypatch.setattr(design_detect, "DETECTORS", detectors)
    with caplog.at_level(logging.ERROR):
        found = extract_patterns(code())
    assert found.failures == (DetectorFailure("design:boom", "shop/config.py", "KeyError: 'methods'"),)
    assert gof(found) == {"observer"}  # only what the failing detector would have found is missing
    assert found.summary is not None and found.patterns[0].key == "module:config"
    assert any("shop/config.py" in r.getMessage() for r in caplog.records)  # logged with the document id


@pytest.mark.parametrize("name", ["detect_facades", "resolve_overlaps"])
def test_facade_and_overlap_resolution_failures_are_reported_too(monkeypatch, name):
    monkeypatch.setattr(design_detect, name, boom)
    found = extract_patterns(code())
    detector = {"detect_facades": "design:facades", "resolve_overlaps": "design:resolve"}[name]
    assert [(f.detector, f.document_id) for f in found.failures] == [(detector, "shop/config.py")]
    assert gof(found) == {"singleton", "observer"}  # unresolved detections above the floor are kept


def test_a_failing_architecture_graph_keeps_the_base_records(monkeypatch):
    monkeypatch.setattr(architecture, "build_graph", boom)
    doc = Document(id="compose", type="architecture", content="services:\n  web:\n    image: nginx\n", version="v",
                   uri="docker-compose.yml")
    found = extract_patterns(doc)
    assert [r.key for r in found.patterns] == ["component:web"]
    assert found.failures == (DetectorFailure("architecture:graph", "compose", "KeyError: 'methods'"),)


def test_set_detection_reports_failures_with_the_set_as_document(monkeypatch):
    member = SetMember(source_version="v", uri="shop/config.py", summary=extract_patterns(code()).summary)
    detectors = tuple(boom if d is design_detect.detect_observers_and_mediators else d
                      for d in design_detect.DETECTORS)
    monkeypatch.setattr(design_detect, "DETECTORS", detectors)
    found = set_patterns("shop", {"shop/config.py": member})
    assert [(f.detector, f.document_id) for f in found.failures] == [("design:boom", "set:shop")]
    assert [t.name for t in found.patterns[0].tags] == ["gof:singleton"]
