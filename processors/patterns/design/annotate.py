"""Detections → ``gof:<pattern>`` tags on the participating records plus one ``design_pattern`` record each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from processors.patterns.design.detection import Detection
from processors.patterns.records import KeyDeduper, record
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["annotate"]


def annotate(records: list[PatternRecord], dets: Sequence[Detection], *, lines: list[str], max_chars: int,
             extractor: str, language: str | None) -> list[PatternRecord]:
    """Add ``gof:*`` tags to the class records of ``records`` and one ``design_pattern`` record per
    detection (spanning the participating classes of this document)."""
    if not dets:
        return records
    class_kinds = {"class", "interface", "struct", "trait", "enum", "record", "impl", "type", "union", "protocol"}
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if r.kind in class_kinds:
            simple = r.name.rsplit(".", 1)[-1]
            if r.kind == "impl":
                simple = r.name.split(" for ")[-1].rsplit(".", 1)[-1]
            by_name[simple].append(i)
            by_name[r.name].append(i)
        elif r.kind in ("function", "method"):
            by_name[r.name].append(i)
    extra_tags: dict[int, list[PatternTag]] = defaultdict(list)
    new_records: list[PatternRecord] = []
    keys = KeyDeduper()
    for r in records:
        keys(r.key)
    for d in dets:
        t = d.tag()
        spans = []
        for p in d.participants:
            for i in dict.fromkeys(by_name.get(p, [])):
                if records[i].kind in class_kinds or records[i].kind in ("function", "method"):
                    if all(x.name != t.name for x in extra_tags[i]):
                        extra_tags[i].append(t)
                    spans.append((records[i].span.start_line, records[i].span.end_line))
        if not spans:
            continue
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        rec = record(key=keys(d.key), kind="design_pattern", name=d.pattern, lines=lines, start=start, end=end,
                     text=d.describe(), max_chars=max_chars, extractor=extractor, language=language, tags=[t])
        if rec is not None:
            new_records.append(rec)
    out = []
    for i, r in enumerate(records):
        if extra_tags.get(i):
            r = r.model_copy(update={"tags": [*r.tags, *extra_tags[i]]})
        out.append(r)
    return out + new_records
