"""The real HTTP server (uvicorn running servidor:app) in a subprocess, for tests and bench.

    with ServerProcess(workers=2) as server:
        httpx.post(server.url("/webhooks/pearl/call"), json=..., params={"token": TOKEN})

It inherits the environment (DB_* of the test database) plus WEBHOOK_TOKEN, listens on a free
loopback port, and is ready when GET /api/status answers. Its stderr goes to a file
(:attr:`ServerProcess.log_text`) so tests can read what it logged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-webhook-token-0123456789abcdef"
PREVIOUS_TOKEN = "previous-webhook-token-9876543210"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """uvicorn servidor:app on 127.0.0.1:<free port>, stopped with SIGTERM on exit."""

    def __init__(
        self, *, workers: int = 1, env: dict[str, str] | None = None, startup: float = 300.0,
        access_log: bool = True, app: str = "servidor:app", app_dir: str = ".",
    ) -> None:  # fmt: skip
        """`access_log=False` runs uvicorn as the README's production command does
        (--no-access-log: the server's own request line only); the tests keep uvicorn's
        access log on, to check that it never shows the token. `app` and `app_dir` (relative
        to the repository) choose another application: the benchmark's, with its floors."""
        self.port = free_port()
        self.workers = workers
        self.access_log = access_log
        self.app, self.app_dir = app, app_dir
        self.env = {
            **os.environ,
            "WEBHOOK_TOKEN": TOKEN,
            "WEBHOOK_TOKEN_PREVIOUS": PREVIOUS_TOKEN,
            **(env or {}),
        }
        self.startup = startup
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in __exit__)
            prefix="servidor-", suffix=".log", delete=False
        )
        self.proc: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def log_text(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", self.app, "--app-dir", self.app_dir,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers), "--log-level", "info",
                *([] if self.access_log else ["--no-access-log"]),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text}")
            try:
                if httpx.get(self.url("/api/status"), timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"server did not start in {self.startup}s:\n{self.log_text}")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
