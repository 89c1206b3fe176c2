"""`ggzy demo` on an empty instance folder: migrates, seeds through the services, and serves the
site and the OpenAPI document with a worker and a scheduler running — no server installed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support import free_port
from tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _get(url):
    try:
        return requests.get(url, timeout=3)
    except requests.RequestException:
        return None


def test_demo_serves_site_api_and_health(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"GGZY_ENV": "demo", "GGZY_INSTANCE_DIR": str(tmp_path / "instance"), "PORT": str(port)})
    log = open(tmp_path / "demo.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "demo"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: (_get(base + "/") or requests.Response()).status_code == 200, 120), \
            (tmp_path / "demo.log").read_text()[-3000:]
        assert _get(base + "/api/openapi.json").json()["paths"]
        assert wait_for(lambda: (_get(base + "/healthz") or requests.Response()).status_code == 200, 60), \
            _get(base + "/healthz").text
        token = requests.post(base + "/api/auth/tokens", timeout=10,
                              json={"email": "bidder1@demo.ggzy", "password": "ggzy-demo-2026"})
        assert token.status_code == 201
        keys = requests.get(base + "/api/keys", headers={"Authorization": f"Bearer {token.json()['token']}"},
                            timeout=10).json()
        assert {k["kind"] for k in keys} == {"sign", "encrypt"}, "demo bidders have registered keys"
        assert (tmp_path / "instance/keys/demo/bidder1@demo.ggzy/sign.pem").stat().st_mode & 0o077 == 0
        assert "bidder1@demo.ggzy" in (tmp_path / "demo.log").read_text(), "the demo prints its sign-ins"
        records = [r.json() for r in (_get(f"{base}/api/bidding/lots/{n}/opening-record") for n in range(1, 30))
                   if r is not None and r.status_code == 200]
        assert [r["kind"] for r in records] == ["final"], "one demo opening is run to its signed record"
        assert len(records[0]["body"]["bids"]) == 3 and records[0]["body"]["responses"]
        assert list((tmp_path / "instance/demo-bids").glob("*.data-key.txt")), "data keys for the live opening"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.5)


def test_production_refuses_the_demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"GGZY_ENV": "production", "GGZY_INSTANCE_DIR": str(tmp_path)})
    result = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "demo", "--setup-only"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "GGZY_SECRET_KEY" in result.stderr or "demo" in result.stderr


SUPERVISOR = """
import subprocess, sys
from core.demo import _supervise
procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
print(" ".join(str(p.pid) for p in procs), flush=True)
sys.exit(_supervise(procs))
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_terminated_demo_stops_its_worker_scheduler_and_web_server():
    """``kill`` (SIGTERM) of the demo process alone, not of its group: the three processes it started
    stop too, instead of living on as orphans holding the port."""
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    children = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(children) == 2 and all(_alive(pid) for pid in children)
    try:
        time.sleep(0.5)  # the handler is installed once _supervise runs
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert wait_for(lambda: not any(_alive(pid) for pid in children), 15), "children outlived the demo"
    finally:
        for pid in filter(_alive, children):
            os.kill(pid, signal.SIGKILL)
