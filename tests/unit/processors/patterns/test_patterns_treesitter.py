"""Tree-sitter extractor: definitions, qualified names, doc comments, spans, errors and fallbacks per language."""

from __future__ import annotations

import pytest

from processors.patterns import extract_patterns, extractor_for, generic_code
from processors.patterns.treesitter import languages, parse
from processors.patterns.records import split_lines
from schemas.documents import Document
from schemas.structure import Call


def doc(content: str, language: str | None, uri: str | None = None) -> Document:
    return Document(id="t", type="code", content=content, version="v", language=language, uri=uri)


def by_key(d: Document, **kw) -> dict:
    return {r.key: r for r in extract_patterns(d, **kw).patterns}


JAVA = """package shop;

import java.util.List;

/**
 * An order.
 */
public class Order {
    private final List<Line> lines;

    /** Creates an empty order. */
    public Order(List<Line> lines) { this.lines = lines; }

    public static class Line {
        int qty;
        double price() { return qty * 2.0; }
    }

    public enum Status { NEW, PAID }

    public interface Listener { void changed(Order o); }

    public double total() {
        double t = 0;
        for (Line l : lines) { t += l.price(); }
        return t;
    }
}

record Pair(String a, String b) {}
"""

TSX = """import React, { useState } from "react";

/** A counter button. */
export function Counter({ start }: { start: number }) {
  const [n, setN] = useState(start);
  return <button onClick={() => setN(n + 1)}>{n}</button>;
}

export const Title = (props: { text: string }) => <h1>{props.text}</h1>;

export default class Panel extends React.Component<Props> {
  render() {
    return <div className="panel">{this.props.children}</div>;
  }
}
"""

JS = """function Animal(name) { this.name = name; }
Animal.prototype.speak = function () { return this.name; };

class Dog extends Animal {
  #secret = 1;
  static create(n) { return new Dog(n); }
  bark = () => "woof";
}

module.exports = { Animal, Dog };
"""

GO = """package store

// Store persists items.
type Store interface {
\tGet(id string) (Item, error)
\tPut(item Item) error
}

type memStore struct {
\titems map[string]Item
}

// NewMem builds an in-memory store.
func NewMem() Store { return &memStore{items: map[string]Item{}} }

func (m *memStore) Get(id string) (Item, error) { return m.items[id], nil }
func (m memStore) Put(item Item) error { m.items[item.ID] = item; return nil }
"""

RUST = """/// Shapes.
pub trait Shape { fn area(&self) -> f64; }

#[derive(Debug, Clone)]
pub enum Kind { A, B(u8) }

mod inner {
    pub fn helper() -> u8 { 1 }
}

impl Shape for Kind { fn area(&self) -> f64 { 1.0 } }

impl Kind {
    /// Makes one.
    pub fn new() -> Self { Kind::A }
}
"""

C = """#include <stdlib.h>

/* A node. */
typedef struct node {
    int value;
    struct node *next;
} node_t;

#ifdef DEBUG
static void dump(node_t *n) { }
#endif

node_t *push(node_t *head, int v) {
    node_t *n = malloc(sizeof *n);
    n->value = v;
    n->next = head;
    return n;
}
"""

CPP = """#include <vector>

namespace geo {

/// A shape.
class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
};

template <typename T>
class Box : public Shape {
public:
    explicit Box(T w) : w_(w) {}
    double area() const override;
private:
    T w_;
};

template <typename T>
double Box<T>::area() const { return w_ * w_; }

}  // namespace geo

int main() { return 0; }
"""

BROKEN_JAVA = """public class Broken {
    public void ok() { System.out.println("fine"); }

    public void bad( {
        int x = ;
    }

    public int alsoOk() { return 1; }
}
"""


