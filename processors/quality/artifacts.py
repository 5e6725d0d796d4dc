"""The quality-model artifact on disk: one directory, every file checksummed, no pickle.

Layout (format :data:`ARTIFACT_FORMAT`)::

    manifest.json          format, version, parameters, metrics, provenance, per-file sha256 and a
                           sha256 of the manifest itself (``manifest_sha256``)
    weights.safetensors    float32 arrays of the linear half (:mod:`processors.quality.linear`)
    vocab.json             TF-IDF terms per vectorizer
    classifier.onnx.gz     optional (from 1.2.0): the fine-tuned MiniLM classifier, INT8 ONNX,
    tokenizer.json         gzipped (23 → 18 MB), and its tokenizer (:mod:`processors.quality.finetuned`)

:func:`write_artifact` writes atomically (a temporary sibling renamed into place);
:func:`read_manifest` and :func:`read_artifact` verify every checksum, the file list, and that the
artifact was built for this code's classes, statistics and preprocessing, and raise
:class:`ArtifactError` otherwise. What the arrays mean is the linear half's business; this module
only stores them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from infra.errors import AssayError
from processors.quality.classes import CLASSES, LEVEL_DISTRIBUTION
from processors.quality.features import STAT_NAMES
from processors.quality.preprocess import PREPROCESS_VERSION

__all__ = [
    "ARTIFACT_FORMAT",
    "CLASSIFIER",
    "MANIFEST",
    "TOKENIZER",
    "VOCAB",
    "WEIGHTS",
    "ArtifactError",
    "read_artifact",
    "read_manifest",
    "write_artifact",
]

ARTIFACT_FORMAT = "assay-quality/1"
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
VOCAB = "vocab.json"
CLASSIFIER = "classifier.onnx.gz"  # optional: the fine-tuned MiniLM classifier, INT8 ONNX, gzipped
TOKENIZER = "tokenizer.json"  # its tokenizer, shipped with it


class ArtifactError(AssayError):
    """A quality-model artifact is missing, corrupt, tampered with or of an unknown format."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest without its own ``manifest_sha256`` (sorted keys, ASCII JSON)."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _copy_into(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst``; a ``.gz`` destination gets the gzip of ``src`` (copied as is when
    already gzipped), deterministic (no name, mtime 0)."""
    src = Path(src)
    if dst.suffix != ".gz" or src.suffix == ".gz":
        shutil.copyfile(src, dst)
        return
    with open(src, "rb") as f, open(dst, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                                                     filename="", mtime=0) as gz:
        shutil.copyfileobj(f, gz, 1 << 20)


def write_artifact(
    path: str | Path,
    *,
    arrays: Mapping[str, np.ndarray],
    vocab: Mapping[str, list[str]],
    manifest: Mapping[str, Any],
    copies: Mapping[str, Path] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write an artifact directory atomically and return the manifest as written.

    ``arrays`` go to :data:`WEIGHTS`, ``vocab`` to :data:`VOCAB`; ``copies`` maps artifact file
    names (:data:`CLASSIFIER`, :data:`TOKENIZER`) to the files to copy there (gzipped on the way
    for a ``.gz`` name). ``manifest`` gets the format fields, the checksums, ``created`` (unless
    set) and its own digest.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ArtifactError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / WEIGHTS),
                  metadata={"format": ARTIFACT_FORMAT})
        (tmp / VOCAB).write_text(json.dumps(dict(vocab), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        names = [WEIGHTS, VOCAB]
        for name, src in (copies or {}).items():
            _copy_into(src, tmp / name)
            names.append(name)
        written = dict(manifest)
        written.update({
            "format": ARTIFACT_FORMAT,
            "classes": list(CLASSES),
            "level_distribution": LEVEL_DISTRIBUTION.tolist(),
            "stat_names": list(STAT_NAMES),
            "preprocess_version": PREPROCESS_VERSION,
            "files": {name: sha256_file(tmp / name) for name in names},
        })
        written.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        written["manifest_sha256"] = manifest_digest(written)
        (tmp / MANIFEST).write_text(json.dumps(written, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o755 & ~umask)  # mkdtemp makes 0700: artifacts are meant to be shared
        for name in (*names, MANIFEST):
            os.chmod(tmp / name, 0o644 & ~umask)
        if path.exists():
            old = path.with_name(f".{path.name}.old.{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def read_manifest(path: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """The manifest of an artifact directory, its own checksum verified."""
    path = Path(path)
    mpath = path / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path} is not a quality-model artifact (no {MANIFEST})") from None
    except (OSError, ValueError) as e:
        raise ArtifactError(f"cannot read {mpath}: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ArtifactError(f"{mpath}: unknown artifact format {got!r} (expected {ARTIFACT_FORMAT!r})")
    if verify and manifest.get("manifest_sha256") != manifest_digest(manifest):
        raise ArtifactError(f"{mpath}: manifest checksum mismatch (edited or corrupt); refusing to load")
    return manifest


def _verify_files(path: Path, manifest: Mapping[str, Any]) -> None:
    files = manifest.get("files")
    expected = {WEIGHTS, VOCAB} | ({CLASSIFIER, TOKENIZER} if manifest.get("finetuned") else set())
    if not isinstance(files, dict) or set(files) != expected:
        raise ArtifactError(f"{path / MANIFEST}: file list {files!r} is not {sorted(expected)}")
    for name, digest in files.items():
        fpath = path / name
        if not fpath.is_file():
            raise ArtifactError(f"{fpath} is missing")
        actual = sha256_file(fpath)
        if actual != digest:
            raise ArtifactError(
                f"{fpath}: sha256 {actual[:12]}… does not match the manifest ({str(digest)[:12]}…): "
                "corrupt or tampered with; refusing to load"
            )
    if manifest.get("classes") != list(CLASSES) or manifest.get("stat_names") != list(STAT_NAMES):
        raise ArtifactError(f"{path}: classes/statistics {manifest.get('classes')} / "
                            f"{manifest.get('stat_names')} differ from this code's")
    if manifest.get("preprocess_version") != PREPROCESS_VERSION:
        raise ArtifactError(f"{path}: trained with preprocessing v{manifest.get('preprocess_version')}, "
                            f"this code is v{PREPROCESS_VERSION}")


def read_artifact(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, list[str]]]:
    """``(manifest, arrays, vocab)`` of an artifact directory, after verifying every checksum, the
    file list and the format fields; :class:`ArtifactError` on any inconsistency."""
    path = Path(path)
    manifest = read_manifest(path)
    _verify_files(path, manifest)
    try:
        arrays = load_file(str(path / WEIGHTS))
        vocab = json.loads((path / VOCAB).read_text(encoding="utf-8"))
    except (SafetensorError, OSError, ValueError) as e:
        raise ArtifactError(f"cannot read {path}: {e}") from e
    return manifest, arrays, vocab
