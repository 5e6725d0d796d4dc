"""Mermaid, PlantUML and Graphviz DOT diagrams (whole files or fenced blocks) → the graph."""

from __future__ import annotations

import re

from processors.patterns.architecture.graph_builder import GraphBuilder
from processors.patterns.architecture.kinds import infer_kind

__all__ = ["add_dot", "add_mermaid", "add_plantuml", "diagram_kind", "fenced_blocks"]

# Mermaid ------------------------------------------------------------------------------------------------

_MM_NODE = r"([A-Za-z_][\w.-]*)(\[\(.*?\)\]|\(\[.*?\]\)|\[\[.*?\]\]|\[/.*?/\]|\[\\.*?\\\]|\(\(.*?\)\)|\{\{.*?\}\}|\[.*?\]|\(.*?\)|\{.*?\}|>.*?\])?"
_MM_SIMPLE = re.compile(r"^\s*" + _MM_NODE + r"\s*(?P<arrow><?(?:--+>?|==+>?|-\.+->?|~~~)[ox]?)\s*(?:\|(?P<label>[^|]*)\|)?\s*(?P<rest>.*)$")
_MM_SEQ = re.compile(r"^\s*([\w .-]+?)\s*(->>|-->>|->|-->|-x|--x|-\)|--\))\s*([\w .-]+?)\s*:\s*(.*)$")


def _mm_shape_kind(shape: str | None) -> str | None:
    """Kind implied by a Mermaid node: its label first, then the cylinder shape (a database)."""
    if not shape:
        return None
    label = _mm_label(shape)
    kind = infer_kind(label) if label else "service"
    if kind == "service" and shape.startswith("[("):
        return "database"
    return kind if kind != "service" else None


def _mm_label(shape: str | None) -> str | None:
    if not shape:
        return None
    return shape.strip("[](){}/\\>\"' ") or None


def add_mermaid(b: GraphBuilder, lines: list[str], first: int) -> None:
    b.sources.add("mermaid")
    ids: dict[str, str] = {}  # mermaid id → node key (labelled nodes are keyed by their label)

    def mnode(mid: str, shape: str | None, ln: int) -> str | None:
        label = _mm_label(shape)
        if mid in ids and not label:
            return ids[mid]
        key = b.node(label or mid, label=label or mid, kind=_mm_shape_kind(shape), line=ln, hints=(mid,), source="mermaid")
        if key:
            ids[mid] = key
        return key

    seq = any(l.strip().startswith("sequenceDiagram") for l in lines[:3])
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("%%", 1)[0].rstrip().rstrip(";")
        if not line.strip() or line.strip().startswith(("graph", "flowchart", "subgraph", "end", "classDef", "class ",
                                                         "style", "linkStyle", "click", "direction", "sequenceDiagram",
                                                         "participant", "actor", "note", "Note", "loop", "alt", "else",
                                                         "opt", "par", "and", "rect", "autonumber", "activate",
                                                         "deactivate", "title")):
            m = re.match(r"\s*(participant|actor)\s+([\w.-]+)(?:\s+as\s+(.+))?", line)
            if m:
                b.node(m.group(2), label=m.group(3) or m.group(2), line=ln, hints=(m.group(3), m.group(1)), source="mermaid")
            m = re.match(r"\s*subgraph\s+(.+)$", line)
            if m:
                b.g.graph.setdefault("groups", []).append((ln, m.group(1).strip()))
            continue
        if seq:
            m = _MM_SEQ.match(line)
            if m:
                a = b.node(m.group(1), line=ln, source="mermaid")
                c = b.node(m.group(3), line=ln, source="mermaid")
                msg = m.group(4).strip()
                rel = "publishes" if re.search(r"publish|emit|event", msg, re.I) else "calls"
                if not m.group(2).startswith("--"):
                    b.edge(a, c, rel, line=ln, label=msg[:60])
            continue
        # chains: A --> B --> C, with optional |labels| and shapes
        rest = line
        prev = None
        guard = 0
        while rest.strip() and guard < 20:
            guard += 1
            m = _MM_SIMPLE.match(rest)
            if not m:
                m2 = re.match(r"^\s*" + _MM_NODE + r"\s*$", rest)
                if m2 and prev is not None:
                    key = mnode(m2.group(1), m2.group(2), ln)
                    b.edge(prev[0], key, prev[1], line=ln, label=prev[2])
                elif m2:
                    mnode(m2.group(1), m2.group(2), ln)
                break
            key = mnode(m.group(1), m.group(2), ln)
            if prev is not None:
                b.edge(prev[0], key, prev[1], line=ln, label=prev[2])
            label = (m.group("label") or "").strip()
            arrow = m.group("arrow")
            rest = m.group("rest")
            # inline text form: A -- text --> B
            m3 = re.match(r"^([^->=|]+?)\s*(--+>|==+>|-\.+->)\s*(.*)$", rest) if arrow in ("--", "==", "-.") else None
            if m3:
                label, rest = m3.group(1).strip(), m3.group(3)
            rel = _label_relation(label) if (">" in arrow or m3) else "depends_on"
            prev = (key, rel, label)