def test_dispatch_by_language_and_extension():
    for lang, uri in [("java", None), (None, "a/B.java"), ("typescript", None), (None, "x.tsx"), ("go", None),
                      ("rust", None), ("c", None), ("cpp", None), (None, "m.hpp"), ("javascript", None), (None, "x.mjs")]:
        assert extractor_for(doc("x", lang, uri))[0] == "treesitter_code", (lang, uri)
    assert extractor_for(doc("x", "kotlin", "a.kt"))[0] == "generic_code"
    assert languages.language_of(doc("class A { public: int x; };", None, "a.h")) == "cpp"
    assert languages.language_of(doc("int f(void);", None, "a.h")) == "c"


def test_java_qualnames_doc_comments_spans():
    recs = by_key(doc(JAVA, "java", "shop/Order.java"))
    assert list(recs) == ["module:Order", "class:Order", "method:Order.Order", "class:Order.Line", "method:Order.Line.price",
                          "enum:Order.Status", "interface:Order.Listener", "method:Order.Listener.changed",
                          "method:Order.total", "record:Pair"]
    order = recs["class:Order"]
    assert order.span.start_line == 5  # the Javadoc belongs to the class
    assert order.text.startswith("class Order\nAn order.\npublic class Order")
    assert "Members: Order, Line, Status, Listener, total" in order.text
    ctor = recs["method:Order.Order"]
    assert "Creates an empty order." in ctor.text and any(t.name == "constructor" for t in ctor.tags)
    assert (recs["module:Order"].span.start_line, recs["module:Order"].span.end_line) == (1, len(split_lines(JAVA)))
    assert "Imports: java.util.List" in recs["module:Order"].text
    assert all(r.extractor == "treesitter_code/1.0.0" and r.language == "java" for r in recs.values())


def test_tsx_components_and_arrow_functions():
    recs = by_key(doc(TSX, None, "ui/App.tsx"))
    assert list(recs) == ["module:App", "function:Counter", "function:Title", "class:Panel", "method:Panel.render"]
    assert "A counter button." in recs["function:Counter"].text
    assert recs["class:Panel"].text.startswith("class Panel\nclass Panel extends React.Component<Props>\nMembers: render")
    assert recs["class:Panel"].span.start_line == 11


def test_javascript_prototype_methods_and_class_fields():
    recs = by_key(doc(JS, "javascript", "lib.js"))
    assert list(recs) == ["module:lib", "function:Animal", "method:Animal.speak", "class:Dog", "method:Dog.create",
                          "method:Dog.bark"]
    assert "{ return this.name; }" in recs["method:Animal.speak"].text  # one-liner bodies are kept


def test_go_receivers_interfaces_doc_comments():
    recs = by_key(doc(GO, "go", "store.go"))
    assert list(recs) == ["module:store", "interface:Store", "struct:memStore", "function:NewMem", "method:memStore.Get",
                          "method:memStore.Put"]
    assert recs["interface:Store"].span.start_line == 3 and "Store persists items." in recs["interface:Store"].text
    assert recs["method:memStore.Get"].text.splitlines()[1] == "func (m *memStore) Get(id string) (Item, error)"


def test_rust_impl_blocks_traits_modules():
    recs = by_key(doc(RUST, "rust", "lib.rs"))
    assert list(recs) == ["module:lib", "trait:Shape", "method:Shape.area", "enum:Kind", "function:inner.helper",
                          "impl:Shape for Kind", "method:Kind.area", "impl:Kind", "method:Kind.new"]
    assert recs["enum:Kind"].span.start_line == 4  # #[derive] attribute belongs to the enum
    assert "Makes one." in recs["method:Kind.new"].text


def test_c_structs_typedefs_preprocessor():
    recs = by_key(doc(C, "c", "list.c"))
    assert list(recs) == ["module:list", "struct:node", "function:dump", "function:push"]
    assert recs["struct:node"].span.start_line == 3


