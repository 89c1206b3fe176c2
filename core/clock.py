"""The only source of "now".

Production reads the system clock.  The demo clock (GGZY_ENV=demo only) adds an offset kept in the
database, so the web, worker and scheduler processes agree and a newcomer can jump a lot from
publication to opening.  Tests may freeze time with :func:`frozen`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import time

from flask import current_app, has_app_context
from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db

_frozen: list[dt.datetime] = []
_cache: dict[str, float] = {"offset": 0.0, "read_at": -1.0}


class ClockSetting(db.Model):
    """The demo clock offset, shared by every process of a demo install."""

    __tablename__ = "core_clock"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(Float, default=0.0)


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _demo_offset() -> float:
    """Offset of the demo clock, re-read at most once a second."""
    if not has_app_context() or current_app.config.get("GGZY_ENV") != "demo":
        return 0.0
    if time.monotonic() - _cache["read_at"] > 1.0:
        row = db.session.get(ClockSetting, "demo")
        _cache["offset"] = row.offset_seconds if row else 0.0
        _cache["read_at"] = time.monotonic()
    return _cache["offset"]


def now() -> dt.datetime:
    """Aware UTC now, honouring a frozen test clock or the demo offset."""
    if _frozen:
        return _frozen[-1]
    return system_now() + dt.timedelta(seconds=_demo_offset())


def advance_demo_clock(seconds: float) -> dt.datetime:
    """Jump the demo clock forward (demo only; production refuses)."""
    if current_app.config.get("GGZY_ENV") != "demo":
        raise RuntimeError("the demo clock exists only when GGZY_ENV=demo")
    if seconds < 0:
        raise ValueError("the demo clock only moves forward")
    row = db.session.get(ClockSetting, "demo") or ClockSetting(name="demo", offset_seconds=0.0)
    row.offset_seconds += seconds
    db.session.add(row)
    _resync_scheduled_tasks()
    db.session.flush()
    _cache["read_at"] = -1.0
    return now()


def _resync_scheduled_tasks() -> None:
    """Pending one-off jobs were placed on the system clock for the old offset: place them again."""
    from sqlalchemy import update

    from core.scheduler import ScheduledTask

    db.session.execute(update(ScheduledTask).values(synced=False))


@contextlib.contextmanager
def frozen(at: dt.datetime):
    """Freeze :func:`now` at an aware instant (tests)."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    _frozen.append(at)
    try:
        yield at
    finally:
        _frozen.pop()
