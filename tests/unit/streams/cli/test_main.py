"""The ``assay`` entry point: every group is registered, ``--version``, and errors as one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main

REPO = Path(__file__).resolve().parents[4]


def test_every_command_group_is_registered():
    assert set(main.commands) == {"broker", "topics", "worker", "produce", "search", "tail", "status", "dlq",
                                  "schemas", "demo", "quality", "model", "inference", "feedback", "learner",
                                  "experiment"}
    assert set(main.commands["dlq"].commands) == {"list", "show", "replay"}
    assert set(main.commands["experiment"].commands) == {"status", "start"}


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("assay ")


def test_python_dash_m_runs_the_same_command():
    out = subprocess.run([sys.executable, "-m", "streams.cli", "worker", "--help"], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0 and "--role" in out.stdout


def test_invalid_settings_are_one_line_not_a_traceback(monkeypatch):
    from infra.settings import get_settings

    monkeypatch.setenv("ASSAY_KAFKA_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("ASSAY_KAFKA_MIN_INSYNC_REPLICAS", "2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["topics", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "error: invalid settings" in result.output and "no write could succeed" in result.output


@pytest.mark.parametrize("args", [["--offset", "soon"], ["-o", "x1"]])
def test_tail_refuses_a_bad_offset(args):
    result = CliRunner().invoke(main, ["tail", "sources.raw", *args])
    assert result.exit_code == 2 and "beginning, end, N or -N" in result.output


def test_dlq_refuses_a_bad_time():
    result = CliRunner().invoke(main, ["dlq", "list", "--since", "yesterday"])
    assert result.exit_code == 2 and "duration like 30m" in result.output


def test_inference_serve_refuses_an_exposed_host_without_a_token_before_loading_a_model(monkeypatch):
    monkeypatch.setattr("inference.factory.create_embedder", lambda *a, **k: pytest.fail("model loaded"))
    result = CliRunner().invoke(main, ["inference", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "without a bearer token" in result.output and "--insecure-no-token" in result.output
