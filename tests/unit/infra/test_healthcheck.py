"""The container healthcheck: 0 for a 2xx answer, 1 for anything else (including no answer)."""

from __future__ import annotations

import http.server
import threading
from typing import Iterator

import pytest

from infra.healthcheck import main


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/ready" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_ready_is_healthy_and_anything_else_is_not(server, monkeypatch):
    assert main(["healthcheck", f"{server}/ready"]) == 0
    assert main(["healthcheck", f"{server}/not-ready"]) == 1
    monkeypatch.setenv("ASSAY_HEALTHCHECK_URL", f"{server}/ready")
    assert main(["healthcheck"]) == 0
    assert main(["healthcheck", "http://127.0.0.1:9/ready"]) == 1  # nothing listens there
