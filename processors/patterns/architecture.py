"""Architecture documents: YAML descriptions become components; everything else is read like docs.

* docker-compose: each entry of ``services:`` is a ``component`` (``component:<service>``); the
  other top-level keys (``networks``, ``volumes``, ``x-…``) are ``config:<key>`` patterns.
* Kubernetes (documents with ``kind`` and ``metadata.name``): one ``component:<Kind>/<name>`` per
  YAML document.
* Any other YAML mapping: one ``config:<key>`` per top-level key.
* Not YAML (Markdown, reST, PlantUML, Mermaid …): :mod:`processors.patterns.docs` sections.
* Every format also goes through :mod:`.arch_graph`: the component graph (compose, Kubernetes, Mermaid,
  PlantUML, DOT, prose) gives each component record its kind (tag ``component_kind:<kind>``) and its
  relations; components only drawn in diagrams or named in prose get their own ``component:<name>``
  record; one ``architecture:<file>`` record (whole document) summarises the graph and carries the
  detected styles as ``arch:<style>`` tags with confidence and evidence.

YAML is only *composed* (``yaml.compose_all``: nodes and line marks, no object construction), so it
is safe for untrusted input. YAML that does not parse falls back to text passages tagged
``yaml_error``.

>>> from schemas.documents import Document
>>> y = "services:\\n  web:\\n    image: nginx\\n  db:\\n    image: postgres\\nvolumes:\\n  data: {}\\n"
>>> ps = extract(Document(id="d", type="architecture", content=y, version="v", uri="docker-compose.yml"))
>>> [(p.key, p.kind, p.span.start_line, p.span.end_line) for p in ps]  # doctest: +NORMALIZE_WHITESPACE
[('component:web', 'component', 2, 3), ('component:db', 'component', 4, 5), ('config:volumes', 'config', 6, 7),
 ('architecture:docker-compose.yml', 'architecture', 1, 7)]
"""

from __future__ import annotations

import re
import textwrap

import yaml

from processors.patterns import docs
from processors.patterns import text as text_extractor
from processors.patterns._common import KeyDeduper, record, split_lines, tag, trim_span
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["EXTRACTOR", "extract"]

EXTRACTOR = "architecture/1.0.0"
_C_LOADER = getattr(yaml, "CSafeLoader", None)
_MAX_C_DEPTH = 500  # libyaml composes recursively on the C stack: deeper input goes to the Python loader
_LEADING_SPACES_RE = re.compile(r"^ +", re.M)
_NOT_BRACKETS_RE = re.compile(r"[^\[\]{}]+")
_COMPACT_RE = re.compile(r"(?:[-?:][ \t]++)+")  # "- - - x": nesting without indentation


def _nesting_estimate(content: str) -> int:
    """Rough upper bound of how deep ``content`` can nest: indentation width plus the longest run of
    compact block indicators, or the flow-bracket depth."""
    indent = max(map(len, _LEADING_SPACES_RE.findall(content)), default=0)
    indent += max((len(run.replace(" ", "").replace("\t", "")) for run in _COMPACT_RE.findall(content)), default=0)
    brackets = _NOT_BRACKETS_RE.sub("", content)
    depth = best = 0
    if len(brackets) > _MAX_C_DEPTH:
        for ch in brackets:
            depth = depth + 1 if ch in "[{" else max(0, depth - 1)
            best = max(best, depth)
    return max(indent, best)


def _loader(content: str) -> type:
    """The fast C loader when the input cannot nest deep enough to overflow the C stack; otherwise the
    pure-Python loader, whose RecursionError the caller turns into a text fallback."""
    if _C_LOADER is not None and _nesting_estimate(content) <= _MAX_C_DEPTH:
        return _C_LOADER
    return yaml.SafeLoader


def _is_yaml(doc: Document) -> bool:
    lang = (doc.language or "").lower()
    uri = (doc.uri or "").lower().split("?", 1)[0]
    return lang in {"yaml", "yml"} or uri.endswith((".yaml", ".yml"))


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if _scalar(k) == key:
                return v
    return None


def _end_line(lines: list[str], node: yaml.Node) -> int:
    """1-based last line of ``node``: a block node's end mark sits on the next token, so a mark with
    only indentation before it on its line ends the node on the line above."""
    mark = node.end_mark
    line = lines[mark.line] if mark.line < len(lines) else ""
    return mark.line if not line[: mark.column].strip() else mark.line + 1


def _span(lines: list[str], key: yaml.Node, value: yaml.Node) -> tuple[int, int]:
    start = key.start_mark.line + 1
    end = min(max(start, _end_line(lines, value)), len(lines))
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return trim_span(lines, start, end)


