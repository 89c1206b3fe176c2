"""The agency console: create a project with its first lot and document, publish, amend, answer
objections, cancel; the downloader list (the tenderee side may always see it)."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from core.db import db
from core.errors import DomainError
from core.events import commit
from core.models import Organisation
from core.pages import act, refusal
from core.permissions import _r, declare, permission
from trading import procedures, services
from trading.models import Lot, Objection
from trading.permissions import TENDEREE
from trading.schemas import AmendmentUploadSchema, ProjectCreateSchema
from trading.views import bp

declare("trading.pages.agency_lot", _r(description="agency console page of one lot", **TENDEREE))


@bp.get("/agency")
@permission("trading.pages.agency")
def agency_home():
    lots = db.session.scalars(services.console_lots(g.user).limit(200)).all()
    return render_template("trading/agency.html", lots=lots)


@bp.route("/agency/new", methods=["GET", "POST"])
@permission("trading.projects.create")
def agency_new():
    if request.method == "GET":
        return render_template("trading/agency_new.html", form={}, errors={},
                               procedures=procedures.PROCEDURES)
    form = request.form.to_dict()
    upload = request.files.get("document")
    try:
        data = ProjectCreateSchema().load(_project_payload(form))
        project = services.create_project(actor=g.user, **data)
        lot = project.lots[0]
        if upload and upload.filename:
            services.upload_document(actor=g.user, lot=lot, filename=upload.filename, data=upload.read(),
                                     content_type=upload.mimetype or "application/octet-stream")
        commit()
    except ValidationError as err:
        return _form_again(form, err.messages)
    except DomainError as err:
        db.session.rollback()
        return _form_again(form, {"_": [refusal(err)]})
    return redirect(url_for(".agency_lot", lot_id=lot.id))


def _project_payload(form: dict) -> dict:
    lot = {k: form.get(k) for k in ("estimate", "bid_deadline") if form.get(k)}
    lot["name"] = form.get("lot_name") or _("Lot 1")
    for key in ("bond_amount", "max_price", "issue_end"):
        if form.get(key):
            lot[key] = form[key]
    out = {k: form[k] for k in ("name", "category", "mode", "region", "tenderee_name", "tenderee_contact",
                                 "funding", "description", "code") if form.get(k)}
    return {**out, "lots": [lot]}


def _form_again(form: dict, errors: dict):
    return render_template("trading/agency_new.html", form=form, errors=errors,
                           procedures=procedures.PROCEDURES), 422


@bp.get("/agency/lots/<int:lot_id>")
@permission("trading.pages.agency_lot")
def agency_lot(lot_id):
    lot = db.session.get(Lot, lot_id)
    downloads = services.downloads(user=g.user, lot=lot)
    org_ids = {d.organisation_id for d in downloads if d.organisation_id}
    names = {o.id: o.name for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
    return render_template("trading/agency_lot.html", lot=lot, project=lot.project, downloads=downloads, names=names,
                           objections=services.objections_for(user=g.user, lot=lot))


def _back(lot_id: int) -> str:
    return url_for(".agency_lot", lot_id=lot_id)


@bp.post("/agency/lots/<int:lot_id>/publish")
@permission("trading.lots.publish")
def agency_publish(lot_id):
    lot = db.session.get(Lot, lot_id)
    return act(lambda: services.publish_lot(actor=g.user, lot=lot), done=_("Published."), back=_back(lot_id))


@bp.post("/agency/lots/<int:lot_id>/documents")
@permission("trading.documents.upload")
def agency_upload(lot_id):
    lot, upload = db.session.get(Lot, lot_id), request.files.get("document")
    data = upload.read() if upload else b""
    return act(lambda: services.upload_document(actor=g.user, lot=lot, filename=upload.filename if upload else "",
                                                data=data, content_type=upload.mimetype if upload else ""),
               done=_("Document uploaded."), back=_back(lot_id))


@bp.post("/agency/lots/<int:lot_id>/amendments")
@permission("trading.amendments.create")
def agency_amend(lot_id):
    lot = db.session.get(Lot, lot_id)
    form = {k: v for k, v in request.form.items() if k in ("title", "body", "new_deadline") and v}
    try:
        data = AmendmentUploadSchema().load(form)
    except ValidationError as err:
        messages = err.messages
        return act(lambda: _invalid(messages), done="", back=_back(lot_id))
    upload = request.files.get("document")
    document = (upload.filename, upload.read(), upload.mimetype) if upload and upload.filename else None
    return act(lambda: services.issue_amendment(actor=g.user, lot=lot, document=document, **data),
               done=_("Amendment issued; every downloader has been notified."), back=_back(lot_id))


def _invalid(messages):
    from core.errors import ValidationFailed

    fields = ", ".join(sorted(messages)) if isinstance(messages, dict) else ""
    raise ValidationFailed(_("Please check: %(fields)s", fields=fields), code="validation_failed")


@bp.post("/agency/lots/<int:lot_id>/cancel")
@permission("trading.lots.cancel")
def agency_cancel(lot_id):
    lot, reason = db.session.get(Lot, lot_id), (request.form.get("reason") or "").strip()[:500]
    if not reason:
        return act(lambda: _missing_reason(), done="", back=_back(lot_id))
    return act(lambda: services.cancel_lot(actor=g.user, lot=lot, reason=reason), done=_("Tender cancelled."),
               back=_back(lot_id))


def _missing_reason():
    from core.errors import ValidationFailed

    raise ValidationFailed(_("Give a reason."), code="reason_required")


@bp.post("/agency/objections/<int:objection_id>/answer")
@permission("trading.objections.answer")
def agency_answer(objection_id):
    objection = db.session.get(Objection, objection_id)
    answer = (request.form.get("answer") or "").strip()[:10000]
    if not answer:
        return act(lambda: _missing_reason(), done="", back=_back(objection.lot_id))
    return act(lambda: services.answer_objection(actor=g.user, objection=objection, answer=answer),
               done=_("Answer sent to the objector."), back=_back(objection.lot_id))