def test_cpp_classes_out_of_class_methods_templates():
    recs = by_key(doc(CPP, "cpp", "shapes.cpp"))
    assert list(recs) == ["module:shapes", "class:Shape", "method:Shape.~Shape", "class:Box", "method:Box.Box",
                          "method:Box.area", "function:main"]
    assert any(t.name == "abstract" for t in recs["class:Shape"].tags)
    assert recs["method:Box.area"].span.start_line == 21  # with its template<> line
    assert recs["class:Box"].span.start_line == 12


def test_parse_errors_keep_what_parses_and_tag():
    recs = by_key(doc(BROKEN_JAVA, "java", "Broken.java"))
    assert {"method:Broken.ok", "method:Broken.bad", "method:Broken.alsoOk"} <= set(recs)
    assert any(t.name == "syntax_error" for t in recs["module:Broken"].tags)
    assert any(t.name == "syntax_error" for t in recs["method:Broken.bad"].tags)
    assert not any(t.name == "syntax_error" for t in recs["method:Broken.ok"].tags)


def test_nothing_parses_into_definitions_gives_passages_with_tag():
    recs = extract_patterns(doc("}}} ((( let = = ;\n\n%%% !!!\n", "javascript")).patterns
    assert recs and all(r.kind == "passage" for r in recs)
    assert any(t.name == "syntax_error" for t in recs[0].tags)


def test_script_without_definitions_gives_blocks():
    recs = extract_patterns(doc("const a = 1;\nconsole.log(a);\n", "javascript")).patterns
    assert [r.kind for r in recs] == ["block"] and not recs[0].tags


def test_missing_grammar_falls_back_to_regex_extractor(monkeypatch):
    monkeypatch.setattr(languages, "_parsers", {})
    monkeypatch.setattr(languages, "_unavailable", {"java"})
    d = doc(JAVA, "java", "Order.java")
    assert extractor_for(d)[0] == "generic_code"
    recs = extract_patterns(d).patterns
    assert recs and recs[0].extractor == generic_code.EXTRACTOR


def test_oversized_file_falls_back_with_tag(monkeypatch):
    monkeypatch.setattr(parse, "MAX_BYTES", 100)
    recs = extract_patterns(doc(JAVA, "java", "Order.java")).patterns
    assert recs[0].extractor == generic_code.EXTRACTOR
    assert any(t.name == "size_cap" for t in recs[0].tags)


@pytest.mark.parametrize("lang", ["javascript", "java", "go", "rust", "c", "cpp", "typescript"])
def test_pathological_nesting_does_not_crash(lang):
    deep = "(" * 3000 + "1" + ")" * 3000
    src = {"javascript": f"function f() {{ return {deep}; }}\n", "typescript": f"function f() {{ return {deep}; }}\n",
           "java": f"class A {{ int f() {{ return {deep}; }} }}\n", "go": f"package a\nfunc f() int {{ return {deep} }}\n",
           "rust": f"fn f() -> i32 {{ {deep} }}\n", "c": f"int f() {{ return {deep}; }}\n",
           "cpp": f"int f() {{ return {deep}; }}\n"}[lang]
    recs = extract_patterns(doc(src, lang)).patterns
    assert recs and all(len(r.text) <= 1200 for r in recs)


def test_crlf_and_lone_cr_line_numbers():
    src = "class A {\r\n  void f() {}\r\n}\r\n\rclass B {}\r"
    recs = by_key(doc(src, "java"))
    n = len(split_lines(src))
    assert (recs["class:A"].span.start_line, recs["class:A"].span.end_line) == (1, 3)
    assert recs["class:B"].span.start_line == 5 <= n


def test_summary_is_built_from_the_same_parse():
    parsed = parse.parse_document(doc(JAVA, "java", "Order.java"))
    order = next(c for c in parsed.summary.classes if c.name == "Order")
    assert [f.name for f in order.fields] == ["lines"]
    assert order.fields[0].elem == "Line"
    total = next(m for m in order.methods if m.name == "total")
    assert total.loops == ("lines",) and Call("e:lines", "price", "l", ()) in total.calls
