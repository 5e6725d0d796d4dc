"""What build is running: the package version and, where known, the git commit (for ``assay_build_info``)."""

from __future__ import annotations

import os
import platform
import subprocess
import weakref
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from prometheus_client import CollectorRegistry, Info

REPO = Path(__file__).resolve().parents[1]
_REGISTERED: "weakref.WeakKeyDictionary[CollectorRegistry, Info]" = weakref.WeakKeyDictionary()


@lru_cache(maxsize=1)
def build_info() -> dict[str, str]:
    """Version, git sha (``ASSAY_GIT_SHA`` when the image was built with it, else the checkout's; ``unknown``)."""
    try:
        version = metadata.version("assay")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"version": version, "git_sha": os.environ.get("ASSAY_GIT_SHA") or _git_sha() or "unknown",
            "python": platform.python_version()}


def _git_sha() -> str | None:
    if not (REPO / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def register_build_info(registry: CollectorRegistry) -> Info:
    """``assay_build_info{version, git_sha, python} 1`` on ``registry`` (once per registry)."""
    if registry not in _REGISTERED:
        info = Info("assay_build", "The running build: package version, git commit, Python", registry=registry)
        info.info(build_info())
        _REGISTERED[registry] = info
    return _REGISTERED[registry]
