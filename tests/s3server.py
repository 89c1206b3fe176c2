"""Start and stop the S3 test server: moto's ThreadedMotoServer on 127.0.0.1 and a free port.

By default the server runs in a child process: its memory (moto keeps objects in RAM and joins
multipart uploads in memory) then never shows up in the tests' tracemalloc figures, its request
threads do not compete for the tests' GIL, and it is a real separate server as MinIO will be.
``in_process=True`` runs it in a thread of the current process instead.

moto is a pip dependency of the dev extra, so a failure to start is an error, never a skip::

    from tests.s3server import s3_server, ACCESS_KEY, SECRET_KEY
    with s3_server() as endpoint:          # "127.0.0.1:PORT"
        ...
    endpoint, stop = start_s3_server(); ...; stop()
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

#: moto accepts any credentials; these are the conventional test values
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"

_CHILD = """
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()          # parent closed our stdin (or died): stop
server.stop()
"""


def start_s3_server(*, in_process: bool = False, timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Start the server; returns ``("127.0.0.1:PORT", stop)``.  Raises RuntimeError if it cannot start."""
    start = _start_thread if in_process else _start_child
    endpoint, stop = start(timeout)
    _wait_until_serving(endpoint, timeout)
    return endpoint, stop


@contextlib.contextmanager
def s3_server(*, in_process: bool = False, timeout: float = 30.0) -> Iterator[str]:
    """Context-manager form of :func:`start_s3_server`."""
    endpoint, stop = start_s3_server(in_process=in_process, timeout=timeout)
    try:
        yield endpoint
    finally:
        stop()


def s3_config(endpoint: str, bucket: str = "ggzy-test") -> dict:
    """The GGZY_* settings that point an app at the test server."""
    return {"GGZY_STORAGE": "s3", "GGZY_S3_ENDPOINT": endpoint, "GGZY_S3_ACCESS_KEY": ACCESS_KEY,
            "GGZY_S3_SECRET_KEY": SECRET_KEY, "GGZY_S3_BUCKET": bucket, "GGZY_S3_SECURE": False}


def _start_child(timeout: float) -> tuple[str, Callable[[], None]]:
    """Run the server in ``python -c``; it prints its port once bound and exits when stdin closes."""
    log = tempfile.TemporaryFile()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=log, env=env)
    port = _read_port(proc, log, timeout)

    def stop() -> None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        log.close()

    return f"127.0.0.1:{port}", stop


def _read_port(proc: subprocess.Popen, log, timeout: float) -> int:
    """The child's first stdout line, or a RuntimeError carrying its stderr."""
    os.set_blocking(proc.stdout.fileno(), False)
    deadline, buffer = time.monotonic() + timeout, b""
    while time.monotonic() < deadline and b"\n" not in buffer:
        buffer += proc.stdout.read() or b""
        if proc.poll() is not None and b"\n" not in buffer:
            break
        time.sleep(0.02)
    if b"\n" not in buffer:
        proc.kill()
        proc.wait()
        log.seek(0)
        raise RuntimeError(f"moto S3 server did not start: {log.read().decode(errors='replace')[-2000:]}")
    return int(buffer.split(b"\n", 1)[0])


def _start_thread(timeout: float) -> tuple[str, Callable[[], None]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return f"127.0.0.1:{server.get_host_and_port()[1]}", server.stop


def _wait_until_serving(endpoint: str, timeout: float) -> None:
    """The port accepts connections (the child prints its port only after binding; this is a guard)."""
    host, port = endpoint.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto S3 server at {endpoint} is not accepting connections") from exc
            time.sleep(0.05)
