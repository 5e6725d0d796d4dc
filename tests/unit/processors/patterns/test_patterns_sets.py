"""Set-level detection (processors.patterns.sets): patterns whose classes live in different files."""

from __future__ import annotations

import json
import textwrap
import zlib
from pathlib import Path

import orjson
import pytest

from processors.patterns import extract_patterns
from processors.patterns.sets import (OVERVIEW_KEY, pack_member, set_patterns, set_source_id, set_version,
                                      unpack_member)
from schemas.documents import Document
from schemas.sets import SetMember
from schemas.structure import SCHEMA_VERSION, StructureSummary

JAVA_STRATEGY = {
    "Compressor.java": "public interface Compressor {\n    byte[] compress(byte[] data);\n}\n",
    "Zip.java": "public class Zip implements Compressor {\n    public byte[] compress(byte[] d) { return d; }\n}\n",
    "Lz4.java": "public class Lz4 implements Compressor {\n    public byte[] compress(byte[] d) { return d; }\n}\n",
    "Archiver.java": textwrap.dedent("""\
        public class Archiver {
            private Compressor compressor;
            public Archiver(Compressor compressor) { this.compressor = compressor; }
            public void setCompressor(Compressor compressor) { this.compressor = compressor; }
            public byte[] archive(byte[] data) { return compressor.compress(data); }
        }
        """),
}

PY_OBSERVER = {
    "listeners.py": textwrap.dedent("""\
        from abc import ABC, abstractmethod


        class Listener(ABC):
            @abstractmethod
            def update(self, event): ...


        class Audit(Listener):
            def update(self, event):
                print(event)


        class Mail(Listener):
            def update(self, event):
                print("mail", event)
        """),
    "store.py": textwrap.dedent("""\
        from listeners import Listener


        class Store:
            def __init__(self):
                self._listeners: list[Listener] = []

            def subscribe(self, listener: Listener):
                self._listeners.append(listener)

            def place(self, order):
                for listener in self._listeners:
                    listener.update(order)
        """),
}


def members_of(files: dict[str, str], language: str) -> dict[str, SetMember]:
    out = {}
    for name, content in files.items():
        doc = Document(id=f"src/{name}", type="code", content=content, version=f"v-{name}", uri=f"src/{name}",
                       language=language, set_id="s")
        summary = extract_patterns(doc).summary
        assert summary is not None, name
        out[doc.id] = SetMember(source_version=doc.version, uri=doc.uri, language=language, summary=summary)
    return out


def single_file_patterns(files: dict[str, str], language: str) -> set[str]:
    found = set()
    for name, content in files.items():
        doc = Document(id=name, type="code", content=content, version="v", uri=name, language=language)
        found |= {p.name for p in extract_patterns(doc).patterns if p.kind == "design_pattern"}
    return found


def test_a_strategy_spread_over_four_java_files_is_only_found_at_set_level():
    assert "strategy" not in single_file_patterns(JAVA_STRATEGY, "java")
    records = set_patterns("s", members_of(JAVA_STRATEGY, "java")).patterns
    det = [r for r in records if r.kind == "design_pattern"]
    assert [r.name for r in det] == ["strategy"]
    tags = {t.name: t for t in det[0].tags}
    assert set(tags["cross_file"].evidence) == {f"src/{n}" for n in JAVA_STRATEGY}
    assert {"Archiver", "Compressor", "Zip", "Lz4"} <= set(det[0].key.split(":")[-1].split(","))
    assert "src/Archiver.java lines 1-6" in det[0].snippet
    assert det[0].language == "java"


def test_an_observer_split_over_python_files_names_every_participant():
    records = set_patterns("s", members_of(PY_OBSERVER, "python")).patterns
    overview, det = records[0], [r for r in records if r.kind == "design_pattern"]
    assert overview.key == OVERVIEW_KEY and overview.kind == "set" and overview.name == "s"
    assert "gof:observer" in {t.name for t in overview.tags}
    assert len(det) == 1 and det[0].name == "observer"
    assert det[0].key == "design_pattern:observer:Audit,Listener,Mail,Store"
    assert "files: src/" in det[0].text and "src/store.py" in det[0].text and "src/listeners.py" in det[0].text


def test_keys_and_texts_do_not_depend_on_member_order():
    members = members_of(JAVA_STRATEGY, "java")
    reordered = dict(reversed(list(members.items())))
    a, b = set_patterns("s", members).patterns, set_patterns("s", reordered).patterns
    assert [(r.key, r.text) for r in a] == [(r.key, r.text) for r in b]
    assert set_version(members) == set_version(reordered)


def test_a_pattern_inside_one_file_stays_on_that_file_and_is_named_in_the_overview():
    members = members_of({"store.py": PY_OBSERVER["store.py"] + "\n\n" + PY_OBSERVER["listeners.py"]
                          .replace("from abc import ABC, abstractmethod\n", "")}, "python")
    records = set_patterns("s", members).patterns
    assert [r.kind for r in records] == ["set"]
    assert "gof:observer" in {t.name for t in records[0].tags}


def test_nothing_detected_or_nothing_summarised_gives_no_records():
    assert set_patterns("s", {}).patterns == ()
    assert set_patterns("s", {"a": SetMember(source_version="1", summary=None)}).patterns == ()
    plain = members_of({"util.py": "def add(a, b):\n    return a + b\n"}, "python")
    assert set_patterns("s", plain).patterns == ()


