"""What kind of document a record is, and in which language, when its producer did not say.

Pure and cheap: the file name decides when it can (extension, well-known names), else a look at the
first :data:`SNIFF_CHARS` characters of the content for the few languages and kinds that can be told
apart cheaply. :mod:`processors.validate` calls :func:`infer_language` and :func:`infer_type` for
records without a ``language`` or a known ``type``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from schemas.documents import DocumentType

__all__ = ["CODE_LANGUAGES", "DIAGRAM_LANGUAGES", "DOC_LANGUAGES", "SNIFF_CHARS", "infer_language", "infer_type"]

SNIFF_CHARS = 20_000  # content sniffing looks at this many leading characters only

# --------------------------------------------------------------------------- language / type tables

_EXT_LANGUAGE: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".java": "java",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".c": "c", ".h": "c",
    ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".kt": "kotlin", ".kts": "kotlin",
    ".scala": "scala", ".sc": "scala",
    ".swift": "swift",
    ".m": "objective-c", ".mm": "objective-c",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".ksh": "shell",
    ".ps1": "powershell",
    ".pl": "perl", ".pm": "perl",
    ".lua": "lua",
    ".r": "r",
    ".jl": "julia",
    ".dart": "dart",
    ".ex": "elixir", ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".clj": "clojure",
    ".fs": "fsharp",
    ".vue": "vue", ".svelte": "svelte",
    ".sql": "sql",
    ".tf": "hcl", ".hcl": "hcl",
    ".proto": "protobuf",
    ".gradle": "groovy", ".groovy": "groovy",
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc", ".asciidoc": "asciidoc",
    ".html": "html", ".htm": "html",
    ".tex": "latex",
    ".org": "org",
    ".txt": "text",
    ".yaml": "yaml", ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
    ".ini": "ini", ".cfg": "ini",
    ".xml": "xml",
    ".puml": "plantuml", ".plantuml": "plantuml", ".pu": "plantuml",
    ".mmd": "mermaid", ".mermaid": "mermaid",
    ".dot": "dot", ".gv": "dot",
}

_NAME_LANGUAGE: dict[str, str] = {
    "dockerfile": "dockerfile",
    "makefile": "make",
    "gnumakefile": "make",
    "rakefile": "ruby",
    "gemfile": "ruby",
    "jenkinsfile": "groovy",
    "cmakelists.txt": "cmake",
}

#: Languages whose files are source code.
CODE_LANGUAGES = frozenset({
    "python", "java", "javascript", "typescript", "go", "rust", "c", "cpp", "csharp", "ruby", "php",
    "kotlin", "scala", "swift", "objective-c", "shell", "powershell", "perl", "lua", "r", "julia",
    "dart", "elixir", "erlang", "haskell", "clojure", "fsharp", "vue", "svelte", "sql", "hcl",
    "protobuf", "groovy", "dockerfile", "make", "cmake",
})
#: Languages whose files are documentation (``text`` is not: plain ``.txt`` is general).
DOC_LANGUAGES = frozenset({"markdown", "rst", "asciidoc", "html", "latex", "org"})
#: Diagram languages: always architecture.
DIAGRAM_LANGUAGES = frozenset({"plantuml", "mermaid", "dot"})

_ARCH_NAME_RE = re.compile(r"(?:^|[^a-z])(?:architecture|adr|design|system[-_ ]?overview|c4)(?:[^a-z]|$)")
_ADR_FILE_RE = re.compile(r"^(?:adr)?[-_]?\d{3,4}[-_].+")
_COMPOSE_NAME_RE = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]*)?\.ya?ml$")
_K8S_KIND_RE = re.compile(r"^kind:\s*\S", re.M)
_K8S_API_RE = re.compile(r"^apiVersion:\s*\S", re.M)
_COMPOSE_SERVICES_RE = re.compile(r"^services:\s*$", re.M)
_COMPOSE_IMAGE_RE = re.compile(r"^[ \t]+(?:image|build):", re.M)
_DIAGRAM_RE = re.compile(
    r"^[ \t]*(?:@startuml|@startc4|graph\s+(?:TD|TB|BT|RL|LR)\b|flowchart\s+\w+|sequenceDiagram|classDiagram|"
    r"C4Context|C4Container|(?:strict\s+)?digraph\s+\w*\s*\{)",
    re.M,
)

_PY_LINE_RE = re.compile(
    r"^(?:[ \t]*(?:async\s+)?def\s+\w+\s*\(.*|[ \t]*class\s+\w+\s*[(:].*|import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*\s*$"
    r"|from\s+[\w.]+\s+import\s+.+|if\s+__name__\s*==\s*['\"]__main__['\"]\s*:|[ \t]*@\w[\w.]*(?:\(.*\))?\s*$)",
    re.M,
)
_JS_LINE_RE = re.compile(
    r"^[ \t]*(?:(?:export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*\w*\s*\(|(?:export\s+)?(?:const|let|var)\s+\w+\s*=|"
    r"import\s+.*\s+from\s+['\"]|(?:module\.)?exports\.?\w*\s*=|.*=>\s*\{?\s*$|console\.log\()",
    re.M,
)
_C_LIKE_LINE_RE = re.compile(
    r"^[ \t]*(?:#include\s*[<\"]|package\s+[\w.]+;?\s*$|import\s+[\w.]+\.\*?\w*;\s*$|func\s+(?:\(.*?\)\s*)?\w+\s*\(|"
    r"(?:pub\s+)?fn\s+\w+|(?:public|private|protected|static|internal)\s+[\w<>\[\], ]+\s*[({]|"
    r"(?:typedef\s+)?struct\s+\w+\s*\{|using\s+[\w.]+;|namespace\s+[\w.]+|impl\b.*\{\s*$)",
    re.M,
)
_CODE_TAIL_RE = re.compile(r"[;{}]\s*$", re.M)
_MD_HEADING_RE = re.compile(r"^#{1,6}\s+\S", re.M)
_RST_UNDERLINE_RE = re.compile(r"^\S.*\n([=\-~^\"'`#*+])\1{2,}\s*$", re.M)
_MD_FENCE_RE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)


def _file_name(uri: str | None) -> str:
    """Lower-cased last path segment of a URI or path ('' when none)."""
    if not uri:
        return ""
    try:
        path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0].split("#", 1)[0]
    except ValueError:
        path = uri
    path = unquote(path).replace("\\", "/").rstrip("/")
    return PurePosixPath(path).name.lower() if path else ""


def _path_lower(uri: str | None) -> str:
    return unquote(uri).replace("\\", "/").lower() if uri else ""


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def infer_language(uri: str | None, content: str | None = None) -> str | None:
    """Language from the file name; failing that, sniffed from ``content`` (python, javascript,
    markdown, yaml, plantuml, mermaid). ``None`` when unknown.

    >>> infer_language("https://x.org/src/Main.java"), infer_language("Dockerfile"), infer_language("a.unknown")
    ('java', 'dockerfile', None)
    >>> infer_language(None, "import os\\n\\ndef main():\\n    pass\\n")
    'python'
    """
    name = _file_name(uri)
    if name:
        if name in _NAME_LANGUAGE:
            return _NAME_LANGUAGE[name]
        if name.startswith("dockerfile") or name.endswith(".dockerfile"):
            return "dockerfile"
        lang = _EXT_LANGUAGE.get(_extension(name))
        if lang:
            return lang
    if content:
        return _sniff_language(content[:SNIFF_CHARS])
    return None


def _sniff_language(head: str) -> str | None:
    if _DIAGRAM_RE.search(head):
        if "@start" in head:
            return "plantuml"
        if "digraph" in head:
            return "dot"
        return "mermaid"
    py = len(_PY_LINE_RE.findall(head))
    js = len(_JS_LINE_RE.findall(head))
    c_like = len(_C_LIKE_LINE_RE.findall(head))
    nonblank = sum(1 for line in head.splitlines() if line.strip()) or 1
    best = max(py, js, c_like)
    if best and best / nonblank >= 0.05:
        if py == best:
            return "python"
        if js == best:
            return "javascript"
        return None  # C-like: too many candidates to tell apart cheaply
    if _MD_HEADING_RE.search(head) or _MD_FENCE_RE.search(head):
        return "markdown"
    if _RST_UNDERLINE_RE.search(head):
        return "rst"
    if _K8S_KIND_RE.search(head) and _K8S_API_RE.search(head):
        return "yaml"
    if _COMPOSE_SERVICES_RE.search(head):
        return "yaml"
    return None


def _looks_like_code(head: str) -> bool:
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        return False
    hits = len(_PY_LINE_RE.findall(head)) + len(_JS_LINE_RE.findall(head)) + len(_C_LIKE_LINE_RE.findall(head))
    tails = len(_CODE_TAIL_RE.findall(head))
    return hits >= 1 and (hits / len(lines) >= 0.08 or (hits >= 2 and tails / len(lines) >= 0.3))


def _is_architecture_yaml(head: str) -> bool:
    if _K8S_KIND_RE.search(head) and _K8S_API_RE.search(head):
        return True
    return bool(_COMPOSE_SERVICES_RE.search(head) and _COMPOSE_IMAGE_RE.search(head))


def infer_type(uri: str | None, content: str, language: str | None = None) -> DocumentType:
    """Best guess of the document type from the file name, the language and the content.

    1. file name: docker-compose / compose files, Kubernetes YAML (``kind:`` + ``apiVersion:``),
       diagrams (.puml .plantuml .mmd .dot) and docs whose path names the architecture
       (``ARCHITECTURE.md``, ``docs/adr/0001-….md``, ``design.rst``) → architecture; source
       extensions → code; .md .rst .adoc .html → documentation; .txt → general;
    2. the language, when given: same tables;
    3. the content: diagrams, k8s/compose YAML → architecture; Python/JS/C-like lines → code;
       Markdown headings, fences or reST titles → documentation; otherwise general.

    >>> infer_type("deploy/docker-compose.prod.yml", "services:\\n  db:\\n    image: postgres\\n").value
    'architecture'
    >>> infer_type("lib/util.go", "package util").value, infer_type("notes.txt", "# hi").value
    ('code', 'general')
    >>> infer_type(None, "# Install\\n\\nRun the installer.\\n").value
    'documentation'
    """
    head = content[:SNIFF_CHARS] if content else ""
    name = _file_name(uri)
    ext = _extension(name)
    if name:
        if _COMPOSE_NAME_RE.match(name):
            return DocumentType.architecture
        file_lang = infer_language(uri)
        if file_lang in DIAGRAM_LANGUAGES:
            return DocumentType.architecture
        if file_lang == "yaml":
            return DocumentType.architecture if _is_architecture_yaml(head) else DocumentType.general
        if file_lang in DOC_LANGUAGES or ext == ".txt":
            stem = name[: -len(ext)] if ext else name
            path = _path_lower(uri)
            if _ARCH_NAME_RE.search(stem) or _ADR_FILE_RE.match(stem) or "/adr/" in path or "/architecture/" in path:
                return DocumentType.architecture
            return DocumentType.general if ext == ".txt" else DocumentType.documentation
        if file_lang in CODE_LANGUAGES:
            return DocumentType.code
        if file_lang in {"json", "toml", "ini", "xml"}:
            return DocumentType.general
    lang = (language or "").strip().lower()
    if lang:
        if lang in DIAGRAM_LANGUAGES:
            return DocumentType.architecture
        if lang in CODE_LANGUAGES:
            return DocumentType.code
        if lang in DOC_LANGUAGES:
            return DocumentType.documentation
        if lang in {"yaml", "yml"} and _is_architecture_yaml(head):
            return DocumentType.architecture
    if not head.strip():
        return DocumentType.general
    if _DIAGRAM_RE.search(head) or _is_architecture_yaml(head):
        return DocumentType.architecture
    if _looks_like_code(head):
        return DocumentType.code
    if _MD_HEADING_RE.search(head) or _RST_UNDERLINE_RE.search(head):
        return DocumentType.documentation
    return DocumentType.general
