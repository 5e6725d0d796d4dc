"""Versioned quality-model artifacts in a directory, with a ``current`` pointer.

Layout (``<data_dir>/models/quality`` by default)::

    <root>/1.1.0/            an artifact (manifest.json, weights.safetensors, vocab.json)
    <root>/current           the promoted version, one line ("1.1.0")
    <root>/history.json      promotions, oldest first: [{"version", "previous", "at"}, …]
    <root>/cache/            training embeddings (.npy, keyed by data hash)

Versions are semver (``MAJOR.MINOR.PATCH``). Each manifest records its creation time, the training
data hash, parameters, metrics and parent version (and ``lineage`` for a derived model). The artifacts shipped with the code
(``models/quality/<version>/`` in the repository) are read-only *built-in* versions: when the data
dir has no ``current`` pointer, the newest built-in version is current, so a fresh install scores
with the shipped model and needs no training.

* :meth:`Registry.register` stores a new version (trained, or derived by
  :meth:`~processors.quality.model.QualityModel.with_linear_params`) with its parent, metrics and
  lineage; it never promotes;
* :meth:`Registry.promote` verifies the artifact (checksums) before pointing ``current`` at it;
* :meth:`Registry.rollback` re-points ``current`` at what it was before the last promotion (back to
  the built-in default when the first promotion is undone);
* :meth:`Registry.load` refuses corrupt or tampered artifacts (:class:`~processors.quality.artifacts.ArtifactError`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from infra.errors import AssayError
from processors.quality.artifacts import ArtifactError, read_manifest
from processors.quality.model import QualityModel

__all__ = ["BUILTIN_DIR", "ModelInfo", "Registry", "RegistryError", "parse_semver"]

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "models" / "quality"
CURRENT = "current"
HISTORY = "history.json"
_SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class RegistryError(AssayError):
    """Unknown version, bad version string, nothing to roll back to, …"""


def parse_semver(version: str) -> tuple[int, int, int]:
    """``"1.2.3"`` → ``(1, 2, 3)``; :class:`RegistryError` otherwise.

    >>> parse_semver("1.10.0") > parse_semver("1.9.5")
    True
    """
    m = _SEMVER_RE.match(str(version).strip())
    if not m:
        raise RegistryError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@dataclass(frozen=True)
class ModelInfo:
    version: str
    path: Path
    builtin: bool
    created: str | None
    parent: str | None
    data_hash: str | None
    macro_f1: float | None
    current: bool
    error: str | None = None  # why the manifest could not be read


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Registry:
    def __init__(self, root: str | Path, builtin: str | Path | None = BUILTIN_DIR) -> None:
        self.root = Path(root)
        self.builtin = Path(builtin) if builtin is not None else None

    # ------------------------------------------------------------------ listing
    @staticmethod
    def _versions_in(d: Path | None) -> dict[str, Path]:
        out: dict[str, Path] = {}
        if d is None or not d.is_dir():
            return out
        for p in d.iterdir():
            if p.is_dir() and _SEMVER_RE.match(p.name) and (p / "manifest.json").exists():
                out[p.name] = p
        return out

    def _all(self) -> dict[str, tuple[Path, bool]]:
        found = {v: (p, True) for v, p in self._versions_in(self.builtin).items()}
        found.update({v: (p, False) for v, p in self._versions_in(self.root).items()})  # local wins
        return found

    def versions(self) -> list[str]:
        """Every known version (local and built-in), oldest first."""
        return sorted(self._all(), key=parse_semver)

    def path(self, version: str) -> Path:
        parse_semver(version)
        found = self._all().get(version)
        if found is None:
            raise RegistryError(f"no quality model {version} in {self.root}" +
                                (f" or {self.builtin}" if self.builtin else "") +
                                f"; known: {', '.join(self.versions()) or 'none'}")
        return found[0]

    def list(self) -> list[ModelInfo]:
        current = self.current()
        infos = []
        for v in self.versions():
            path, builtin = self._all()[v]
            try:
                m = read_manifest(path)
                err = None
            except ArtifactError as e:
                m, err = {}, str(e)
            metrics = m.get("metrics") or {}
            cv = (metrics.get("cv") or {}).get("summary", {}).get("macro_f1", {})
            infos.append(ModelInfo(
                version=v, path=path, builtin=builtin, created=m.get("created"), parent=m.get("parent"),
                data_hash=(m.get("data") or {}).get("hash"), macro_f1=cv.get("mean"), current=v == current, error=err,
            ))
        return infos

    def show(self, version: str) -> dict[str, Any]:
        """The verified manifest of ``version`` (plus ``path`` and ``builtin``)."""
        path = self.path(version)
        m = read_manifest(path)
        m["path"] = str(path)
        m["builtin"] = self.builtin is not None and path.parent.resolve() == self.builtin.resolve()
        return m

    # ------------------------------------------------------------------ current
    def _pointer(self) -> str | None:
        p = self.root / CURRENT
        if not p.is_file():
            return None
        v = p.read_text(encoding="utf-8").strip()
        parse_semver(v)
        return v

    def default_version(self) -> str | None:
        """The newest built-in version: current when nothing was promoted."""
        builtin = sorted(self._versions_in(self.builtin), key=parse_semver)
        return builtin[-1] if builtin else None

    def current(self) -> str | None:
        return self._pointer() or self.default_version()

    def history(self) -> list[dict[str, Any]]:
        p = self.root / HISTORY
        if not p.is_file():
            return []
        try:
            h = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as e:
            raise RegistryError(f"{p} is not valid JSON: {e}") from e
        if not isinstance(h, list):
            raise RegistryError(f"{p} is not a list of promotions")
        return h

    def load(self, version: str | None = None) -> QualityModel:
        """Load ``version`` (default: current), verified."""
        version = version or self.current()
        if version is None:
            raise RegistryError(f"no quality model: nothing in {self.root} and no built-in artifact")
        path = self.path(version)
        model = QualityModel.load(path)
        if model.version != version:
            raise ArtifactError(f"{path} holds version {model.version!r}, not {version!r}; refusing to load")
        return model

    # ------------------------------------------------------------------ changes
    def next_version(self, bump: str = "minor") -> str:
        versions = self.versions()
        if not versions:
            return "1.0.0"
        major, minor, patch = parse_semver(versions[-1])
        if bump == "major":
            return f"{major + 1}.0.0"
        if bump == "patch":
            return f"{major}.{minor}.{patch + 1}"
        return f"{major}.{minor + 1}.0"

    def register(self, model: QualityModel, version: str | None = None, *, parent: str | None = None,
                 metrics: Mapping[str, Any] | None = None, lineage: Mapping[str, Any] | None = None) -> str:
        """Store ``model`` as ``version`` (default: next minor) and return the version. Never
        overwrites, never promotes.

        The manifest records ``parent`` (default: the current version), ``created``, and, when
        given, ``metrics`` (replacing the model's) and ``lineage`` (how the model was derived;
        :meth:`~processors.quality.model.QualityModel.with_linear_params` already records one).
        """
        version = version or self.next_version()
        parse_semver(version)
        if version in self._all():
            raise RegistryError(f"quality model {version} already exists ({self._all()[version][0]})")
        model.manifest["version"] = version
        model.manifest["parent"] = parent if parent is not None else self.current()
        model.manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if metrics is not None:
            model.manifest["metrics"] = dict(metrics)
        if lineage is not None:
            model.manifest["lineage"] = dict(lineage)
        self.root.mkdir(parents=True, exist_ok=True)
        model.save(self.root / version)
        return version

    def promote(self, version: str) -> str:
        """Point ``current`` at ``version`` after verifying it loads; returns the previous current."""
        self.load(version)  # checksums, shapes, version: refuse before pointing at it
        previous = self.current()
        self.root.mkdir(parents=True, exist_ok=True)
        history = self.history()
        # "previous": the pointer it replaces (None = the built-in default, which rollback restores)
        history.append({"version": version, "previous": self._pointer(),
                        "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        _atomic_write(self.root / HISTORY, json.dumps(history, indent=2) + "\n")
        _atomic_write(self.root / CURRENT, version + "\n")
        return previous or ""

    def rollback(self) -> str | None:
        """Undo the last promotion: ``current`` goes back to the version it replaced (the built-in
        default when that was none). Returns the new current version."""
        history = self.history()
        if not history:
            raise RegistryError(f"nothing to roll back in {self.root}: no promotion recorded")
        last = history.pop()
        previous = last.get("previous")
        if previous:
            self.path(previous)  # must still exist
        _atomic_write(self.root / HISTORY, json.dumps(history, indent=2) + "\n")
        pointer = self.root / CURRENT
        if previous:
            _atomic_write(pointer, previous + "\n")
        elif pointer.exists():
            pointer.unlink()
        return self.current()
