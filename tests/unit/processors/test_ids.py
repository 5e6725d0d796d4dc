"""processors.ids: deterministic point ids."""

from __future__ import annotations

import uuid

from processors.ids import ASSAY_NAMESPACE, point_id


def test_namespace_never_changes():
    # Changing the namespace re-addresses every stored point: this value is frozen.
    assert ASSAY_NAMESPACE == uuid.UUID("705cccca-026a-41a0-817e-fec5c93e6127")


def test_known_value():
    assert point_id("repo:json/decoder.py", "class:JSONDecoder") == "6c36f914-a21d-5b54-b453-14283e30fd78"


def test_is_uuid5_of_source_and_key():
    pid = point_id("src", "function:f")
    assert uuid.UUID(pid).version == 5
    assert pid == str(uuid.uuid5(ASSAY_NAMESPACE, "src\x1ffunction:f"))


def test_deterministic_and_distinct():
    assert point_id("a", "k") == point_id("a", "k")
    ids = {point_id(s, k) for s in ("a", "b", "ab") for k in ("k", "bk", "passage:1", "passage:2")}
    assert len(ids) == 12
    assert point_id("ab", "c") != point_id("a", "bc")  # the separator keeps boundaries apart


def test_unicode_and_long_inputs():
    pid = point_id("ünïcødé/" * 100, "section:Überblick > Détails#1")
    assert uuid.UUID(pid).version == 5
