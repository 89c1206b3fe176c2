"""Gunicorn as in production, as a subprocess of a test, on a free port (DESIGN §11: crash tests)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support import free_port
from tests.workers import ROOT, worker_env


class Gunicorn:
    """``gunicorn wsgi:app`` with gthread workers in its own process group, so ``kill -9`` takes
    the master and every worker at once, mid-request."""

    def __init__(self, config: dict, tmp: Path, *, storage_dir: Path, upload_dir: Path, workers: int = 2,
                 threads: int = 4):
        self.env = worker_env(config, tmp)
        self.env.update({"GGZY_STORAGE_DIR": str(storage_dir), "GGZY_UPLOAD_DIR": str(upload_dir),
                         "GGZY_BROKER_URL": "memory://"})
        self.port, self.tmp, self.workers, self.threads, self.proc = free_port(), tmp, workers, threads, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Gunicorn:
        log = open(self.tmp / "gunicorn.log", "ab")  # noqa: SIM115 (kept for the process's life)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers),
             "-k", "gthread", "--threads", str(self.threads), "--timeout", "60",
             "--no-control-socket", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/api/keys/platform", timeout=10).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {(self.tmp / 'gunicorn.log').read_text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL to the whole process group: no graceful shutdown, requests cut mid-body."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
