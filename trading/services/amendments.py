"""Amendments (澄清、修改): published prominently, every downloader told, and the deadline moved
when fewer than 15 days remain (TBL Art.23, TBR Art.21, EBM Art.22)."""
from __future__ import annotations

import datetime as dt
import logging

from core import events
from core.clock import now
from core.db import db
from trading import procedures
from trading.errors import StateConflict
from trading.fsm import S
from trading.models import Amendment, Lot
from trading.services.common import add_notice, config_of, deadline_set, iso, lot_audit, lot_title
from trading.services.documents import upload_document
from trading.services.lots import notify_downloaders

logger = logging.getLogger(__name__)


def issue_amendment(*, actor, lot: Lot, title: str, body: str, new_deadline: dt.datetime | None = None,
                    document: tuple[str, bytes, str] | None = None) -> Amendment:
    """Issue an amendment, optionally with a document and a new deadline.

    Without ``new_deadline`` the deadline moves to the earliest date that leaves 15 days, if
    it must; a requested deadline must leave 15 days itself.  Allowed while bidding is open, and
    during a suspension that began while bidding was open (fixing the documents is often why).

    :raises StateConflict: bidding is not open
    :raises RuleViolation: ``amendment_deadline_too_early``, ``deadline_brought_forward``
    """
    bidding = lot.state == S.PUBLISHED or (lot.state == S.SUSPENDED and lot.resume_state == S.PUBLISHED)
    if not bidding:
        raise StateConflict(f"amendments are issued while bidding is open; the lot is {lot.state}",
                            code="invalid_state", state=lot.state)
    config = config_of(lot)
    issued_at, old = now(), lot.bid_deadline
    new = procedures.amended_deadline(config, issued_at=issued_at, deadline=old, requested=new_deadline)
    row = Amendment(number=len(lot.amendments) + 1, title=title, body=body, issued_at=issued_at,
                    issued_by=actor.id, old_deadline=old, new_deadline=new,
                    moved_by_rule=new_deadline is None and new != old)
    lot.amendments.append(row)
    db.session.flush()
    if document is not None:
        filename, data, content_type = document
        upload_document(actor=actor, lot=lot, filename=filename, data=data, content_type=content_type,
                        amendment_id=row.id)
    _move_deadline(lot, old, new)
    add_notice(lot, "amendment", f"{lot_title(lot)} 澄清/修改公告（第{row.number}号）", body)
    row.notified = notify_downloaders(lot, subject=f"招标文件澄清/修改：{lot_title(lot)}",
                                      body=f"{title}\n{body}\n投标截止时间：{_local(new)}")
    lot_audit(lot, "amendment.issued", actor=actor, amendment_id=row.id, old_deadline=iso(old),
              new_deadline=iso(new), moved_by_rule=row.moved_by_rule)
    events.record("trading.amendment_issued", {"lot_id": lot.id, "amendment_id": row.id, "number": row.number,
                                               "old_deadline": iso(old), "new_deadline": iso(new),
                                               "moved_by_rule": row.moved_by_rule, "rule": config.amendment_lead.article})
    return row


def _move_deadline(lot: Lot, old: dt.datetime, new: dt.datetime) -> None:
    if new == old:
        return
    if lot.issue_end is None or lot.issue_end >= old:
        lot.issue_end = new
    lot.bid_deadline = new
    if lot.state == S.PUBLISHED:
        deadline_set(lot)


def _local(moment: dt.datetime) -> str:
    from core.calendar import SHANGHAI

    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