def test_members_pack_compactly_and_round_trip():
    member = members_of(JAVA_STRATEGY, "java")["src/Archiver.java"]
    blob = pack_member(member)
    assert unpack_member(blob) == member
    assert len(blob) < len(member.model_dump_json())
    assert set_version({"a": SetMember(source_version="1")}) != set_version({"a": SetMember(source_version="1"),
                                                                             "b": SetMember(source_version="1")})
    assert set_source_id("x") == "set:x"


def test_detection_over_a_whole_real_code_base_merged_as_one_set(caplog):
    """Regression: merging the stdlib's summaries once crashed overlap resolution (bridge vs strategy)."""
    import logging
    import sysconfig
    from pathlib import Path

    root = Path(sysconfig.get_paths()["stdlib"])
    members = {}
    for path in sorted(root.glob("*.py")):
        doc = Document(id=path.name, type="code", content=path.read_text(encoding="utf-8", errors="replace"),
                       version="v", uri=path.name, language="python")
        summary = extract_patterns(doc).summary
        if summary is not None:
            members[doc.id] = SetMember(source_version="v", uri=doc.uri, summary=summary)
    with caplog.at_level(logging.ERROR):
        records = set_patterns("stdlib", members).patterns
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[-2000:]
    assert records and records[0].kind == "set"
    assert all(len({*t.evidence}) >= 2 for r in records[1:] for t in r.tags if t.name == "cross_file")


def test_a_class_name_defined_twice_or_test_code_is_not_reported_across_files():
    members = members_of(JAVA_STRATEGY, "java")
    assert [r.name for r in set_patterns("s", members).patterns if r.kind == "design_pattern"] == ["strategy"]

    # An unrelated Compressor elsewhere in the set: matching by name would merge the two.
    twice = dict(members)
    other = members_of({"Compressor.java": "public class Compressor {\n    int level;\n}\n"}, "java")
    twice["vendor/Compressor.java"] = other["src/Compressor.java"].model_copy(update={"uri": "vendor/Compressor.java"})
    assert not [r for r in set_patterns("s", twice).patterns if r.kind == "design_pattern"]

    # The context living in test code: tests imitate the structure they test.
    in_tests = dict(members)
    in_tests["src/Archiver.java"] = members["src/Archiver.java"].model_copy(update={"uri": "src/test/Archiver.java"})
    assert not [r for r in set_patterns("s", in_tests).patterns if r.kind == "design_pattern"]


# --------------------------------------------------------------------------- state written by other versions

V1_MEMBERS = Path(__file__).parent / "data" / "set_members_v1.json"


def pack_v1(member: dict) -> bytes:
    """A member packed the way workers stored it before the summary was versioned (zlib of a plain dict)."""
    return zlib.compress(orjson.dumps(member), 6)


def test_state_written_before_versioning_is_read_and_detects_the_same():
    """``data/set_members_v1.json``: members as the previous worker stored them in ``sets.state``."""
    old = json.loads(V1_MEMBERS.read_text())
    assert all(m["summary"]["version"] == 1 and "schema_version" not in m["summary"] for m in old.values())
    read = {sid: unpack_member(pack_v1(m)) for sid, m in old.items()}
    assert all(m.summary is not None and m.summary.schema_version == SCHEMA_VERSION and m.unreadable is None
               for m in read.values())
    hub = read["src/hub.py"].summary.classes[0]
    assert [m.name for m in hub.methods if m.is_async] == ["send"] and hub.property_fields == {"sink": "_sink"}
    fresh = {sid: m for sid, m in members_of(JAVA_STRATEGY, "java").items()}
    for sid, m in fresh.items():
        assert read[sid].summary == m.summary
        assert read[sid].source_version == m.source_version and read[sid].quality == 3.5
    old_records = set_patterns("s", read).patterns
    assert [r.name for r in old_records if r.kind == "design_pattern"] == ["strategy"]
    fresh_records = set_patterns("s", {**fresh, "src/hub.py": read["src/hub.py"]}).patterns
    assert [(r.key, r.text) for r in old_records] == [(r.key, r.text) for r in fresh_records]


@pytest.mark.parametrize(("blob", "why"), [
    (pack_v1({"source_version": "v9", "uri": "src/a.py", "summary": {"schema_version": 99, "language": "python"}}),
     "summary.schema_version"),
    (pack_v1({"source_version": "v9", "uri": "src/a.py", "summary": {"language": "python", "classes": []}}), "summary"),
    (pack_v1({"source_version": "v9", "uri": "src/a.py", "summary": None, "owner": "x"}), "owner"),
    (b"not zlib at all", "not compressed JSON"),
])
def test_state_this_version_cannot_read_is_marked_not_misread(blob, why, caplog):
    member = unpack_member(blob)
    assert member.summary is None and why in member.unreadable
    if member.source_version is not None:
        assert (member.source_version, member.uri) == ("v9", "src/a.py")
    assert "not readable" in caplog.text
    members = {**members_of(JAVA_STRATEGY, "java"), "src/a.py": member}
    assert [r.name for r in set_patterns("s", members).patterns if r.kind == "design_pattern"] == ["strategy"]
    assert set_version(members) != set_version(members_of(JAVA_STRATEGY, "java"))  # still a member of the set
