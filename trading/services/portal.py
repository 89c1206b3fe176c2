"""Read side: the public portal's notice search, a lot's timeline, and the consoles' lot lists."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, or_, select

from core.audit import disclosed
from core.calendar import SHANGHAI
from core.db import db
from core.errors import NotFound
from core.models import AuditLog
from trading.fsm import S
from trading.models import Amendment, Lot, LotTransition, Notice, Project
from trading.services import portal_cache
from trading.services.common import is_tenderee_side

NOTICE_KINDS = ("tender_notice", "invitation", "amendment", "suspension", "resumption", "cancellation", "failure",
                "opening_record")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _notice_filters(*, keyword: str = "", region: str = "", category: str = "", kind: str = "",
                    date_from: dt.date | None = None, date_to: dt.date | None = None) -> tuple[list, bool]:
    """The WHERE clauses of a notice search, and whether they need the lot and project joined (a
    keyword does; every other filter reads columns of the notice, each with its own index)."""
    where: list = []
    for word in keyword.split()[:5]:
        pattern = _like(word)
        where.append(or_(Notice.title.ilike(pattern, escape="\\"), Project.name.ilike(pattern, escape="\\"),
                         Project.code.ilike(pattern, escape="\\"),
                         Project.tenderee_name.ilike(pattern, escape="\\"), Lot.name.ilike(pattern, escape="\\")))
    joins = bool(where)
    if region:
        prefix = region.rstrip("0") or region
        if len(prefix) == 6:  # one county: the region index yields its notices in listing order
            where.append(Notice.region == prefix)
        elif len(prefix) == 4:  # one city: so does the city index
            where.append(Notice.city == prefix)
        else:  # the range lets the region index serve a prefix under any collation; LIKE keeps the meaning
            where += [Notice.region.between(prefix, prefix + "9" * 6), Notice.region.like(f"{prefix}%")]
    if category:
        where.append(Notice.category == category)
    if kind:
        where.append(Notice.kind == kind)
    if date_from:
        where.append(Notice.published_at >= _day_start(date_from))
    if date_to:
        where.append(Notice.published_at < _day_start(date_to + dt.timedelta(days=1)))
    return where, joins


def _joined(q: Select) -> Select:
    return q.join(Lot, Notice.lot_id == Lot.id).join(Project, Lot.project_id == Project.id)


#: what a row of the listing shows: the notice, its project's code and name, its lot's state and deadline
LISTING_COLUMNS = (Notice.id, Notice.lot_id, Notice.kind, Notice.title, Notice.body, Notice.published_at,
                   Notice.region, Notice.category, Project.code.label("project_code"),
                   Project.name.label("project_name"), Lot.state.label("lot_state"), Lot.bid_deadline)


def notices_page(*, offset: int, limit: int, **filters) -> list:
    """One page of notices newest first, as rows of :data:`LISTING_COLUMNS` (plain rows, not ORM
    objects: a page is read, never changed), filtered by keyword (title, project, code, tenderee,
    lot), region prefix, category, kind and Beijing-date range.

    The page's notice ids come first, from the index of the filter in listing order, and only those
    rows are joined: a deep page costs a walk along one index, not a join of every notice before it.
    A draft lot never has a notice (:func:`trading.services.common.add_notice` refuses one); the
    draft test on the page's own rows is a second guard.
    """
    where, joins = _notice_filters(**filters)
    ids = select(Notice.id)
    ids = (_joined(ids) if joins else ids).where(*where).order_by(Notice.published_at.desc(), Notice.id.desc())
    page = ids.offset(offset).limit(limit).subquery()
    q = (_joined(select(*LISTING_COLUMNS).join(page, page.c.id == Notice.id)).where(Lot.state != S.DRAFT)
         .order_by(Notice.published_at.desc(), Notice.id.desc()))
    return db.session.execute(q).all()


def count_notices(**filters) -> int:
    """How many notices :func:`notices_page` pages through; cached per filter until the next change
    to what the portal lists (:mod:`trading.services.portal_cache`)."""
    where, joins = _notice_filters(**filters)

    def count() -> int:
        q = select(func.count(Notice.id))
        return db.session.scalar((_joined(q) if joins else q).where(*where))

    key = ("notices", *sorted((k, v) for k, v in filters.items() if v))
    return portal_cache.cached_count(key, count)


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
