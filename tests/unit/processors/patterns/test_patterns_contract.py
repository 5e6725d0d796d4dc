"""processors.patterns: the contract every extractor keeps, and what each one finds."""

from __future__ import annotations

import inspect
import json.decoder
import random
import re
import subprocess
import sys
import textwrap

import pytest

import processors.patterns as patterns
from processors.patterns import MAX_PATTERNS, DetectorFailure, Extraction, extract_patterns, extractor_for
from processors.patterns import code
from processors.patterns.records import SNIPPET_MAX_CHARS, split_lines
from schemas.documents import Document


def doc(content: str, type_: str = "general", language: str | None = None, uri: str | None = None) -> Document:
    return Document(id="d", type=type_, content=content, version="v", language=language, uri=uri)


def py(module) -> Document:
    return doc(inspect.getsource(module), "code", "python", module.__file__)


JAVA = """package demo;

import java.util.List;

/** A greeter. */
@Deprecated
public class Greeter implements Comparable<Greeter> {
    private final String name;

    /** Builds one. */
    public Greeter(String name) {
        this.name = name;
    }

    @Override
    public int compareTo(Greeter other) {
        synchronized (this) {
            return name.compareTo(other.name);
        }
    }

    public static List<String> names(List<Greeter> gs) {
        return gs.stream().map(g -> g.name).toList();
    }
}
"""
GO = """package main

import "fmt"

// Point is a point.
type Point struct {
\tX, Y int
}

// String formats it.
func (p *Point) String() string {
\treturn fmt.Sprintf("(%d, %d)", p.X, p.Y)
}

func main() {
\tfmt.Println(&Point{1, 2})
}
"""
C = """#include <stdio.h>

static struct entry table[] = { {1}, {2} };

/* Adds. */
static int add(int a, int b)
{
    return a + b;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("%d\\n", add(1, 2));
    }
    return 0;
}
"""
TS = """import { x } from './x';

export interface Shape { area(): number }

export class Circle implements Shape {
  constructor(private r: number) {}

  area(): number {
    return Math.PI * this.r ** 2;
  }
}

export const double = (n: number): number => n * 2;

export function main(): void {
  console.log(new Circle(1).area());
}
"""
RUST = """use std::fmt;

/// A point.
#[derive(Debug)]
pub struct Point { x: i32, y: i32 }

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

pub fn origin() -> Point {
    Point { x: 0, y: 0 }
}
"""
SHELL = "#!/bin/sh\nset -e\n\nusage() {\n  echo usage\n}\n\nmain() {\n  usage\n}\n\nmain \"$@\"\n"
SQL = "-- users\nCREATE TABLE users (id int);\n\nCREATE OR REPLACE VIEW active AS\n  SELECT * FROM users;\n"
MARKDOWN = """---
title: Guide
---
# Guide

Intro paragraph.

## Install

Run the installer.

```sh
# not a heading
make install
```

### Linux

Use the package manager.

## Usage

Setext heading below.

Advanced
--------

Details here.
"""
RST = """=======
 Title
=======

Intro text.

Section A
=========

Text A.

Sub A1
------

Text A1.

Section B
=========

Text B.
"""
HTML = "<html><body>\n<h1>Title</h1>\n<p>Hello there.</p>\n<h2>Part <em>two</em></h2>\n<p>More text.</p>\n</body></html>\n"
COMPOSE = """version: "3.9"
services:
  web:
    image: nginx:1.27
    depends_on: [api]
  api:
    build: ./api
    depends_on:
      - db

  db:
    image: postgres:16
networks:
  default: {}
"""
K8S = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
"""
PROSE = " ".join(
    f"Sentence number {i} talks about streams, partitions and consumer group number {i % 7}." for i in range(60)
)


TSX = """import React from "react";

/** Greets. */
export const Hello = ({ name }: { name: string }) => <p>Hello {name}</p>;