def _label_relation(label: str) -> str:
    l = label.lower()
    if re.search(r"publish|emit|produce|send event|event", l):
        return "publishes"
    if re.search(r"subscri|consume|listen", l):
        return "subscribes"
    if re.search(r"\bread|query|fetch|get\b|lookup|select", l):
        return "reads"
    if re.search(r"write|store|persist|save|insert|update", l):
        return "writes"
    if re.search(r"route|proxy|forward", l):
        return "routes"
    return "calls"


# PlantUML -------------------------------------------------------------------------------------------------

_PU_DECL = re.compile(r'^\s*(component|database|queue|node|actor|interface|rectangle|cloud|storage|frame|package|'
                      r'collections|boundary|control|entity|usecase|agent|artifact|card|file|folder|stack|person|'
                      r'Container|ContainerDb|ContainerQueue|System|System_Ext|Component|ComponentDb|Person)'
                      r'(?:\s*\(\s*(\w+)\s*,\s*"([^"]*)")?\s*(?:"([^"]+)"|\[([^\]]+)\]|([\w.-]+))?(?:\s+as\s+([\w.-]+))?')
_PU_EDGE = re.compile(r'^\s*(\[[^\]]+\]|"[^"]+"|[\w.-]+)\s*(<?[-.]+(?:\w+[-.]+)?>?|<?=+>?)\s*(\[[^\]]+\]|"[^"]+"|[\w.-]+)\s*(?::\s*(.*))?$')
_PU_REL = re.compile(r'^\s*(Rel|Rel_D|Rel_U|Rel_L|Rel_R|Rel_Back|BiRel)\s*\(\s*([\w.-]+)\s*,\s*([\w.-]+)\s*,\s*"([^"]*)"')


def add_plantuml(b: GraphBuilder, lines: list[str], first: int) -> None:
    b.sources.add("plantuml")
    alias: dict[str, str] = {}
    kinds = {"database": "database", "ContainerDb": "database", "ComponentDb": "database", "queue": "broker",
             "ContainerQueue": "broker", "actor": "ui", "Person": "ui", "person": "ui", "storage": "storage",
             "collections": None, "System_Ext": "external"}
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("'", 1)[0].rstrip() if not raw.strip().startswith("'") else ""
        if not line.strip() or line.strip().startswith(("@start", "@end", "skinparam", "title", "left to right", "!", "}")):
            continue
        m = _PU_REL.match(line)
        if m:
            a = b.node(alias.get(m.group(2), m.group(2)), line=ln, source="plantuml")
            c = b.node(alias.get(m.group(3), m.group(3)), line=ln, source="plantuml")
            b.edge(a, c, _label_relation(m.group(4)), line=ln, label=m.group(4))
            continue
        m = _PU_EDGE.match(line)
        if m and any(ch in m.group(2) for ch in "-.=") and len(m.group(2)) >= 2:
            l, arrow, r, label = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip()
            ln_name = alias.get(l.strip("[]\""), l.strip("[]\""))
            rn_name = alias.get(r.strip("[]\""), r.strip("[]\""))
            a = b.node(ln_name, line=ln, source="plantuml")
            c = b.node(rn_name, line=ln, source="plantuml")
            if arrow.startswith("<") and not arrow.endswith(">"):
                a, c = c, a
            b.edge(a, c, _label_relation(label) if label else ("calls" if ">" in arrow else "depends_on"), line=ln, label=label)
            continue
        m = _PU_DECL.match(line)
        if m:
            kw = m.group(1)
            if kw in ("package", "frame", "folder", "rectangle", "cloud", "node", "boundary") and line.rstrip().endswith("{"):
                b.g.graph.setdefault("groups", []).append((ln, (m.group(4) or m.group(5) or m.group(6) or "").strip()))
                continue
            c4_alias, c4_label = m.group(2), m.group(3)
            label = c4_label or m.group(4) or m.group(5) or m.group(6)
            name = c4_alias or m.group(7) or label
            if not name:
                continue
            key = b.node(name, label=label, kind=kinds.get(kw), line=ln, hints=(label, kw if kw not in ("component", "node") else ""),
                         source="plantuml")
            if m.group(7) and label:
                alias[label] = m.group(7)
            alias[name] = name
            _ = key