class _Builder:
    def __init__(self, doc: Document, lines: list[str], max_chars: int) -> None:
        self.doc, self.lines, self.max_chars = doc, lines, max_chars
        self.keys = KeyDeduper()
        self.out: list[PatternRecord] = []

    def add(self, kind: str, name: str, header: str, start: int, end: int, tags: list[PatternTag] | None = None) -> None:
        raw = textwrap.dedent("\n".join(self.lines[start - 1 : end]))
        rec = record(
            key=self.keys(f"{kind}:{name}"), kind=kind, name=name, lines=self.lines, start=start, end=end,
            text=f"{header}\n{raw}", max_chars=self.max_chars, extractor=EXTRACTOR,
            language=self.doc.language or "yaml", tags=tags,
        )
        if rec is not None:
            self.out.append(rec)

    def document(self, root: yaml.Node) -> None:
        if not isinstance(root, yaml.MappingNode) or not root.value:
            if isinstance(root, (yaml.SequenceNode, yaml.ScalarNode)):
                s = root.start_mark.line + 1
                e = _end_line(self.lines, root)
                s, e = trim_span(self.lines, s, min(max(s, e), len(self.lines)))
                self.add("config", f"document@L{s}", "configuration", s, e)
            return
        kind = _scalar(_get(root, "kind"))
        name = _scalar(_get(_get(root, "metadata") or root, "name")) if _get(root, "metadata") else None
        if kind and name and _get(root, "apiVersion") is not None:
            first_key, last_value = root.value[0][0], root.value[-1][1]
            s, e = _span(self.lines, first_key, last_value)
            ns = _scalar(_get(_get(root, "metadata"), "namespace"))
            header = f"component {kind}/{name}" + (f" (namespace {ns})" if ns else "") + " — Kubernetes resource"
            self.add("component", f"{kind}/{name}", header, s, e, [tag("kubernetes", f"kind: {kind}")])
            return
        services = _get(root, "services")
        for k, v in root.value:
            key = _scalar(k) or f"L{k.start_mark.line + 1}"
            if v is services and isinstance(services, yaml.MappingNode):
                for sk, sv in services.value:
                    sname = _scalar(sk) or f"L{sk.start_mark.line + 1}"
                    s, e = _span(self.lines, sk, sv)
                    image = _scalar(_get(sv, "image"))
                    header = f"component {sname} — docker-compose service" + (f" (image {image})" if image else "")
                    deps = _get(sv, "depends_on")
                    if isinstance(deps, yaml.SequenceNode):
                        names = [x for x in (_scalar(d) for d in deps.value) if x]
                        if names:
                            header += "\ndepends on: " + ", ".join(names)
                    elif isinstance(deps, yaml.MappingNode):
                        header += "\ndepends on: " + ", ".join(x for x in (_scalar(d) for d, _ in deps.value) if x)
                    self.add("component", sname, header, s, e, [tag("docker_compose", f"image: {image}" if image else None)])
                continue
            s, e = _span(self.lines, k, v)
            self.add("config", key, f"configuration {key}", s, e)


def extract(doc: Document, *, max_chars: int = 1200) -> list[PatternRecord]:
    """Components/config entries of architecture YAML (docs sections for anything else), plus the
    component graph's ``component`` patterns and one ``architecture`` pattern with the detected styles."""
    base = _extract_base(doc, max_chars)
    try:
        return _with_graph(doc, base, max_chars)
    except Exception:  # the graph is an extra: never lose the base patterns over it
        import logging

        logging.getLogger(__name__).exception("architecture graph failed for %s", doc.id)
        return base


def _extract_base(doc: Document, max_chars: int) -> list[PatternRecord]:
    if not _is_yaml(doc):
        return docs.extract(doc, max_chars=max_chars)
    if not doc.content.strip():
        return []
    lines = split_lines(doc.content)
    try:
        roots = list(yaml.compose_all(doc.content, Loader=_loader(doc.content)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        return text_extractor.passages(
            doc.content, max_chars=max_chars, language=doc.language, tags=[tag("yaml_error", f"{where}{problem}")]
        )
    builder = _Builder(doc, lines, max_chars)
    for root in roots:
        if root is not None:
            builder.document(root)
    return builder.out


def _stem(uri: str | None) -> str:
    if not uri:
        return "<document>"
    return uri.replace("\\", "/").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "<document>"


def _with_graph(doc: Document, records: list[PatternRecord], max_chars: int) -> list[PatternRecord]:
    from processors.patterns import arch_graph

    if not doc.content.strip() or (records and records[0].tags and records[0].tags[0].name == "yaml_error"):
        return records
    g, sentences, config = arch_graph.build_graph(doc.content, language=doc.language, uri=doc.uri)
    styles = arch_graph.detect_styles(g, sentences, config)
    if g.number_of_nodes() == 0 and not styles:
        return records
    lines = split_lines(doc.content)
    keys = KeyDeduper()
    for r in records:
        keys(r.key)
    language = doc.language or ("yaml" if _is_yaml(doc) else None)

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
            by_name[arch_graph._key(r.name.split("/", 1)[-1])] = i
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
