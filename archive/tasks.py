"""Archive tasks: capture every event the catalogue routes to the archive, run the sequencer each
second and the storage auditor periodically (jobs only enqueue these tasks by name).

Subscriptions are derived from ``core.events.CATALOGUE``, so events added by later issues are
archived without touching this file.
"""
from __future__ import annotations

import logging

from celery import shared_task

from archive import services
from core.events import CATALOGUE, commit, subscriber
from core.scheduler import register_periodic

logger = logging.getLogger(__name__)

SEQUENCE_TASK = "archive.sequence"
AUDIT_TASK = "archive.audit_storage"
#: (job id, seconds, task): the sequencer every second, a re-hash audit round every 10 minutes
JOBS = [("archive-sequence", 1, SEQUENCE_TASK), ("archive-audit", 600, AUDIT_TASK)]


def archived_events() -> list[str]:
    return sorted(name for name, consumers in CATALOGUE.items() if "archive" in consumers)


def capture(event) -> None:
    """Outbox handler: queue the event for the sequencer (same transaction as the delivery row)."""
    services.capture(event)


def register(app) -> None:
    """Subscribe the capture to every archived event and arm the sequencer and the audit (the app
    factory calls this)."""
    for name in archived_events():
        subscriber(name, name=f"archive.capture.{name}")(capture)
    for job_id, seconds, task in JOBS:
        register_periodic(job_id, seconds, task)



@shared_task(name=SEQUENCE_TASK, acks_late=True)
def sequence() -> int:
    """Seal pending events (one transaction per batch); a no-op if another sequencer runs."""
    return services.run_sequencer()


@shared_task(name=AUDIT_TASK, acks_late=True)
def audit_storage(limit: int = 200) -> dict:
    """Re-hash a round of stored segments against the log; mismatches become events."""
    result = services.audit_storage(limit=limit)
    commit()
    return result
