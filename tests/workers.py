"""Start a real Celery worker process for tests, on GGZY_TEST_BROKER_URL (Redis in CI) or on the
embedded SQLAlchemy broker in a temporary SQLite file."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def broker_url(tmp: Path) -> str:
    return os.environ.get("GGZY_TEST_BROKER_URL") or f"sqla+sqlite:///{tmp / 'broker.sqlite'}"


def worker_env(config: dict, control_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({
        "GGZY_ENV": "test",
        "GGZY_SECRET_KEY": config["SECRET_KEY"],
        "GGZY_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "GGZY_BROKER_URL": config["GGZY_BROKER_URL"],
        "GGZY_KEY_DIR": config["GGZY_KEY_DIR"],
        "GGZY_STORAGE_DIR": config["GGZY_STORAGE_DIR"],
        "GGZY_INSTANCE_DIR": config["GGZY_INSTANCE_DIR"],
        "GGZY_EXTRA_TASK_MODULES": "tests.support_handlers",
        "GGZY_TEST_CONTROL_DIR": str(control_dir),
        "PYTHONPATH": str(ROOT),
    })
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """A solo-pool worker: the task runs in this very process, so SIGKILL kills the task."""
    fh = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker", "--pool=solo",
                             "--loglevel=INFO", "--without-heartbeat", "--without-mingle", "--without-gossip"],
                            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
