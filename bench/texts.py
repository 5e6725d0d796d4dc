"""The text mix the inference benchmarks embed: what the pipeline embeds for Python code.

``pattern_texts(n)`` runs :func:`processors.patterns.extract_patterns` over standard-library
modules (sorted paths; test dirs, ``idlelib`` and files over 200 KB skipped) as
``Document(type='code', language='python')`` and keeps the ``.text`` of each record, unique, in
extraction order: module and class summaries, functions, methods and idioms (code and prose, up
to ~400 tokens; ~15% are cut at 256). The list is cached as JSON under ``bench/out/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "bench" / "out"
SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test", "idlelib"}
MAX_FILE_BYTES = 200_000


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return out


def pattern_texts(n: int, cache_dir: Path = DEFAULT_CACHE) -> list[str]:
    """The first ``n`` unique pattern texts of the standard library (fewer if it runs out)."""
    cache = Path(cache_dir) / f"pattern_texts-{n}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from processors.patterns import extract_patterns
    from schemas.documents import Document

    texts: dict[str, None] = {}
    for path in _stdlib_files():
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not source.strip() or len(source) > MAX_FILE_BYTES:
            continue
        doc = Document(id=str(path), type="code", language="python", uri=str(path), content=source,
                       version=hashlib.sha256(source.encode()).hexdigest()[:16])
        for record in extract_patterns(doc).patterns:
            texts.setdefault(record.text)
            if len(texts) >= n:
                break
        if len(texts) >= n:
            break
    out = list(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out