export default class App extends React.Component {
  render() { return <Hello name="x" />; }
}
"""
CPP = """namespace n {
/// Base.
class Shape { public: virtual double area() const = 0; virtual ~Shape() {} };
template <typename T> class Box : public Shape { public: double area() const override { return 1; } };
}
double free_fn(int x) { return x * 2.0; }
"""
JAVA_OBSERVER = """import java.util.*;
interface Listener { void onEvent(String e); }
class Bus {
    private final List<Listener> ls = new ArrayList<>();
    void subscribe(Listener l) { ls.add(l); }
    void unsubscribe(Listener l) { ls.remove(l); }
    void publish(String e) { for (Listener l : ls) { l.onEvent(e); } }
}
class Logger implements Listener { public void onEvent(String e) { System.out.println(e); } }
"""
PY_IDIOMS = """import asyncio, time, functools

@functools.lru_cache(maxsize=None)
def f(n):
    return n

def retry(call):
    delay = 1
    for _ in range(3):
        try:
            return call()
        except OSError:
            time.sleep(delay)
            delay *= 2

async def many(urls):
    return await asyncio.gather(*[get(u) for u in urls])
"""
DOC_PRACTICES = """# Guide

You must rotate keys every 90 days. Avoid sharing tokens.

1. Create a key.
2. Store it in the vault.

