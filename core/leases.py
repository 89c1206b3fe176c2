"""Named leases in the database: one holder at a time across processes and hosts.

The scheduler (one process fires the jobs) and the archive's sequencer (one worker seals at a time)
each take a lease by name.  Taking or renewing is one conditional UPDATE (or the first INSERT), so
two contenders cannot both win; a holder that dies simply lets its lease expire.
"""
from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import UTCDateTime, db


class Lease(db.Model):
    """Who holds the lease ``name`` until when."""

    __tablename__ = "core_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def holder_id() -> str:
    """This process, as a lease holder: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease atomically and commit at once (other processes must see it);
    True if ``holder`` has it afterwards."""
    moment = now()
    until = moment + dt.timedelta(seconds=seconds)
    result = db.session.execute(update(Lease).where(
        Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < moment),
    ).values(holder=holder, expires_at=until))
    if result.rowcount == 0:
        try:
            db.session.add(Lease(name=name, holder=holder, expires_at=until))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return False
    db.session.commit()
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up now (if ``holder`` has it), so another process need not wait for it to expire."""
    db.session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                       .values(expires_at=now() - dt.timedelta(seconds=1)))
    db.session.commit()


def status(name: str) -> dict:
    """``held``, and while anyone ever held it, ``holder`` and ``expires_at`` (health page)."""
    row = db.session.get(Lease, name)
    if row is None:
        return {"held": False}
    return {"held": row.expires_at > now(), "holder": row.holder, "expires_at": row.expires_at.isoformat()}
