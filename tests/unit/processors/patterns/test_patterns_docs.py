"""Documentation extras: best-practice statements, code examples, step-by-step procedures, HTML pages."""

from __future__ import annotations

from processors.patterns import extract_patterns
from processors.patterns.html_text import html_view
from processors.patterns.practices import normative
from schemas.documents import Document

GUIDE = """# Deployment guide

This guide explains how the service is deployed.

## Configuration

You must never commit secrets to the repository. Store them in the vault instead.
The config loader reads `settings.toml` at startup.
We recommend pinning every dependency to an exact version.

- Avoid running the container as root.
- Prefer environment variables over command-line flags for credentials.
- The image is built on Debian.

```python
# you must not see this as a practice
settings = load("settings.toml")
```

## Release

To cut a release:

1. Bump the version in `pyproject.toml`.
2. Run the test suite:

   ```sh
   make test
   ```

3. Tag the commit and push the tag.

Consider enabling canary deployments for large changes.
"""

RST = """Setup
=====

Install the package:

.. code-block:: bash

   pip install assay

You should run the tests after installing.
"""

HTML = """<!doctype html>
<html><head><style>
p { color: red; }
</style></head>
<body>
<h1>Security</h1>
<p>Passwords <b>must</b> be hashed with a slow hash such as Argon2.</p>
<h2>Steps</h2>
<ol>
<li>Generate a salt.</li>
<li>Hash the password.</li>
</ol>
<pre><code class="language-python">hash = argon2.hash(pw)
</code></pre>
</body></html>
"""


def _doc(content: str, language: str, uri: str | None = None) -> Document:
    return Document(id="g", type="documentation", content=content, version="v", language=language, uri=uri)


def test_practices_with_strength_and_heading_path():
    records = extract_patterns(_doc(GUIDE, "markdown", "DEPLOY.md")).patterns
    practices = [r for r in records if r.kind == "practice"]
    texts = [r.text.split("\n\n", 1)[1] for r in practices]
    assert texts == [
        "You must never commit secrets to the repository.",
        "We recommend pinning every dependency to an exact version.",
        "Avoid running the container as root.",
        "Prefer environment variables over command-line flags for credentials.",
        "Consider enabling canary deployments for large changes.",
    ]
    first = practices[0]
    assert first.key == "practice:Deployment guide > Configuration#1"
    assert first.span.section == "Deployment guide > Configuration" and first.span.start_line == 7
    assert first.tags[0].name == "practice:requirement" and first.tags[0].confidence >= 0.8
    assert practices[-1].tags[0].name == "practice:suggestion"
    assert not any("you must not see this" in r.text for r in practices)  # code is not prose


def test_code_examples_with_language():
    records = extract_patterns(_doc(GUIDE, "markdown")).patterns
    examples = [r for r in records if r.kind == "code_example"]
    assert [(r.language, r.span.start_line, r.span.end_line) for r in examples] == [("python", 15, 18), ("sh", 27, 29)]
    assert examples[0].text.startswith("Deployment guide > Configuration\n\npython example")
    assert 'settings = load("settings.toml")' in examples[0].text


def test_numbered_steps_become_a_procedure():
    records = extract_patterns(_doc(GUIDE, "markdown")).patterns
    procs = [r for r in records if r.kind == "procedure"]
    assert len(procs) == 1
    p = procs[0]
    assert p.key == "procedure:Deployment guide > Release#1" and p.name == "To cut a release:"
    assert (p.span.start_line, p.span.end_line) == (24, 31)
    assert "1. Bump the version in `pyproject.toml`." in p.text and "3. Tag the commit and push the tag." in p.text


def test_rst_code_block_and_practice():
    records = extract_patterns(_doc(RST, "rst", "setup.rst")).patterns
    kinds = {r.kind: r for r in records}
    assert kinds["code_example"].language == "bash" and "pip install assay" in kinds["code_example"].text
    assert kinds["practice"].text.endswith("You should run the tests after installing.")


def test_html_is_stripped_and_extras_found():
    records = extract_patterns(_doc(HTML, "html", "security.html")).patterns
    by_kind: dict[str, list] = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    assert [r.span.section for r in by_kind["section"]] == ["Security", "Security > Steps"]
    assert all("<" not in r.text for r in records)
    assert by_kind["practice"][0].text == "Security\n\nPasswords must be hashed with a slow hash such as Argon2."
    assert "<b>must</b>" in by_kind["practice"][0].snippet  # snippets stay raw
    assert by_kind["procedure"][0].text.endswith("1. Generate a salt.\n2. Hash the password.")
    assert by_kind["code_example"][0].language == "python"
    assert by_kind["code_example"][0].text.endswith("hash = argon2.hash(pw)")
    assert "p { color" not in " ".join(r.text for r in records)  # style blocks dropped


def test_html_view_keeps_line_count():
    lines = HTML.splitlines()
    assert len(html_view(lines)) == len(lines)


def test_normative_language():
    assert normative("Always validate input at the boundary.")[0] == "requirement"
    assert normative("Do not log personal data.")[0] == "requirement"
    assert normative("You should prefer composition.")[0] == "recommendation"
    assert normative("It is best practice to rotate keys.")[0] == "recommendation"
    assert normative("The value is always zero when empty.") is None or normative("The value is always zero when empty.")[0] != "requirement"
    assert normative("The server starts on port 8080.") is None


def test_keys_are_stable_and_unique():
    a = [r.key for r in extract_patterns(_doc(GUIDE, "markdown")).patterns]
    b = [r.key for r in extract_patterns(_doc(GUIDE, "markdown")).patterns]
    assert a == b and len(a) == len(set(a))
