"""The structural summary on ``sets.members`` / in ``sets.state``: typed, versioned, never misread."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from processors.patterns import extract_patterns
from schemas.documents import Document
from schemas.export import topic_schemas
from schemas.sets import SetMember, SetMemberUpdate
from schemas.structure import SCHEMA_VERSION, Call, MethodInfo, Param, StructureSummary, Write

SRC = '''
class Store:
    def __init__(self, repo: "Repo"):
        self._repo = repo
        self._listeners = []

    def subscribe(self, listener):
        self._listeners.append(listener)

    async def save(self, item):
        await self._repo.put(item)
        for listener in self._listeners:
            listener.saved(item)
'''


def summary_of(src: str = SRC) -> StructureSummary:
    found = extract_patterns(Document(id="s.py", type="code", content=src, version="v", language="python"))
    assert found.summary is not None
    return found.summary


def v1_dict(summary: StructureSummary) -> dict:
    """The shape workers stored before versioning: a plain dict, ``"version": 1``, methods say ``async``."""
    data = json.loads(summary.model_dump_json())
    data["version"] = data.pop("schema_version") - 1
    for m in [m for c in data["classes"] for m in c["methods"]] + data["functions"]:
        m["async"] = m.pop("is_async")
    return data


def test_a_summary_is_typed_down_to_calls_and_writes():
    store = summary_of().classes[0]
    assert store.fields[0].name == "_repo" and store.fields[0].type == "Repo"
    save = next(m for m in store.methods if m.name == "save")
    assert save.is_async and isinstance(save, MethodInfo)
    assert Call("f:_repo", "put", "v", ("p:item",)) in save.calls  # v: a statement call
    assert save.loops == ("_listeners",)
    init = next(m for m in store.methods if m.name == "__init__")
    assert init.params == (Param("repo", "Repo", None),)
    assert Write("f:_repo", "p:repo", "") in init.writes


def test_it_survives_the_topic_unchanged():
    s = summary_of()
    assert StructureSummary.model_validate_json(s.model_dump_json()) == s
    update = SetMemberUpdate(set_id="x", source_id="s.py", source_version="v", summary=s, emitted_at=1.0)
    assert SetMemberUpdate.model_validate_json(update.model_dump_json()).summary == s


def test_the_version_1_dict_is_converted_on_read():
    s = summary_of()
    old = v1_dict(s)
    assert "schema_version" not in old and old["version"] == 1
    assert StructureSummary.model_validate(old) == s
    update = SetMemberUpdate.model_validate({"set_id": "x", "source_id": "s.py", "summary": old, "emitted_at": 1.0})
    assert update.summary == s


@pytest.mark.parametrize("change", [
    lambda d: d.pop("schema_version"),                      # no version at all
    lambda d: d.update(schema_version=SCHEMA_VERSION + 1),  # written by a newer version
    lambda d: d.update(version=1),                          # two versions: not the old dict either
    lambda d: d["classes"][0].update(owner="x"),            # a field this version does not know
    lambda d: d["classes"][0]["methods"][0].update(calls=[["f:x", "go"]]),  # a call of another shape
])
def test_any_other_shape_is_refused_not_misread(change):
    data = json.loads(summary_of().model_dump_json())
    change(data)
    with pytest.raises(ValidationError):
        StructureSummary.model_validate(data)


def test_summaries_are_frozen():
    s = summary_of()
    with pytest.raises(ValidationError):
        s.classes[0].name = "Other"


def test_exported_schemas_describe_the_typed_summary():
    schema = topic_schemas()["sets.members"]
    validator = jsonschema.Draft202012Validator(schema)
    update = SetMemberUpdate(set_id="x", source_id="s.py", source_version="v", summary=summary_of(), emitted_at=1.0)
    validator.validate(update.model_dump(mode="json"))
    assert schema["$defs"]["StructureSummary"]["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert not validator.is_valid({**update.model_dump(mode="json"), "summary": {"language": "python"}})


def test_a_stored_member_carries_the_summary_or_why_it_could_not():
    member = SetMember(source_version="v", uri="s.py", language="python", summary=summary_of())
    assert SetMember.model_validate_json(member.model_dump_json()) == member
    assert SetMember(source_version="v", unreadable="schema_version 9").summary is None
