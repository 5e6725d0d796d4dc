"""Architecture documents: YAML descriptions become components; everything else is read like docs.

* docker-compose: each entry of ``services:`` is a ``component`` (``component:<service>``); the
  other top-level keys (``networks``, ``volumes``, ``x-…``) are ``config:<key>`` patterns.
* Kubernetes (documents with ``kind`` and ``metadata.name``): one ``component:<Kind>/<name>`` per
  YAML document.
* Any other YAML mapping: one ``config:<key>`` per top-level key.
* Not YAML (Markdown, reST, PlantUML, Mermaid …): :mod:`processors.patterns.docs` sections.
* Every format also goes through :mod:`.graph`: the component graph (compose, Kubernetes, Mermaid,
  PlantUML, DOT, prose) gives each component record its kind (tag ``component_kind:<kind>``) and its
  relations; components only drawn in diagrams or named in prose get their own ``component:<name>``
  record; one ``architecture:<file>`` record (whole document) summarises the graph and carries the
  detected styles as ``arch:<style>`` tags with confidence and evidence.

YAML is only *composed* (:mod:`.yaml_nodes`), so it is safe for untrusted input. YAML that does
not parse falls back to text passages tagged ``yaml_error``. The graph is an extra: when it fails,
the base records are kept and the failure is reported (``architecture:graph``).

>>> from schemas.documents import Document
>>> y = "services:\\n  web:\\n    image: nginx\\n  db:\\n    image: postgres\\nvolumes:\\n  data: {}\\n"
>>> ps = extract(Document(id="d", type="architecture", content=y, version="v", uri="docker-compose.yml"))
>>> [(p.key, p.kind, p.span.start_line, p.span.end_line) for p in ps.patterns]  # doctest: +NORMALIZE_WHITESPACE
[('component:web', 'component', 2, 3), ('component:db', 'component', 4, 5), ('config:volumes', 'config', 6, 7),
 ('architecture:docker-compose.yml', 'architecture', 1, 7)]
"""

from __future__ import annotations

from processors.patterns import docs
from processors.patterns.architecture.graph import build_graph
from processors.patterns.architecture.kinds import node_key
from processors.patterns.architecture.styles import detect_styles
from processors.patterns.architecture.yaml_components import EXTRACTOR, is_yaml, yaml_records
from processors.patterns.outcome import Extraction, FailureLog
from processors.patterns.records import KeyDeduper, record, split_lines
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["EXTRACTOR", "extract"]


def extract(doc: Document, *, max_chars: int = 1200) -> Extraction:
    """Components/config entries of architecture YAML (docs sections for anything else), plus the
    component graph's ``component`` patterns and one ``architecture`` pattern with the detected styles."""
    base = yaml_records(doc, max_chars) if is_yaml(doc) else docs.extract(doc, max_chars=max_chars)
    failures = FailureLog(doc.id)
    records = base
    with failures.guard("architecture:graph"):
        records = _with_graph(doc, base, max_chars)
    return Extraction(tuple(records), failures=failures.failures)


def _stem(uri: str | None) -> str:
    if not uri:
        return "<document>"
    return uri.replace("\\", "/").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "<document>"


def _with_graph(doc: Document, records: list[PatternRecord], max_chars: int) -> list[PatternRecord]:
    if not doc.content.strip() or (records and records[0].tags and records[0].tags[0].name == "yaml_error"):
        return records
    g, sentences, config = build_graph(doc.content, language=doc.language, uri=doc.uri)
    styles = detect_styles(g, sentences, config)
    if g.number_of_nodes() == 0 and not styles:
        return records
    lines = split_lines(doc.content)
    keys = KeyDeduper()
    for r in records:
        keys(r.key)
    language = doc.language or ("yaml" if is_yaml(doc) else None)

    def rel_text(n: str) -> list[str]:
        out = []
        for v in g.successors(n):
            out.append(f"→ {g.nodes[v]['label']} ({', '.join(sorted(g.edges[n, v]['relations']))})")
        for u in g.predecessors(n):
            out.append(f"← {g.nodes[u]['label']} ({', '.join(sorted(g.edges[u, n]['relations']))})")
        return out

    # existing component records (compose services, k8s resources) get their kind and relations
    by_name: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.kind == "component":
            by_name[node_key(r.name.split("/", 1)[-1])] = i
    out = list(records)
    new: list[PatternRecord] = []
    for n, data in g.nodes(data=True):
        kind_tag = PatternTag(name=f"component_kind:{data['kind']}", confidence=0.8,
                              evidence=[e for e in (data["extra"].get("image"),) if e][:1])
        rels = rel_text(n)
        if n in by_name:
            i = by_name[n]
            r = out[i]
            head, _, rest = r.text.partition("\n")
            text = f"{head} — kind {data['kind']}" + (f"\nrelations: {'; '.join(rels[:12])}" if rels else "") + ("\n" + rest if rest else "")
            out[i] = r.model_copy(update={"text": text[:max_chars] if len(text) > max_chars else text,
                                          "tags": [*r.tags, kind_tag]})
            continue
        line = min(max(1, int(data.get("line") or 1)), max(1, len(lines)))
        text = f"component {data['label']} — kind {data['kind']}" + (f"\nrelations: {'; '.join(rels[:12])}" if rels else "")
        rec = record(key=keys(f"component:{n}"), kind="component", name=data["label"], lines=lines, start=line, end=line,
                     text=text, max_chars=max_chars, extractor=EXTRACTOR, language=language, tags=[kind_tag])
        if rec is not None:
            new.append(rec)
    tags = [PatternTag(name=f"arch:{s.name}", confidence=s.confidence, evidence=(s.evidence + ([f"nodes: {', '.join(s.nodes)}"] if s.nodes else []))[:10])
            for s in styles]
    kinds: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    summary = [f"architecture {_stem(doc.uri)}",
               f"{g.number_of_nodes()} components ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
               f"{g.number_of_edges()} relations"]
    if styles:
        summary.append("styles: " + ", ".join(f"{s.name.replace('_', ' ')} ({s.confidence:.2f})" for s in styles))
    edges = [f"{g.nodes[u]['label']} -{'/'.join(sorted(d['relations']))}-> {g.nodes[v]['label']}" for u, v, d in g.edges(data=True)]
    if edges:
        summary.append("relations: " + "; ".join(edges[:40]))
    rec = record(key=keys(f"architecture:{_stem(doc.uri)}"), kind="architecture", name=_stem(doc.uri), lines=lines,
                 start=1, end=len(lines), text="\n".join(summary), max_chars=max_chars, extractor=EXTRACTOR,
                 language=language, tags=tags)
    return out + new + ([rec] if rec is not None else [])