```bash
vault kv put secret/k value=1
```
"""
RST_CODE = "Setup\n=====\n\nRun:\n\n.. code-block:: bash\n\n   make\n\nYou should run it twice.\n"
MERMAID_ARCH = "flowchart LR\n  ui[Web UI] --> gw[API Gateway]\n  gw --> a[Orders Service]\n  gw --> b[Users Service]\n  a --> db[(Orders DB)]\n"
PLANTUML = "@startuml\ncomponent [Orders] as o\ndatabase \"DB\" as d\nqueue \"Kafka\" as k\no --> d : writes\no --> k : publishes\n@enduml\n"
DOT = "digraph g {\n  db [shape=cylinder];\n  a -> db;\n  b -> db [label=\"reads\"];\n}\n"
ARCH_PROSE = ("# Architecture\n\nThe API gateway routes requests to the order-service and the user-service. "
              "The order-service publishes events to Kafka, and the billing-service subscribes to Kafka. "
              "Each service owns its own database.\n")


def garbage(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FFF), 10, 9, 13])) for _ in range(n))


def deep_python(depth: int) -> str:
    return "x = " + "(" * depth + "1" + ")" * depth + "\n"


CORPUS: list[tuple[str, Document]] = [
    ("json.decoder", py(json.decoder)),
    ("textwrap", py(textwrap)),
    ("inspect", py(inspect)),
    ("py-syntax-error", doc("def broken(:\n    pass\n\nclass Ok:\n    pass\n", "code", "python")),
    ("py-nul", doc("x = 1\x00\n", "code", "python")),
    ("py-deep", doc(deep_python(5000), "code", "python")),
    ("py-crlf", doc("def a():\r\n    return 1\r\n\r\nclass B:\r\n    def c(self):\r\n        pass\r\n", "code", "python")),
    ("py-cr", doc("def a():\r    return 1\r\rdef b():\r    return 2\r", "code", "python")),
    ("py-formfeed", doc("def a():\n    return 1\n\x0c\ndef b():\n    return 2\n", "code", "python")),
    ("py-only-comments", doc("# just a comment\n# another\n", "code", "python")),
    ("java", doc(JAVA, "code", "java", "Greeter.java")),
    ("go", doc(GO, "code", "go", "main.go")),
    ("c", doc(C, "code", "c", "main.c")),
    ("ts", doc(TS, "code", "typescript", "shapes.ts")),
    ("rust", doc(RUST, "code", "rust", "lib.rs")),
    ("shell", doc(SHELL, "code", "shell", "run.sh")),
    ("sql", doc(SQL, "code", "sql", "schema.sql")),
    ("code-no-defs", doc("a = 1;\nb = 2;\n\nc = a + b;\n", "code", "javascript")),
    ("tsx", doc(TSX, "code", None, "ui/App.tsx")),
    ("cpp", doc(CPP, "code", "cpp", "shapes.cpp")),
    ("java-observer", doc(JAVA_OBSERVER, "code", "java", "Bus.java")),
    ("java-broken", doc("class A {\n  void f( {\n  int x = ;\n}\n", "code", "java")),
    ("js-deep", doc("function f() { return " + "(" * 3000 + "1" + ")" * 3000 + "; }\n", "code", "javascript")),
    ("java-many-methods", doc("class Big {\n" + "".join(f"  int m{i}() {{ return {i}; }}\n" for i in range(800)) + "}\n",
                              "code", "java")),
    ("py-idioms", doc(PY_IDIOMS, "code", "python", "idioms.py")),
    ("doc-practices", doc(DOC_PRACTICES, "documentation", "markdown", "guide.md")),
    ("rst-code", doc(RST_CODE, "documentation", "rst", "setup.rst")),
    ("mermaid-arch", doc(MERMAID_ARCH, "architecture", "mermaid", "arch.mmd")),
    ("plantuml", doc(PLANTUML, "architecture", "plantuml", "c.puml")),
    ("dot", doc(DOT, "architecture", "dot", "g.dot")),
    ("arch-prose", doc(ARCH_PROSE, "architecture", "markdown", "ARCHITECTURE.md")),
    ("garbage-as-tsx", doc(garbage(5000, 5), "code", "tsx")),
    ("garbage-as-cpp", doc(garbage(5000, 6), "code", "cpp")),
    ("garbage-as-go", doc(garbage(5000, 7), "code", "go")),
    ("garbage-as-rust", doc(garbage(5000, 8), "code", "rust")),
    ("garbage-as-html", doc(garbage(5000, 9), "documentation", "html")),
    ("garbage-as-mermaid", doc(garbage(5000, 10), "architecture", "mermaid")),
    ("garbage-as-arch-md", doc(garbage(5000, 11), "architecture", "markdown")),
    ("markdown", doc(MARKDOWN, "documentation", "markdown", "guide.md")),
    ("rst", doc(RST, "documentation", "rst", "index.rst")),
    ("html", doc(HTML, "documentation", "html", "index.html")),
    ("md-no-headings", doc("Just one paragraph.\n\nAnd another.\n", "documentation", "markdown")),
    ("md-headings-only", doc("# A\n## B\n### C\n", "documentation", "markdown")),
    ("md-unclosed-fence", doc("# A\n\n```\ncode\n\n# not heading\n", "documentation", "markdown")),
    ("compose", doc(COMPOSE, "architecture", "yaml", "docker-compose.yml")),
    ("k8s", doc(K8S, "architecture", "yaml", "k8s/web.yaml")),
    ("yaml-invalid", doc("a: [1, 2\nb: : :\n", "architecture", "yaml", "bad.yaml")),
    ("yaml-scalar", doc("just a string\n", "architecture", "yaml", "s.yaml")),
    ("yaml-list", doc("- a\n- b\n", "architecture", "yaml", "l.yaml")),
    ("mermaid", doc("graph TD\n  A-->B\n  B-->C\n", "architecture", "mermaid", "flow.mmd")),
    ("arch-markdown", doc(MARKDOWN, "architecture", "markdown", "ARCHITECTURE.md")),
    ("prose", doc(PROSE)),
    ("prose-no-punctuation", doc("word " * 3000)),
    ("one-huge-token", doc("x" * 50_000)),
    ("garbage", doc(garbage(5000))),
    ("garbage-as-code", doc(garbage(5000, 1), "code", "python")),
    ("garbage-as-java", doc(garbage(5000, 2), "code", "java")),
    ("garbage-as-docs", doc(garbage(5000, 3), "documentation", "markdown")),
    ("garbage-as-yaml", doc(garbage(5000, 4), "architecture", "yaml")),
    ("binaryish", doc("".join(chr(i % 32) for i in range(3000)) + "tail", "general")),
    ("binaryish-code", doc("".join(chr(i % 32) for i in range(3000)), "code", "python")),
    ("unicode", doc("Ünïcödé text — with emoji 🎉. Second sentence here! Third?\n" * 20)),
    ("huge-text", doc(PROSE * 60)),
    ("single-char", doc("x")),
]


def check_contract(d: Document, max_chars: int) -> list:
    records = extract_patterns(d, max_chars=max_chars).patterns
    again = extract_patterns(d, max_chars=max_chars).patterns
    assert [r.key for r in records] == [r.key for r in again], "keys must be stable"
    assert [r.text for r in records] == [r.text for r in again]
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)), "keys must be unique"
    assert len(records) <= MAX_PATTERNS
    n_lines = max(1, len(split_lines(d.content)))
    for r in records:
        assert 1 <= r.span.start_line <= r.span.end_line <= n_lines, (r.key, r.span, n_lines)
        assert r.text.strip(), r.key
        assert len(r.text) <= max_chars, (r.key, len(r.text))
        assert len(r.snippet) <= SNIPPET_MAX_CHARS
        assert re.fullmatch(r"[a-z_]+/\d+\.\d+\.\d+", r.extractor), r.extractor
        assert r.kind and r.name
    return records


@pytest.mark.parametrize("max_chars", [1200, 300, 40])
@pytest.mark.parametrize(("name", "d"), CORPUS, ids=[n for n, _ in CORPUS])
def test_contract(name, d, max_chars):
    records = check_contract(d, max_chars)
    if d.content.strip():
        assert records, "non-blank content always yields at least one pattern"


@pytest.mark.parametrize("content", ["", "   ", "\n\n\t\n"])
@pytest.mark.parametrize("type_", ["code", "documentation", "architecture", "general"])
def test_blank_content_yields_nothing(content, type_):
    assert extract_patterns(doc(content, type_, "python" if type_ == "code" else None)) == Extraction()


def test_snippet_is_the_raw_lines():
    d = doc(JAVA, "code", "java")
    lines = split_lines(d.content)
    for r in extract_patterns(d).patterns:
        assert r.snippet == "\n".join(lines[r.span.start_line - 1 : r.span.end_line])[:SNIPPET_MAX_CHARS]


def test_dispatch():
    assert extractor_for(doc("x", "code", "python"))[0] == "python_code"
    assert extractor_for(doc("x", "code", None, "a/b.pyi"))[0] == "python_code"
    assert extractor_for(doc("x", "code", "go"))[0] == "treesitter_code"
    assert extractor_for(doc("x", "code", "ruby"))[0] == "generic_code"
    assert extractor_for(doc("x", "documentation"))[0] == "docs"
    assert extractor_for(doc("x", "architecture"))[0] == "architecture"
    assert extractor_for(doc("x", "general"))[0] == "text"


# --------------------------------------------------------------------------- Python

def test_python_stdlib_module_qualnames_and_spans():
    d = py(textwrap)
    records = {r.key: r for r in extract_patterns(d, max_patterns=10_000).patterns}
    assert records["module:textwrap"].span.start_line == 1
    assert records["module:textwrap"].span.end_line == len(split_lines(d.content))
    expected = {
        "class:TextWrapper": textwrap.TextWrapper,
        "method:TextWrapper.__init__": textwrap.TextWrapper.__init__,
        "method:TextWrapper._wrap_chunks": textwrap.TextWrapper._wrap_chunks,
        "method:TextWrapper.fill": textwrap.TextWrapper.fill,
        "function:wrap": textwrap.wrap,
        "function:fill": textwrap.fill,
        "function:dedent": textwrap.dedent,
        "function:indent": textwrap.indent,
    }
    for key, obj in expected.items():
        lines, start = inspect.getsourcelines(obj)
        rec = records[key]
        assert (rec.span.start_line, rec.span.end_line) == (start, start + len(lines) - 1), key
        assert rec.language == "python" and rec.extractor == "python_code/1.0.0"
    wrap = records["function:wrap"].text
    assert wrap.startswith("function wrap\ndef wrap(text, width=70, **kwargs)")
    assert "Wrap a single paragraph of text" in wrap  # the docstring


def test_python_json_decoder_finds_everything():
    records = extract_patterns(py(json.decoder)).patterns
    keys = {r.key for r in records}
    assert {"module:decoder", "class:JSONDecodeError", "method:JSONDecodeError.__init__", "class:JSONDecoder",
            "method:JSONDecoder.decode", "method:JSONDecoder.raw_decode", "function:py_scanstring",
            "function:JSONObject", "function:JSONArray"} <= keys
    kinds = {r.kind for r in records}
    assert kinds == {"module", "class", "method", "function"}


SYNTHETIC = '''"""Module doc."""
import os

try:
    from fast import helper
except ImportError:
    def helper():
        return 1

if os.name == "nt":
    def platform():
        return "win"
else:
    def platform():
        return "posix"


@dataclass(frozen=True)
class Outer(Base, metaclass=Meta):
    """Outer doc."""

    class Inner:
        def deep(self):
            def local():
                return 1
            return local()

    @property
    def value(self) -> int:
        return 1

    async def fetch(self, url: str, *, timeout: float = 1.0) -> bytes:
        """Fetch it."""
        return b""
'''


def test_python_qualnames_duplicates_decorators():
    records = extract_patterns(doc(SYNTHETIC, "code", "python", "pkg/mod.py")).patterns
    by_key = {r.key: r for r in records}
    assert list(by_key) == [
        "module:mod", "function:helper", "function:platform", "function:platform#2", "class:Outer",
        "class:Outer.Inner", "method:Outer.Inner.deep", "method:Outer.value", "method:Outer.fetch",
    ]
    outer = by_key["class:Outer"]
    assert outer.span.start_line == 18 and outer.span.end_line == 34  # from the decorator to the end
    assert "@dataclass(frozen=True)" in outer.text and "class Outer(Base, metaclass=Meta)" in outer.text
    assert "Outer doc." in outer.text and "Methods: value, fetch" in outer.text
    assert {t.name for t in outer.tags} == {"dataclass"}
    fetch = by_key["method:Outer.fetch"]
    assert "async def fetch(self, url: str, *, timeout: float=1.0) -> bytes" in fetch.text
    assert {t.name for t in fetch.tags} == {"async"}
    assert {t.name for t in by_key["method:Outer.value"].tags} == {"property"}
    assert by_key["module:mod"].text.startswith("module mod\nModule doc.")


def test_python_keys_survive_unrelated_edits():
    edited = SYNTHETIC.replace('return "win"', 'return "windows"  # changed')
    before = [r.key for r in extract_patterns(doc(SYNTHETIC, "code", "python")).patterns]
    after = [r.key for r in extract_patterns(doc(edited, "code", "python")).patterns]
    assert before == after


def test_python_syntax_error_falls_back_to_passages():
    records = extract_patterns(doc("def broken(:\n    pass\n", "code", "python")).patterns
    assert records and all(r.kind == "passage" for r in records)
    assert all(r.extractor.startswith("text/") for r in records)
    tags = [t for t in records[0].tags if t.name == "syntax_error"]
    assert tags and "line 1" in tags[0].evidence[0]


def test_python_body_head_respects_max_chars():
    for r in extract_patterns(py(inspect), max_chars=200).patterns:
        assert len(r.text) <= 200


def test_truncation_is_capped_and_noted():
    src = "\n".join(f"def f{i}():\n    return {i}\n" for i in range(700))
    records = extract_patterns(doc(src, "code", "python")).patterns
    assert len(records) == MAX_PATTERNS
    assert [t.name for t in records[-1].tags] == ["truncated"]
    assert "of 701" in records[-1].tags[0].evidence[0]
    assert len(extract_patterns(doc(src, "code", "python"), max_patterns=10).patterns) == 10


def test_extractor_crash_falls_back_to_passages(monkeypatch):
    def boom(doc, *, max_chars):
        raise RuntimeError("bug")

    monkeypatch.setattr(code, "extract_python", boom)
    found = extract_patterns(doc("def f():\n    return 1\n", "code", "python"))
    records = found.patterns
    assert records and records[0].kind == "passage"
    assert records[0].tags[0].name == "extractor_error"
    assert found.failures == (DetectorFailure("python_code", "d", "RuntimeError: bug"),)
    assert found.summary is None


# --------------------------------------------------------------------------- other code

def _keys(d: Document) -> list[str]:
    return [r.key for r in extract_patterns(d).patterns]


def test_java():
    keys = _keys(doc(JAVA, "code", "java", "demo/Greeter.java"))
    assert keys == ["module:Greeter", "class:Greeter", "method:Greeter.Greeter", "method:Greeter.compareTo",
                    "method:Greeter.names"]
    rec = {r.key: r for r in extract_patterns(doc(JAVA, "code", "java")).patterns}["class:Greeter"]
    assert rec.span.start_line == 5  # doc comment and annotation belong to the class


def test_go_receivers_become_methods():
    assert _keys(doc(GO, "code", "go", "main.go")) == ["module:main", "struct:Point", "method:Point.String", "function:main"]


def test_c_functions_not_statements():
    assert _keys(doc(C, "code", "c", "main.c")) == ["module:main", "function:add", "function:main"]


def test_typescript():
    keys = _keys(doc(TS, "code", "typescript", "shapes.ts"))
    assert keys == ["module:shapes", "interface:Shape", "class:Circle", "method:Circle.constructor", "method:Circle.area",
                    "function:double", "function:main"]


def test_rust_impl_members():
    keys = _keys(doc(RUST, "code", "rust", "lib.rs"))
    assert keys == ["module:lib", "struct:Point", "impl:fmt::Display for Point", "method:Point.fmt", "function:origin"]


def test_shell_and_sql():
    assert _keys(doc(SHELL, "code", "shell", "run.sh")) == ["module:run", "function:usage", "function:main"]
    assert _keys(doc(SQL, "code", "sql", "schema.sql")) == ["table:users", "view:active"]


def test_code_without_definitions_uses_blocks():
    records = extract_patterns(doc("a = 1;\nb = 2;\n\nc = a + b;\n", "code", "javascript")).patterns
    assert [r.key for r in records] == ["block:L1"]
    assert (records[0].span.start_line, records[0].span.end_line) == (1, 4)


# --------------------------------------------------------------------------- docs

def test_markdown_heading_paths():
    records = [r for r in extract_patterns(doc(MARKDOWN, "documentation", "markdown")).patterns if r.kind == "section"]
    got = [(r.key, r.span.section, r.span.start_line, r.span.end_line) for r in records]
    assert got == [
        ("section:(preamble)#1", None, 1, 3),
        ("section:Guide#1", "Guide", 4, 6),
        ("section:Guide > Install#1", "Guide > Install", 8, 15),
        ("section:Guide > Install > Linux#1", "Guide > Install > Linux", 17, 19),
        ("section:Guide > Usage#1", "Guide > Usage", 21, 23),
        ("section:Guide > Advanced#1", "Guide > Advanced", 25, 28),
    ]
    install = records[2]
    assert install.text.startswith("Guide > Install\n\nRun the installer.")
    assert "# not a heading" in install.text  # fenced code stays in its section
    assert all(r.kind == "section" and r.extractor == "docs/1.0.0" for r in records)


def test_rst_heading_levels():
    records = extract_patterns(doc(RST, "documentation", "rst", "index.rst")).patterns
    assert [r.span.section for r in records] == ["Title", "Title > Section A", "Title > Section A > Sub A1",
                                                 "Title > Section B"]
    assert records[0].span.start_line == 1  # the overline belongs to the heading


def test_html_headings():
    records = extract_patterns(doc(HTML, "documentation", "html")).patterns
    assert [r.span.section for r in records] == ["Title", "Title > Part two"]  # tags stripped: no empty preamble
    assert records[0].text == "Title\n\nHello there." and "<p>" in records[0].snippet


def test_long_section_is_split_at_paragraphs():
    paras = [f"Paragraph {i} explains one idea in a few words. It has two sentences." for i in range(30)]
    md = "# Intro\n\n## Long part\n\n" + "\n\n".join(paras) + "\n"
    records = extract_patterns(doc(md, "documentation", "markdown"), max_chars=300).patterns
    long = [r for r in records if r.span.section == "Intro > Long part"]
    assert [r.key for r in long] == [f"section:Intro > Long part#{i}" for i in range(1, len(long) + 1)]
    assert len(long) > 5
    for r in long:
        assert r.text.startswith("Intro > Long part\n\n")
        body = r.text.split("\n\n", 1)[1]
        assert all(p.startswith("Paragraph ") for p in body.split("\n\n"))  # cut between paragraphs
    # chunks follow one another without gaps or overlaps
    assert all(b.span.start_line > a.span.end_line for a, b in zip(long, long[1:]))


# --------------------------------------------------------------------------- architecture

def test_compose_services_become_components():
    records = extract_patterns(doc(COMPOSE, "architecture", "yaml", "docker-compose.yml")).patterns
    assert records[-1].key == "architecture:docker-compose.yml" and records[-1].kind == "architecture"
    records = [r for r in records if r.kind != "architecture"]
    got = [(r.key, r.kind, r.span.start_line, r.span.end_line) for r in records]
    assert got == [
        ("config:version", "config", 1, 1),
        ("component:web", "component", 3, 5),
        ("component:api", "component", 6, 9),
        ("component:db", "component", 11, 12),
        ("config:networks", "config", 13, 14),
    ]
    api = records[2]
    assert "depends on: db" in api.text and api.tags[0].name == "docker_compose"


def test_kubernetes_resources_become_components():
    records = [r for r in extract_patterns(doc(K8S, "architecture", "yaml")).patterns if r.kind != "architecture"]
    assert [(r.key, r.span.start_line, r.span.end_line) for r in records] == [
        ("component:Deployment/web", 1, 6),
        ("component:Service/web", 8, 11),
    ]


def test_invalid_yaml_falls_back_with_tag():
    records = extract_patterns(doc("a: [1, 2\nb: : :\n", "architecture", "yaml")).patterns
    assert records and records[0].tags[0].name == "yaml_error"


# --------------------------------------------------------------------------- text passages

def test_passages_overlap_by_one_sentence():
    records = extract_patterns(doc(PROSE), max_chars=300).patterns
    assert [r.key for r in records] == [f"passage:{i}" for i in range(1, len(records) + 1)]
    assert len(records) > 5
    sentence = re.compile(r"[^.]+\.")
    for a, b in zip(records, records[1:]):
        first_of_b = sentence.match(b.text).group(0).strip()
        last_of_a = sentence.findall(a.text)[-1].strip()
        assert first_of_b == last_of_a
        assert b.span.start_line <= a.span.end_line  # the shared sentence is in both spans


def test_passages_cover_every_sentence():
    records = extract_patterns(doc(PROSE), max_chars=300).patterns
    joined = " ".join(r.text for r in records)
    for i in range(60):
        assert f"Sentence number {i} " in joined


def test_passages_spans_follow_lines():
    text = "\n".join(f"Line {i} is a sentence." for i in range(1, 201))
    records = extract_patterns(doc(text), max_chars=200).patterns
    for r in records:
        first = int(re.match(r"Line (\d+)", r.text).group(1))
        last = int(re.findall(r"Line (\d+)", r.text)[-1])
        assert (r.span.start_line, r.span.end_line) == (first, last)


# --------------------------------------------------------------------------- purity

def test_processors_stay_pure():
    # The one root exception type (infra.errors) is shared; nothing else of infra or streams.
    code = (
        "import sys, processors.validate, processors.ids, processors.quality, processors.patterns\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'confluent_kafka', 'faust', 'qdrant_client', 'qdrant_edge', 'redis', 'torch', 'infra', 'streams'} "
        "and m not in ('infra', 'infra.errors'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_module_exports():
    assert patterns.extract_patterns is extract_patterns
