"""Test-only subscribers and tasks, loaded by test workers through GGZY_EXTRA_TASK_MODULES.

``test.slow`` writes an audit row in the handler's transaction, then, if a "block" file exists,
announces itself and sleeps, so a test can SIGKILL the worker mid-task (harness (d)).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task

from core.audit import audit
from core.events import subscriber


def _control() -> Path:
    return Path(os.environ.get("GGZY_TEST_CONTROL_DIR", "/tmp"))


@subscriber("core.selftest", name="test.slow")
def slow(event) -> None:
    audit("test.handled", object_type="event", object_id=event.event_id)
    block = _control() / "block"
    if block.exists():
        block.unlink()
        (_control() / "started").write_text(str(os.getpid()))
        time.sleep(120)


@shared_task(name="tests.touch")
def touch(path: str) -> None:
    """Scheduler tests: the job ran if the file exists."""
    Path(path).write_text("ran")
