"""Pieces every trading service shares: the procedure of a lot, transitions, audit, notices."""
from __future__ import annotations

import logging

from flask import current_app

from core import signals
from core.audit import audit
from core.clock import now
from core.db import db
from core.permissions import holds_grant, owns
from trading import fsm
from trading.errors import StateConflict
from trading.models import Lot, LotTransition, Notice
from trading.procedures import ProcedureConfig, procedure_for

logger = logging.getLogger(__name__)


def env() -> str:
    return current_app.config.get("GGZY_ENV", "production")


def config_of(lot: Lot) -> ProcedureConfig:
    """The procedure table row of a lot (the demo row is refused outside the demo)."""
    return procedure_for(lot.project.category, lot.project.mode, env=env())


def is_tenderee_side(user, lot: Lot) -> bool:
    """The tenderee and its agency: the agency organisation that owns the lot, or a tenderee_rep."""
    if user is None:
        return False
    return (user.role == "agency" and owns(user, lot)) or holds_grant(user, frozenset({"tenderee_rep"}), lot)


def transition(lot: Lot, name: str, *, actor=None, reason: str = "") -> str:
    """Move ``lot`` along the FSM, keep the timeline row and the audit row; returns the old state."""
    old = lot.state
    target = fsm.next_state(old, name, resume_to=lot.resume_state)
    lot.resume_state = old if target == fsm.S.SUSPENDED else None
    lot.state = str(target)
    lot.state_reason = reason[:500]
    db.session.add(LotTransition(lot_id=lot.id, action=name, from_state=old, to_state=lot.state,
                                 actor_id=getattr(actor, "id", None), reason=reason[:500]))
    lot_audit(lot, f"lot.{name}", actor=actor, from_state=old, to_state=lot.state, reason=reason)
    logger.info("lot %s: %s → %s (%s)", lot.id, old, lot.state, name)
    return old


def lot_audit(lot: Lot, action: str, *, actor=None, **detail) -> None:
    """Every trading change is audited under the lot, so a supervisor reads one trail per lot."""
    audit(action, object_type="lot", object_id=lot.id, actor=actor, **detail)


def require_state(lot: Lot, *states: str, what: str) -> None:
    if lot.state not in states:
        raise StateConflict(f"cannot {what} while the lot is {lot.state}", code="invalid_state", state=lot.state)


def add_notice(lot: Lot, kind: str, title: str, body: str = "") -> Notice:
    """Post a public notice of ``lot``; a draft has none (the portal lists notices without looking
    at their lot's state, trading/services/portal.py)."""
    if lot.state == fsm.S.DRAFT:
        raise StateConflict("a draft has no public notice", code="invalid_state", state=lot.state)
    note = Notice(lot_id=lot.id, kind=kind, title=title[:300], body=body, published_at=now(),
                  category=lot.project.category, region=lot.project.region, city=lot.project.region[:4])
    db.session.add(note)
    return note


def deadline_set(lot: Lot) -> None:
    """The lot takes bids until its (new) deadline: the domain that closes bidding arms its close
    (``core.signals.deadline_set``; bidding receives it in the same transaction)."""
    signals.deadline_set.send(lot)


def lot_title(lot: Lot) -> str:
    return f"{lot.project.name} {lot.name}"


def iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
