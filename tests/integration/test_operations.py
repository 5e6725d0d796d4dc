"""Operations on a real worker: /metrics, per-minute aggregates and target alerts, and the live page in Chromium."""

from __future__ import annotations

import os
import shutil
import textwrap
from typing import Any

import httpx
import orjson
import pytest

from conftest import wait_for
from infra.kafka.topics import ALERTS, METRICS_AGGREGATED, PIPELINE_METRICS, SOURCES_RAW

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def code_doc(i: int) -> tuple[str, bytes]:
    content = textwrap.dedent(f'''
        """Helpers number {i} for parsing configuration values."""


        def parse_port_{i}(text):
            """Parse a TCP port number from text and check that it is in range."""
            port = int(text)
            if not 0 < port < 65536:
                raise ValueError(port)
            return port
    ''')
    return f"ops-{i}", orjson.dumps({"id": f"ops-{i}", "type": "code", "content": content, "language": "python"})


def stats(worker: Any) -> dict[str, Any]:
    return httpx.get(f"{worker.url}/stats", timeout=10).json()


def test_metrics_and_aggregates_on_a_real_worker(topics, start_worker):
    worker = start_worker(topics, ASSAY_OBS_WINDOW_S="4", ASSAY_OBS_GRACE_S="1", ASSAY_OBS_HEARTBEAT_INTERVAL_S="1",
                          ASSAY_OBS_TARGET_QUALITY_MEAN="4.9", ASSAY_OBS_CRITICAL_AFTER_WINDOWS="1")
    topics.produce(SOURCES_RAW, [code_doc(i) for i in range(3)] + [("broken", b"{not json")])
    wait_for(lambda: stats(worker)["documents"] == 4, 120, "four documents on /stats")
    httpx.get(f"{worker.url}/search", params={"q": "parse a port"}, timeout=30).raise_for_status()

    exposition = httpx.get(f"{worker.url}/metrics", timeout=10).text
    for needle in ('assay_produce_to_enriched_seconds_count{outcome="indexed"} 3.0', "assay_build_info{",
                   'assay_model_info{kind="embedding"', 'assay_quality_score_count{doc_type="code"} 3.0'):
        assert needle in exposition, needle
    wait_for(lambda: "assay_search_seconds_count 1.0" in httpx.get(f"{worker.url}/metrics").text, 30, "search metric")
    wait_for(lambda: "assay_consumer_lag_messages{" in httpx.get(f"{worker.url}/metrics").text, 30, "lag gauge")

    beats = topics.consume(PIPELINE_METRICS, lambda ms: any(m["value"]["type"] == "worker" and m["value"]["ready"]
                                                            for m in ms))
    assert any(m["value"]["type"] == "query" for m in topics.consume(
        PIPELINE_METRICS, lambda ms: any(m["value"]["type"] == "query" for m in ms)))
    assert beats[-1]["key"] is not None

    def all_documents_aggregated(ms: list[dict[str, Any]]) -> bool:
        return sum(m["value"]["documents"] for m in ms) >= 4

    windows = [m["value"] for m in topics.consume(METRICS_AGGREGATED, all_documents_aggregated, timeout_s=90)]
    assert sum(w["documents"] for w in windows) == 4  # each document in exactly one window
    assert sum(w["patterns"] for w in windows) == sum(w["outcomes"].get("indexed", 0) for w in windows) * 2
    assert sum(w["errors"].get("invalid_json", 0) for w in windows) == 1
    assert [w["window_start"] for w in windows] == sorted(w["window_start"] for w in windows)
    assert all(m["key"].decode() == m["value"]["window"] for m in topics.consume(
        METRICS_AGGREGATED, all_documents_aggregated))
    scored = [w for w in windows if w["quality"]["count"]]
    assert scored and all(w["latency_s"]["p99"] is not None for w in scored)

    alerts = [m["value"] for m in topics.consume(ALERTS, lambda ms: any(
        m["value"]["kind"] == "target:quality_mean" for m in ms), timeout_s=60)]
    alert = next(a for a in alerts if a["kind"] == "target:quality_mean")
    assert alert["severity"] == "critical" and alert["details"]["threshold"] == 4.9


@pytest.fixture
def browser() -> Any:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium'; .ci/system-packages installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with playwright_api.sync_playwright() as p:
        # Debian's Chromium, never a downloaded browser.
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_live_page_shows_the_workers_numbers_and_follows_the_stream(topics, start_worker, browser, tmp_path):
    worker = start_worker(topics, ASSAY_OBS_HEARTBEAT_INTERVAL_S="1")
    topics.produce(SOURCES_RAW, [code_doc(i) for i in range(4)] + [("broken", b"{not json"), ("empty", b'{"content": ""}')])
    wait_for(lambda: stats(worker)["documents"] == 6, 120, "six documents on /stats")

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{worker.url}/")  # redirects to /dashboard
    assert page.url.endswith("/dashboard")
    page.wait_for_function("document.getElementById('connection').textContent === 'live'", timeout=30_000)
    page.wait_for_function("document.getElementById('documents').textContent === '6'", timeout=30_000)
    now = stats(worker)
    for field in ("documents", "patterns_indexed", "rejected", "points"):
        assert page.text_content(f"#{field}") == str(now[field]), field
    assert page.text_content("#model_embedding") == now["embedding"]
    # Readiness can blink (an agent briefly waits on a retry, a rebalance); the page must follow /ready.
    wait_for(lambda: httpx.get(f"{worker.url}/ready", timeout=5).status_code == 200, 60,
             "the worker to be ready")
    try:
        page.wait_for_function("document.getElementById('ready').textContent === 'ready'", timeout=30_000)
    except Exception as e:
        raise AssertionError(f"the page says not ready: {page.text_content('#reasons')!r}") from e
    rejections = page.text_content("#rejections")
    assert "invalid_json" in rejections and "empty_content" in rejections
    assert page.text_content("#quality").count("4-5") == 1

    # More documents: the open page follows, without a reload.
    topics.produce(SOURCES_RAW, [code_doc(i) for i in range(10, 16)])
    page.wait_for_function("document.getElementById('documents').textContent === '12'", timeout=120_000)
    wait_for(lambda: stats(worker)["documents"] == 12, 30, "twelve documents on /stats")
    page.wait_for_function(
        f"document.getElementById('patterns_indexed').textContent === '{stats(worker)['patterns_indexed']}'",
        timeout=10_000)
    assert float(page.text_content("#documents_per_s")) > 0
    # ASSAY_SCREENSHOT=docs/img/live-page.png refreshes the README's picture.
    page.screenshot(path=os.environ.get("ASSAY_SCREENSHOT") or str(tmp_path / "live-page.png"), full_page=True)
    page.close()
