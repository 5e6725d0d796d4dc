r"""Turn one raw ``sources.raw`` record into a :class:`~schemas.documents.Document` or a :class:`Rejection`.

Pure: no I/O, no settings, nothing raises for bad input. The caller (the stream agent) passes the
limits it read from settings and turns a :class:`Rejection` into a dead letter.

Tombstones (``value is None``) delete a source and are the caller's business: check for ``None``
first and use :func:`source_id_from_key`. :func:`parse_document` called with ``None`` returns a
``tombstone`` rejection rather than raising.

Checks, in order (``error_class`` in brackets; the first failing check wins):

========================  ==================  ===========================================================
stage ``decode``          ``oversize``        raw value longer than ``max_bytes`` (``ASSAY_MAX_DOCUMENT_BYTES``)
                          ``undecodable``     value is not UTF-8 (the reason gives the byte offset)
                          ``invalid_json``    not JSON (the reason gives orjson's message)
                          ``not_an_object``   JSON, but the top level is not an object
stage ``validate``        ``schema_violation`` fails :class:`SourceDocument` (``field: message; …``)
                          ``empty_content``   content empty or whitespace only
                          ``binary_content``  content holds NUL characters or mostly control characters
                          ``tombstone``       called with ``value=None`` (callers should not do that)
========================  ==================  ===========================================================

Resolution of the :class:`Document` fields:

* **id**: the ``id`` field; else the record key (UTF-8); else ``uri:<uri>``; else
  ``sha256:<first 16 hex of the content hash>``. When the key and the ``id`` field both exist
  and differ, the ``id`` field wins (the key only routes the record to a partition).
* **type**: the given type when it names a :class:`DocumentType` (case-insensitive; ``docs`` and
  ``arch`` are accepted aliases); otherwise :func:`infer_type`, with ``type_inferred=True``.
* **language**: the given one (lower-cased); else from the file name (:func:`infer_language`);
  else sniffed from the content for the few languages that can be told apart cheaply.
* **version**: sha256 of the UTF-8 content, first 16 hex characters.

>>> doc = parse_document(b'{"content": "def f():\\n    return 1\\n", "uri": "src/app/f.py"}', b"repo:f")
>>> doc.id, doc.type.value, doc.language, doc.type_inferred
('repo:f', 'code', 'python', True)
>>> parse_document(b'[1, 2]', None).error_class
'not_an_object'
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import orjson
from pydantic import ValidationError

from processors.results import Rejection
from schemas.documents import Document, DocumentType, SourceDocument

__all__ = [
    "DEFAULT_MAX_BYTES",
    "STAGE_DECODE",
    "STAGE_VALIDATE",
    "content_version",
    "infer_language",
    "infer_type",
    "parse_document",
    "source_id_from_key",
]

DEFAULT_MAX_BYTES = 1_000_000  # same default as Settings.max_document_bytes
STAGE_DECODE = "decode"
STAGE_VALIDATE = "validate"

_MAX_LISTED_ERRORS = 10
_CONTROL_RATIO_LIMIT = 0.3  # share of control characters above which content counts as binary
_SNIFF_CHARS = 20_000  # content sniffing looks at this many leading characters only

# C0 controls except tab, LF, VT, FF, CR; plus DEL and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

_TYPE_ALIASES = {
    "doc": DocumentType.documentation,
    "docs": DocumentType.documentation,
    "arch": DocumentType.architecture,
    "text": DocumentType.general,
}

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


# --------------------------------------------------------------------------- public helpers

def content_version(content: str) -> str:
    """sha256 of the UTF-8 content, first 16 hex characters.

    >>> content_version("hello")
    '2cf24dba5fb0a30e'
    """
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def source_id_from_key(key: bytes | None) -> str | None:
    """The source id a record key names (UTF-8), or ``None`` for no/empty/undecodable key.

    Used for tombstones, whose value is ``None``; :func:`parse_document` resolves keys the same way.

    >>> source_id_from_key(b"repo:README.md")
    'repo:README.md'
    >>> source_id_from_key(b"") is None, source_id_from_key(b"\\xff") is None, source_id_from_key(None) is None
    (True, True, True)
    """
    if not key:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.strip() else None


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
        return _sniff_language(content[:_SNIFF_CHARS])
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
    head = content[:_SNIFF_CHARS] if content else ""
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


# --------------------------------------------------------------------------- parse_document

def _reject(stage: str, error_class: str, reason: str) -> Rejection:
    return Rejection(stage=stage, error_class=error_class, reason=reason)


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for err in errors[:_MAX_LISTED_ERRORS]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(document)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    if len(errors) > _MAX_LISTED_ERRORS:
        parts.append(f"… and {len(errors) - _MAX_LISTED_ERRORS} more")
    return "; ".join(parts)


def _binary_reason(content: str) -> str | None:
    if "\x00" in content:
        return f"content contains NUL characters (first at character {content.index(chr(0))}); binary data is not accepted"
    sample = content[:_SNIFF_CHARS]
    controls = len(_CONTROL_RE.findall(sample))
    if controls and controls / len(sample) > _CONTROL_RATIO_LIMIT:
        return (
            f"content looks binary: {controls} of the first {len(sample)} characters are control characters "
            f"(limit {_CONTROL_RATIO_LIMIT:.0%})"
        )
    return None


def _json_type_name(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def parse_document(value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document | Rejection:
    """Decode and validate one ``sources.raw`` record; never raises for bad input.

    ``value`` ``None`` is a tombstone: callers check for it first (see :func:`source_id_from_key`);
    passed here it yields a ``tombstone`` rejection.

    >>> r = parse_document(b"x" * 11, None, max_bytes=10)
    >>> r.error_class, r.reason
    ('oversize', 'document is 11 bytes, over the 10-byte limit (ASSAY_MAX_DOCUMENT_BYTES)')
    """
    if value is None:
        return _reject(STAGE_VALIDATE, "tombstone", "value is null (a tombstone); callers handle deletes before parsing")
    raw = bytes(value)
    if len(raw) > max_bytes:
        return _reject(
            STAGE_DECODE,
            "oversize",
            f"document is {len(raw)} bytes, over the {max_bytes}-byte limit (ASSAY_MAX_DOCUMENT_BYTES)",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 4].hex(" ")
        return _reject(
            STAGE_DECODE,
            "undecodable",
            f"value is not valid UTF-8: {exc.reason} at byte offset {exc.start} (bytes {bad})",
        )
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _reject(STAGE_DECODE, "invalid_json", f"value is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return _reject(
            STAGE_DECODE,
            "not_an_object",
            f"top-level JSON value is {_json_type_name(obj)}, expected an object with at least a 'content' field",
        )
    try:
        src = SourceDocument.model_validate(obj)
    except ValidationError as exc:
        return _reject(STAGE_VALIDATE, "schema_violation", f"document does not match SourceDocument: {_format_validation_error(exc)}")

    content = src.content
    if not content.strip():
        what = "empty" if not content else f"whitespace only ({len(content)} characters)"
        return _reject(STAGE_VALIDATE, "empty_content", f"content is {what}; nothing to extract")
    binary = _binary_reason(content)
    if binary:
        return _reject(STAGE_VALIDATE, "binary_content", binary)

    version = content_version(content)
    uri = src.uri if src.uri and src.uri.strip() else None

    # id: explicit id > record key > uri > content hash. A key that differs from the id is ignored.
    doc_id = src.id if src.id and src.id.strip() else None
    if doc_id is None:
        doc_id = source_id_from_key(key)
    if doc_id is None and uri:
        doc_id = f"uri:{uri}"
    if doc_id is None:
        doc_id = f"sha256:{version}"

    language = src.language.strip().lower() if src.language and src.language.strip() else None
    if language is None:
        language = infer_language(uri, content)

    given = (src.type or "").strip().lower()
    doc_type: DocumentType | None
    try:
        doc_type = DocumentType(given) if given else None
    except ValueError:
        doc_type = _TYPE_ALIASES.get(given)
    type_inferred = doc_type is None
    if doc_type is None:
        doc_type = infer_type(uri, content, language)

    try:
        metadata = src.metadata.model_dump(mode="json", exclude_none=True) if src.metadata is not None else {}
    except ValueError as exc:  # pydantic writes at most 254 levels of nesting; orjson read up to 1,024
        return _reject(STAGE_VALIDATE, "schema_violation",
                       f"document does not match SourceDocument: metadata: nested too deep to be read ({exc})")
    return Document(
        id=doc_id,
        type=doc_type,
        content=content,
        version=version,
        uri=uri,
        language=language,
        title=src.title,
        set_id=src.set_id,
        metadata=metadata,
        type_inferred=type_inferred,
    )
