"""The supervisor console: every lot, its audit trail, suspend/resume, the credit blacklist.
Nothing here changes a tender's content (EBM Art.3)."""
from __future__ import annotations

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from core.clock import now
from core.db import db
from core.errors import DomainError, ValidationFailed
from core.pages import act
from core.permissions import permission
from trading import services
from trading.fsm import LotState
from trading.models import BlacklistEntry, Lot
from trading.schemas import BlacklistCreateSchema
from trading.views import bp


@bp.get("/supervisor")
@permission("trading.pages.supervisor")
def supervisor_home():
    state = request.args.get("state", "")
    state = state if state in set(LotState) else ""
    lots = db.session.scalars(services.console_lots(g.user, state=state).limit(500)).all()
    entries = db.session.scalars(select(BlacklistEntry).order_by(BlacklistEntry.id.desc()).limit(200)).all()
    return render_template("trading/supervisor.html", lots=lots, state=state, states=list(LotState),
                           entries=entries, at=now())


@bp.get("/supervisor/lots/<int:lot_id>")
@permission("trading.lots.audit")
def supervisor_lot(lot_id):
    lot = db.session.get(Lot, lot_id)
    try:
        downloads, hidden = services.downloads(user=g.user, lot=lot), None
    except DomainError as err:
        downloads, hidden = [], err
    return render_template("trading/supervisor_lot.html", lot=lot, project=lot.project, hidden=hidden,
                           downloads=downloads, trail=services.lot_audit_trail(lot),
                           objections=services.objections_for(user=g.user, lot=lot), at=now())


def _reason() -> str:
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        raise ValidationFailed(_("Give a reason."), code="reason_required")
    return reason


@bp.post("/supervisor/lots/<int:lot_id>/suspend")
@permission("trading.lots.suspend")
def supervisor_suspend(lot_id):
    lot = db.session.get(Lot, lot_id)
    return act(lambda: services.suspend_lot(actor=g.user, lot=lot, reason=_reason()), done=_("Lot suspended."),
               back=url_for(".supervisor_lot", lot_id=lot_id))


@bp.post("/supervisor/lots/<int:lot_id>/resume")
@permission("trading.lots.resume")
def supervisor_resume(lot_id):
    lot = db.session.get(Lot, lot_id)
    reason = (request.form.get("reason") or "").strip()[:500]
    return act(lambda: services.resume_lot(actor=g.user, lot=lot, reason=reason), done=_("Lot resumed."),
               back=url_for(".supervisor_lot", lot_id=lot_id))


@bp.post("/supervisor/blacklist")
@permission("trading.blacklist.manage")
def supervisor_blacklist_add():
    form = {k: v for k, v in request.form.items() if v and k != "csrf_token"}

    def add():
        try:
            data = BlacklistCreateSchema().load(form)
        except ValidationError as err:
            raise ValidationFailed(_("Please check: %(fields)s", fields=", ".join(sorted(err.messages))),
                                   code="validation_failed") from None
        services.add_entry(actor=g.user, **data)

    return act(add, done=_("Listed on the blacklist."), back=url_for(".supervisor_home"))


@bp.post("/supervisor/blacklist/<int:blacklist_entry_id>/revoke")
@permission("trading.blacklist.manage")
def supervisor_blacklist_revoke(blacklist_entry_id):
    entry = db.session.get(BlacklistEntry, blacklist_entry_id)
    return act(lambda: services.revoke_entry(actor=g.user, entry=entry, reason=_reason()),
               done=_("Listing lifted."), back=url_for(".supervisor_home"))
