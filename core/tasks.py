"""Celery wiring (tasks run inside the app context) and the foundation's own tasks.

Tasks take ids and primitives (STYLE habit 4), acknowledge late, and are safe to run twice.
"""
from __future__ import annotations

import logging
import os

from celery import Celery, Task, shared_task
from flask import Flask, current_app

from core.domains import DOMAINS

logger = logging.getLogger(__name__)

#: modules whose tasks and event subscribers the worker loads
TASK_MODULES = ["core.tasks", "core.notifications", *(f"{domain}.tasks" for domain in DOMAINS)]


def task_modules() -> list[str]:
    """Existing task modules plus any named in GGZY_EXTRA_TASK_MODULES (test support)."""
    import importlib.util

    extra = [m for m in os.environ.get("GGZY_EXTRA_TASK_MODULES", "").split(",") if m]
    return [m for m in TASK_MODULES + extra if importlib.util.find_spec(m) is not None]


def init_celery(app: Flask) -> Celery:
    """Bind a Celery app to the Flask app (flask docs' FlaskTask pattern)."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    cfg = app.config
    celery.conf.update(
        broker_url=cfg["GGZY_BROKER_URL"],
        result_backend=cfg.get("GGZY_RESULT_BACKEND"),
        task_ignore_result=True,
        task_always_eager=bool(cfg.get("GGZY_TASKS_EAGER")),
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options=({"visibility_timeout": 3600}
                                  if str(cfg["GGZY_BROKER_URL"]).startswith("redis") else {}),
        worker_hijack_root_logger=False,
        include=task_modules(),
    )
    celery.set_default()
    app.extensions["celery"] = celery
    for module in task_modules():
        __import__(module)
    register_all(app)
    return celery


def register_all(app: Flask) -> None:
    """Each task module's ``register(app)``, bottom layer first: signals, subscribers and periodic
    jobs are connected here, never by an import; then every required signal must have a receiver
    (core.signals.check_required), or the app does not start."""
    import importlib

    from core.signals import check_required

    for name in task_modules():
        register = getattr(importlib.import_module(name), "register", None)
        if register is not None:
            register(app)
    check_required()


@shared_task(name="core.handle_event", acks_late=True, max_retries=None)
def handle_event(event_pk: int, handler: str) -> str:
    """Run one subscribed handler for one outbox event (idempotent on the event id)."""
    from core.events import run_handler

    return run_handler(event_pk, handler)


@shared_task(name="core.sweep_outbox")
def sweep_outbox() -> int:
    """Re-dispatch events that no handler acknowledged within the grace period."""
    from core.events import sweep

    return sweep(grace_seconds=current_app.config["GGZY_OUTBOX_GRACE_SECONDS"])


def register(app) -> None:
    """The self-test's acknowledging subscriber."""
    from core.events import subscriber

    @subscriber("core.selftest", name="core.selftest_ack")
    def selftest_ack(event) -> None:
        """Nothing to do: the delivery row written by run_handler is the acknowledgement."""

