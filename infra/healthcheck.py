"""``python -m infra.healthcheck URL``: exit 0 when URL answers 2xx within 3 s, else 1 (container healthchecks).

The image's default URL is the worker's readiness (``ASSAY_HEALTHCHECK_URL``, else
``http://127.0.0.1:6066/ready``); the inference server's container checks its own ``/ready`` (port 8080).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:6066/ready"


def healthy(url: str, timeout_s: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - a local probe
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("ASSAY_HEALTHCHECK_URL") or DEFAULT_URL
    ok = healthy(url)
    if not ok:
        print(f"unhealthy: {url}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
