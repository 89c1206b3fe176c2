"""Read side: the public portal's notice search, a lot's timeline, and the consoles' lot lists."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, or_, select

from core.audit import disclosed
from core.calendar import SHANGHAI
from core.db import db
from core.errors import NotFound
from core.models import AuditLog
from trading.fsm import S
from trading.models import Amendment, Lot, LotTransition, Notice, Project
from trading.services.common import is_tenderee_side

NOTICE_KINDS = ("tender_notice", "invitation", "amendment", "suspension", "resumption", "cancellation", "failure",
                "opening_record")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_notices(*, keyword: str = "", region: str = "", category: str = "", kind: str = "",
                   date_from: dt.date | None = None, date_to: dt.date | None = None) -> Select:
    """Notices newest first, filtered by keyword (title, project, code, tenderee), region prefix,
    category, kind and Beijing-date range; only lots past the draft stage ever have notices."""
    q = (select(Notice, Lot, Project).join(Lot, Notice.lot_id == Lot.id).join(Project, Lot.project_id == Project.id)
         .where(Lot.state != S.DRAFT))
    for word in keyword.split()[:5]:
        pattern = _like(word)
        q = q.where(or_(Notice.title.ilike(pattern, escape="\\"), Project.name.ilike(pattern, escape="\\"),
                        Project.code.ilike(pattern, escape="\\"), Project.tenderee_name.ilike(pattern, escape="\\"),
                        Lot.name.ilike(pattern, escape="\\")))
    if region:
        q = q.where(Project.region.like(f"{region.rstrip('0') or region}%"))
    if category:
        q = q.where(Project.category == category)
    if kind:
        q = q.where(Notice.kind == kind)
    if date_from:
        q = q.where(Notice.published_at >= _day_start(date_from))
    if date_to:
        q = q.where(Notice.published_at < _day_start(date_to + dt.timedelta(days=1)))
    return q.order_by(Notice.published_at.desc(), Notice.id.desc())


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI).astimezone(dt.UTC)


def visible_lot(user, lot: Lot) -> Lot:
    """A draft exists only for its tenderee side and the supervisors; everyone else gets a 404."""
    if lot.state == S.DRAFT and not (is_tenderee_side(user, lot) or getattr(user, "role", None) in
                                     ("supervisor", "admin")):
        raise NotFound(f"Lot {lot.id} not found")
    return lot


def visible_project(user, project: Project) -> Project:
    """A project is visible if any of its lots is."""
    for lot in project.lots:
        try:
            visible_lot(user, lot)
            return project
        except NotFound:
            continue
    raise NotFound(f"Project {project.id} not found")


def timeline(lot: Lot) -> list[dict]:
    """The public history of a lot: state changes and amendments, oldest first."""
    items = [{"at": t.at, "kind": "transition", "action": t.action, "from_state": t.from_state,
              "to_state": t.to_state, "text": t.reason} for t in
             db.session.scalars(select(LotTransition).where(LotTransition.lot_id == lot.id)
                                .order_by(LotTransition.id))]
    items += [{"at": a.issued_at, "kind": "amendment", "action": "amend", "from_state": "", "to_state": "",
               "text": a.title} for a in
              db.session.scalars(select(Amendment).where(Amendment.lot_id == lot.id).order_by(Amendment.id))]
    return sorted(items, key=lambda item: item["at"])


def notices_of(lot: Lot) -> list[Notice]:
    return db.session.scalars(select(Notice).where(Notice.lot_id == lot.id).order_by(Notice.id)).all()


def console_lots(user, *, state: str = "") -> Select:
    """Agencies see their organisation's lots and lots they hold a grant on; supervisors see all."""
    q = select(Lot).join(Project, Lot.project_id == Project.id).order_by(Lot.id.desc())
    if user.role not in ("supervisor", "admin"):
        granted = [g.scope_id for g in user.grants if g.scope_type == "lot" and g.grant == "tenderee_rep"]
        q = q.where(or_(Project.agency_org_id == user.organisation_id, Lot.id.in_(granted)))
    if state:
        q = q.where(Lot.state == state)
    return q


def lot_audit_trail(lot: Lot) -> list[AuditLog]:
    """Every audited change concerning the lot (EBM Art.49), oldest first; what bidders did waits for
    the deadline (core.audit.disclosed)."""
    return db.session.scalars(select(AuditLog).where(AuditLog.lot_id == lot.id, disclosed())
                              .order_by(AuditLog.id)).all()
