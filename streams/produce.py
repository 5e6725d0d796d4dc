"""Produce documents to ``sources.raw``: files, folders (recursively, with an ignore list) or JSON Lines."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

import orjson
from confluent_kafka import Producer

IGNORED_DIRS = {
    ".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".idea", ".vscode", "build", "dist", ".eggs",
    ".assay", "site-packages", ".cache",
}
BINARY_SUFFIXES = {
    ".pyc", ".pyo", ".so", ".dll", ".dylib", ".exe", ".o", ".a", ".class", ".jar", ".whl", ".zip", ".gz",
    ".tgz", ".bz2", ".xz", ".7z", ".tar", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".pdf", ".mp3",
    ".mp4", ".wav", ".ogg", ".woff", ".woff2", ".ttf", ".otf", ".bin", ".onnx", ".safetensors", ".pt",
    ".parquet", ".db", ".sqlite", ".pickle", ".pkl", ".npy", ".npz",
}


@dataclass
class ProduceReport:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    errors: list[str] = field(default_factory=list)


def iter_files(root: Path, max_bytes: int, report: ProduceReport) -> Iterator[Path]:
    """Files under ``root`` worth sending, in a stable order; skips are recorded with a reason."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() in BINARY_SUFFIXES or name.startswith(".") and name not in (".env.example",):
                continue
            try:
                size = path.stat().st_size
            except OSError as exc:
                report.skipped.append((str(path), f"unreadable: {exc}"))
                continue
            if size == 0:
                report.skipped.append((str(path), "empty file"))
                continue
            if size > max_bytes:
                report.skipped.append((str(path), f"{size} bytes > cap {max_bytes} (ASSAY_MAX_DOCUMENT_BYTES)"))
                continue
            yield path


def file_document(path: Path, set_id: str | None) -> tuple[str, bytes]:
    """(key, value) for one file. Undecodable files are still sent: the pipeline dead-letters them."""
    uri = path.resolve().as_uri()
    raw = path.read_bytes()
    try:
        content: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = None
    if content is None:
        # Not UTF-8: send the bytes unchanged so the DLQ keeps them with the reason.
        return uri, raw
    doc: dict[str, Any] = {"id": uri, "uri": uri, "content": content, "title": path.name}
    if set_id:
        doc["set_id"] = set_id
    return uri, orjson.dumps(doc)


def documents_from_paths(paths: Iterable[Path], max_bytes: int, report: ProduceReport) -> Iterator[tuple[str, bytes]]:
    for p in paths:
        if p.is_dir():
            set_id = p.resolve().as_uri()
            for f in iter_files(p, max_bytes, report):
                yield file_document(f, set_id)
        elif p.is_file():
            yield file_document(p, None)
        else:
            report.skipped.append((str(p), "no such file or folder"))


def documents_from_jsonl(stream: TextIO | Any) -> Iterator[tuple[str | None, bytes]]:
    """JSON Lines from stdin: the key is the line's ``id`` when it has one. Bad lines are sent as-is."""
    for line in stream:
        line = line.strip()
        if not line:
            continue
        raw = line.encode("utf-8") if isinstance(line, str) else line
        key = None
        try:
            obj = orjson.loads(raw)
            if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                key = obj["id"]
        except orjson.JSONDecodeError:
            pass
        yield key, raw


def produce(conf: dict[str, Any], topic: str, docs: Iterable[tuple[str | None, bytes]],
            report: ProduceReport, on_sent: Callable[[int], None] | None = None) -> ProduceReport:
    """Send every (key, value); waits until each is acknowledged or failed."""
    producer = Producer({**conf, "acks": "all", "linger.ms": 20, "message.max.bytes": 8_000_000})

    def delivered(err: Any, _msg: Any) -> None:
        if err is None:
            report.delivered += 1
        else:
            report.failed += 1
            report.errors.append(str(err))

    for key, value in docs:
        while True:
            try:
                producer.produce(topic, key=key.encode() if key else None, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        report.sent += 1
        producer.poll(0)
        if on_sent:
            on_sent(1)
    remaining = producer.flush(60)
    if remaining:
        report.failed += remaining
        report.errors.append(f"{remaining} messages not delivered within 60 s")
    return report