# Graphviz DOT ---------------------------------------------------------------------------------------------

_DOT_EDGE = re.compile(r'("[^"]+"|[\w.]+)\s*(->|--)\s*("[^"]+"|[\w.]+)(?:\s*\[([^\]]*)\])?')
_DOT_NODE = re.compile(r'^\s*("[^"]+"|[\w.]+)\s*\[([^\]]*)\]\s*;?\s*$')
_DOT_ATTR = re.compile(r'(\w+)\s*=\s*("[^"]*"|[\w.]+)')


def add_dot(b: GraphBuilder, lines: list[str], first: int) -> None:
    b.sources.add("graphviz")
    for i, raw in enumerate(lines):
        ln = first + i
        line = raw.split("//", 1)[0]
        if re.match(r"\s*(di)?graph\b|\s*(node|edge|graph)\s*\[|\s*subgraph|\s*[{}]\s*$|\s*rankdir", line):
            m = re.match(r'\s*subgraph\s+("?[^"{]+"?)', line)
            if m:
                b.g.graph.setdefault("groups", []).append((ln, m.group(1).strip('" ')))
            continue
        m = _DOT_NODE.match(line)
        if m and "->" not in line and "--" not in line:
            attrs = {k: v.strip('"') for k, v in _DOT_ATTR.findall(m.group(2))}
            shape = attrs.get("shape", "")
            kind = "database" if shape in ("cylinder",) else ("broker" if shape in ("cds",) else None)
            b.node(m.group(1).strip('"'), label=attrs.get("label"), kind=kind, line=ln, hints=(attrs.get("label"),), source="graphviz")
            continue
        for m in _DOT_EDGE.finditer(line):
            attrs = {k: v.strip('"') for k, v in _DOT_ATTR.findall(m.group(4) or "")}
            a = b.node(m.group(1).strip('"'), line=ln, source="graphviz")
            c = b.node(m.group(3).strip('"'), line=ln, source="graphviz")
            label = attrs.get("label", "")
            b.edge(a, c, _label_relation(label) if label else "calls", line=ln, label=label)


_FENCE_RE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")


def fenced_blocks(lines: list[str]) -> tuple[list[tuple[str, int, list[str]]], set[int]]:
    """Fenced diagram blocks ``(language, first line, lines)`` and the set of fenced line numbers."""
    out: list[tuple[str, int, list[str]]] = []
    fenced: set[int] = set()
    i = 0
    n = len(lines)
    while i < n:
        m = _FENCE_RE.match(lines[i])
        if m:
            lang = m.group(2).lower()
            j = i + 1
            while j < n and not lines[j].strip().startswith(m.group(1)):
                j += 1
            fenced.update(range(i + 1, min(j, n - 1) + 2))
            out.append((lang, i + 2, lines[i + 1 : j]))
            i = j + 1
            continue
        i += 1
    return out, fenced


def diagram_kind(lang: str, body: list[str]) -> str | None:
    head = "\n".join(l.strip() for l in body[:5])
    if lang in ("mermaid", "mmd") or re.match(r"(graph|flowchart)\s+(TD|TB|BT|LR|RL)\b|sequenceDiagram", head):
        return "mermaid"
    if lang in ("plantuml", "puml", "uml") or "@startuml" in head or re.search(r"^(component|database|queue)\s", head, re.M):
        return "plantuml"
    if lang in ("dot", "graphviz") or re.match(r"(strict\s+)?(di)?graph\s*[\w\"]*\s*\{", head):
        return "dot"
    return None
