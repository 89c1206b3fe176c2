"""The public portal: notice search, the notice page of a lot, the blacklist; bidders' objections."""
from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from core.db import db
from core.pages import act
from core.permissions import permission
from trading import procedures, services
from trading.models import Lot
from trading.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from trading.schemas import NoticeQuerySchema
from trading.views import bp

PAGE_SIZE = 20


@bp.get("/notices")
@permission("trading.portal.read")
def notices():
    try:
        query = NoticeQuerySchema().load({k: v for k, v in request.args.items() if k != "page" and v})
        errors = {}
    except ValidationError as err:
        query, errors = NoticeQuerySchema().load({}), err.messages
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    filters = {"keyword": query["q"], "region": query["region"], "category": query["category"],
               "kind": query["kind"], "date_from": query["date_from"], "date_to": query["date_to"]}
    total = services.count_notices(**filters)
    rows = services.notices_page(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, **filters)
    pages = max(1, -(-total // PAGE_SIZE))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("trading/notices.html", rows=rows, total=total, page=page, pages=pages,
                           query=query, errors=errors, args=args,
                           status=400 if errors else 200), 400 if errors else 200


@bp.get("/lots/<int:lot_id>")
@permission("trading.portal.read")
def lot_page(lot_id):
    lot = services.visible_lot(g.user, db.session.get(Lot, lot_id))
    config = procedures.PROCEDURES.get(lot.project.procedure_key)
    user = g.user
    return render_template("trading/lot.html", lot=lot, project=lot.project, config=config,
                           timeline=services.timeline(lot), notices=services.notices_of(lot),
                           tenderee=services.is_tenderee_side(user, lot),
                           mine=services.objections_for(user=user, lot=lot) if user and user.role == "bidder" else [])


@bp.post("/lots/<int:lot_id>/objections")
@permission("trading.objections.create")
def file_objection(lot_id):
    lot = services.visible_lot(g.user, db.session.get(Lot, lot_id))
    body = (request.form.get("body") or "").strip()[:10000]
    if not body:
        abort(400, _("Write the objection first."))
    return act(lambda: services.file_objection(actor=g.user, lot=lot, body=body),
               done=_("Objection filed; the tenderee must answer it."), back=url_for(".lot_page", lot_id=lot_id))


@bp.get("/blacklist")
@permission("trading.blacklist.read")
def blacklist():
    return render_template("trading/blacklist.html", entries=services.in_force())


@bp.get("/procedures")
@permission("trading.portal.read")
def procedure_table():
    return render_template("trading/procedures.html", rows=[procedures.as_dict(c) for c in
                                                            procedures.PROCEDURES.values()])
