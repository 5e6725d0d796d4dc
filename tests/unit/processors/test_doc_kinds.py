"""processors.doc_kinds: a document's type and language from its name and its first characters."""

import pytest

from processors.doc_kinds import infer_language, infer_type
from schemas.documents import DocumentType

PY = "import os\n\n\ndef main():\n    print(os.getcwd())\n"
JS = "const x = require('x');\n\nfunction main() {\n  return x();\n}\nmodule.exports = main;\n"
MD = "# Install\n\nRun the installer, then:\n\n```sh\nmake\n```\n"
PROSE = "The quarterly meeting moved to Thursday. Please bring the figures from last month.\n"
COMPOSE = "services:\n  db:\n    image: postgres:16\n"
K8S = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"


@pytest.mark.parametrize(
    ("uri", "content", "language", "expected"),
    [
        ("src/app/main.py", PROSE, None, "code"),
        ("Main.java", PROSE, None, "code"),
        ("lib/x.ts", PROSE, None, "code"),
        ("cmd/main.go", PROSE, None, "code"),
        ("src/lib.rs", PROSE, None, "code"),
        ("include/x.hpp", PROSE, None, "code"),
        ("scripts/run.sh", PROSE, None, "code"),
        ("Dockerfile", PROSE, None, "code"),
        ("README.md", PROSE, None, "documentation"),
        ("docs/guide.rst", PROSE, None, "documentation"),
        ("site/index.html", PROSE, None, "documentation"),
        ("manual.adoc", PROSE, None, "documentation"),
        ("notes.txt", MD, None, "general"),
        ("docs/ARCHITECTURE.md", PROSE, None, "architecture"),
        ("docs/adr/0001-use-kafka.md", PROSE, None, "architecture"),
        ("design-overview.rst", PROSE, None, "architecture"),
        ("docker-compose.yml", "version: '3'\n", None, "architecture"),
        ("deploy/docker-compose.prod.yaml", COMPOSE, None, "architecture"),
        ("compose.yaml", COMPOSE, None, "architecture"),
        ("k8s/web.yaml", K8S, None, "architecture"),
        ("config/app.yaml", "debug: true\nport: 80\n", None, "general"),
        ("diagrams/flow.puml", "@startuml\nA -> B\n@enduml\n", None, "architecture"),
        ("flow.mmd", "graph TD\nA-->B\n", None, "architecture"),
        ("deps.dot", "digraph g { a -> b }", None, "architecture"),
        ("https://example.org/blog/post?id=3", PROSE, None, "general"),
        (None, PY, None, "code"),
        (None, JS, None, "code"),
        (None, MD, None, "documentation"),
        (None, "Title\n=====\n\nSome text.\n", None, "documentation"),
        (None, PROSE, None, "general"),
        (None, "@startuml\nA -> B\n@enduml\n", None, "architecture"),
        (None, K8S, None, "architecture"),
        (None, PROSE, "rust", "code"),
        (None, PROSE, "markdown", "documentation"),
        (None, "Import duties rose. From now on, classes start at nine.\n", None, "general"),
    ],
)
def test_infer_type(uri, content, language, expected):
    assert infer_type(uri, content, language).value == expected


@pytest.mark.parametrize(
    ("uri", "content", "expected"),
    [
        ("a/b.py", None, "python"), ("B.java", None, "java"), ("x.mjs", None, "javascript"), ("x.tsx", None, "typescript"),
        ("x.go", None, "go"), ("x.rs", None, "rust"), ("x.c", None, "c"), ("x.cc", None, "cpp"), ("x.md", None, "markdown"),
        ("x.rst", None, "rst"), ("x.html", None, "html"), ("x.yml", None, "yaml"), ("Makefile", None, "make"),
        ("https://h/x.PY?raw=1#L3", None, "python"), ("C:\\src\\Main.KT", None, "kotlin"),
        ("x.unknown", None, None), (None, None, None), (None, PY, "python"), (None, JS, "javascript"),
        (None, MD, "markdown"), (None, PROSE, None),
    ],
)
def test_infer_language(uri, content, expected):
    assert infer_language(uri, content) == expected
