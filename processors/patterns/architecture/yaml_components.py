"""Architecture YAML → one ``component`` per docker-compose service or Kubernetes resource, ``config`` otherwise.

* docker-compose: each entry of ``services:`` is a ``component`` (``component:<service>``); the
  other top-level keys (``networks``, ``volumes``, ``x-…``) are ``config:<key>`` patterns.
* Kubernetes (documents with ``kind`` and ``metadata.name``): one ``component:<Kind>/<name>`` per
  YAML document.
* Any other YAML mapping: one ``config:<key>`` per top-level key.

YAML that does not parse becomes text passages tagged ``yaml_error``.
"""

from __future__ import annotations

import textwrap

import yaml

from processors.patterns import text as text_extractor
from processors.patterns.architecture.yaml_nodes import child, scalar, yaml_loader
from processors.patterns.records import KeyDeduper, record, split_lines, tag, trim_span
from schemas.documents import Document
from schemas.patterns import PatternRecord, PatternTag

__all__ = ["EXTRACTOR", "is_yaml", "yaml_records"]

EXTRACTOR = "architecture/1.0.0"


def is_yaml(doc: Document) -> bool:
    lang = (doc.language or "").lower()
    uri = (doc.uri or "").lower().split("?", 1)[0]
    return lang in {"yaml", "yml"} or uri.endswith((".yaml", ".yml"))


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
        kind = scalar(child(root, "kind"))
        name = scalar(child(child(root, "metadata") or root, "name")) if child(root, "metadata") else None
        if kind and name and child(root, "apiVersion") is not None:
            first_key, last_value = root.value[0][0], root.value[-1][1]
            s, e = _span(self.lines, first_key, last_value)
            ns = scalar(child(child(root, "metadata"), "namespace"))
            header = f"component {kind}/{name}" + (f" (namespace {ns})" if ns else "") + " — Kubernetes resource"
            self.add("component", f"{kind}/{name}", header, s, e, [tag("kubernetes", f"kind: {kind}")])
            return
        services = child(root, "services")
        for k, v in root.value:
            key = scalar(k) or f"L{k.start_mark.line + 1}"
            if v is services and isinstance(services, yaml.MappingNode):
                for sk, sv in services.value:
                    sname = scalar(sk) or f"L{sk.start_mark.line + 1}"
                    s, e = _span(self.lines, sk, sv)
                    image = scalar(child(sv, "image"))
                    header = f"component {sname} — docker-compose service" + (f" (image {image})" if image else "")
                    deps = child(sv, "depends_on")
                    if isinstance(deps, yaml.SequenceNode):
                        names = [x for x in (scalar(d) for d in deps.value) if x]
                        if names:
                            header += "\ndepends on: " + ", ".join(names)
                    elif isinstance(deps, yaml.MappingNode):
                        header += "\ndepends on: " + ", ".join(x for x in (scalar(d) for d, _ in deps.value) if x)
                    self.add("component", sname, header, s, e, [tag("docker_compose", f"image: {image}" if image else None)])
                continue
            s, e = _span(self.lines, k, v)
            self.add("config", key, f"configuration {key}", s, e)


def yaml_records(doc: Document, max_chars: int) -> list[PatternRecord]:
    """Component and config records of an architecture YAML document (see the module doc)."""
    if not doc.content.strip():
        return []
    lines = split_lines(doc.content)
    try:
        roots = list(yaml.compose_all(doc.content, Loader=yaml_loader(doc.content)))
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

