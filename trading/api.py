"""The trading JSON API under /api/trading: thin — check, parse, one service call, commit, serialise."""
from __future__ import annotations

from flask import g, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from core.db import db, get_or_404
from core.errors import ValidationFailed
from core.events import commit
from core.permissions import permission
from trading import fsm, procedures, services
from trading import schemas as s
from trading.models import BlacklistEntry, Lot, Objection, Project, TenderDocument
from trading.permissions import OPERATIONS  # noqa: F401  (declares the operations)

blp = Blueprint("trading", __name__, url_prefix="/api/trading",
                description="Projects, lots, documents, amendments, objections, blacklist; the public portal")


# --- public portal ------------------------------------------------------------------------------

@blp.route("/procedures")
class Procedures(MethodView):
    @permission("trading.portal.read")
    @blp.response(200)
    def get(self):
        """The procedure table (every limit with its article) and the lifecycle transitions."""
        return {"procedures": [procedures.as_dict(c) for c in procedures.PROCEDURES.values()],
                "transitions": fsm.describe()}


#: deeper pages are refused (a 4xx, not a database overflow): nobody browses 2 million notices
MAX_PAGE = 100_000


@blp.route("/notices")
class Notices(MethodView):
    @permission("trading.portal.read")
    @blp.arguments(s.NoticeQuerySchema, location="query")
    @blp.response(200, s.NoticeSchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, query, pagination_parameters):
        """Notices, newest first: keyword, region prefix, category, kind, Beijing date range."""
        if pagination_parameters.page > MAX_PAGE:
            raise ValidationFailed(f"page must be at most {MAX_PAGE}", code="page_out_of_range")
        filters = {"keyword": query["q"], "region": query["region"], "category": query["category"],
                   "kind": query["kind"], "date_from": query["date_from"], "date_to": query["date_to"]}
        pagination_parameters.item_count = services.count_notices(**filters)
        rows = services.notices_page(offset=pagination_parameters.first_item, limit=pagination_parameters.page_size,
                                     **filters)
        return [row._mapping for row in rows]


@blp.route("/projects/<int:project_id>")
class ProjectItem(MethodView):
    @permission("trading.portal.read")
    @blp.response(200, s.ProjectSchema)
    def get(self, project_id):
        """A project and its lots (drafts only for the tenderee side and supervisors)."""
        project = services.visible_project(g.user, get_or_404(Project, project_id))
        return {**{k: getattr(project, k) for k in s.ProjectSchema().fields if k != "lots"},
                "lots": [lot for lot in project.lots if _visible(lot)]}


def _visible(lot: Lot) -> bool:
    try:
        services.visible_lot(g.user, lot)
        return True
    except Exception:
        return False


@blp.route("/lots/<int:lot_id>")
class LotItem(MethodView):
    @permission("trading.portal.read")
    @blp.response(200, s.LotSchema)
    def get(self, lot_id):
        """A lot with its documents and amendments."""
        return services.visible_lot(g.user, get_or_404(Lot, lot_id))

    @permission("trading.lots.update")
    @blp.arguments(s.LotUpdateSchema)
    @blp.response(200, s.LotSchema)
    def patch(self, data, lot_id):
        """Edit a draft (after publication only amendments change a tender)."""
        lot = services.update_lot(actor=g.user, lot=get_or_404(Lot, lot_id), changes=data)
        commit()
        return lot


@blp.route("/lots/<int:lot_id>/timeline")
class LotTimeline(MethodView):
    @permission("trading.portal.read")
    @blp.response(200, s.TimelineItemSchema(many=True))
    def get(self, lot_id):
        """State changes and amendments, oldest first."""
        return services.timeline(services.visible_lot(g.user, get_or_404(Lot, lot_id)))


@blp.route("/lots/<int:lot_id>/documents")
class LotDocuments(MethodView):
    @permission("trading.portal.read")
    @blp.response(200, s.DocumentSchema(many=True))
    def get(self, lot_id):
        """The lot's documents (name, size, SHA-256): anyone may see what there is to download."""
        return services.visible_lot(g.user, get_or_404(Lot, lot_id)).documents

    @permission("trading.documents.upload")
    @blp.arguments(s.UploadSchema, location="files")
    @blp.response(201, s.DocumentSchema)
    def post(self, files, lot_id):
        """Upload a tender document to a draft (multipart ``file``); stored content-addressed."""
        upload = files["file"]
        doc = services.upload_document(actor=g.user, lot=get_or_404(Lot, lot_id), filename=upload.filename or "",
                                       data=upload.read(), content_type=upload.mimetype or "application/octet-stream")
        commit()
        return doc


@blp.route("/documents/<int:tender_document_id>/download")
class DocumentDownload(MethodView):
    @permission("trading.documents.download")
    @blp.doc(responses={"200": {"description": "the document bytes",
                                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                    "format": "binary"}}}}})
    def get(self, tender_document_id):
        """Download a document: any registered bidder, no sign-up step; the download is recorded."""
        doc = get_or_404(TenderDocument, tender_document_id)
        stream = services.download_document(user=g.user, doc=doc)
        commit()
        return send_file(stream, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename,
                         etag=doc.sha256)


@blp.route("/lots/<int:lot_id>/downloads")
class LotDownloads(MethodView):
    @permission("trading.downloads.list")
    @blp.response(200, s.DownloadSchema(many=True))
    def get(self, lot_id):
        """Who downloaded: the tenderee side always, supervisors only after the deadline (EBM Art.21)."""
        return services.downloads(user=g.user, lot=get_or_404(Lot, lot_id))


# --- tenderee side ------------------------------------------------------------------------------

@blp.route("/projects")
class Projects(MethodView):
    @permission("trading.projects.create")
    @blp.arguments(s.ProjectCreateSchema)
    @blp.response(201, s.ProjectSchema)
    def post(self, data):
        """Register a project with its lots as drafts, owned by your agency."""
        project = services.create_project(actor=g.user, **data)
        commit()
        return project


@blp.route("/lots")
class Lots(MethodView):
    @permission("trading.lots.console")
    @blp.arguments(s.ConsoleQuerySchema, location="query")
    @blp.response(200, s.LotSchema(many=True))
    def get(self, query):
        """Console list: your organisation's and granted lots (agency), every lot (supervisor)."""
        return db.session.scalars(services.console_lots(g.user, state=query["state"]).limit(500)).all()


@blp.route("/lots/<int:lot_id>/publish")
class LotPublish(MethodView):
    @permission("trading.lots.publish")
    @blp.arguments(s.PublishSchema)
    @blp.response(200, s.LotSchema)
    def post(self, _data, lot_id):
        """Publish: bidding period, document issue and bond are checked against the procedure table."""
        lot = services.publish_lot(actor=g.user, lot=get_or_404(Lot, lot_id))
        commit()
        return lot


@blp.route("/lots/<int:lot_id>/cancel")
class LotCancel(MethodView):
    @permission("trading.lots.cancel")
    @blp.arguments(s.ReasonSchema)
    @blp.response(200, s.LotSchema)
    def post(self, data, lot_id):
        """Terminate the tender; downloaders are told (TBR Art.31)."""
        lot = services.cancel_lot(actor=g.user, lot=get_or_404(Lot, lot_id), reason=data["reason"])
        commit()
        return lot


@blp.route("/lots/<int:lot_id>/amendments")
class LotAmendments(MethodView):
    @permission("trading.amendments.create")
    @blp.arguments(s.AmendmentCreateSchema)
    @blp.response(201, s.AmendmentSchema)
    def post(self, data, lot_id):
        """Issue a clarification or change; < 15 days before the deadline moves it (TBR Art.21)."""
        row = services.issue_amendment(actor=g.user, lot=get_or_404(Lot, lot_id), **data)
        commit()
        return row


@blp.route("/lots/<int:lot_id>/objections")
class LotObjections(MethodView):
    @permission("trading.objections.list")
    @blp.response(200, s.ObjectionSchema(many=True))
    def get(self, lot_id):
        """Objections of the lot (a bidder sees its own)."""
        return services.objections_for(user=g.user, lot=get_or_404(Lot, lot_id))

    @permission("trading.objections.create")
    @blp.arguments(s.ObjectionCreateSchema)
    @blp.response(201, s.ObjectionSchema)
    def post(self, data, lot_id):
        """Object to the tender documents (≥ 10 days before the deadline, TBR Art.22)."""
        lot = services.visible_lot(g.user, get_or_404(Lot, lot_id))
        row = services.file_objection(actor=g.user, lot=lot, body=data["body"])
        commit()
        return row


@blp.route("/objections/<int:objection_id>")
class ObjectionItem(MethodView):
    @permission("trading.objections.read")
    @blp.response(200, s.ObjectionSchema)
    def get(self, objection_id):
        """One objection: its filer, the tenderee side and supervisors."""
        return get_or_404(Objection, objection_id)


@blp.route("/objections/<int:objection_id>/answer")
class ObjectionAnswer(MethodView):
    @permission("trading.objections.answer")
    @blp.arguments(s.ObjectionAnswerSchema)
    @blp.response(200, s.ObjectionSchema)
    def post(self, data, objection_id):
        """Answer an objection (due within 3 days; the lot waits until answered)."""
        row = services.answer_objection(actor=g.user, objection=get_or_404(Objection, objection_id), answer=data["answer"])
        commit()
        return row


# --- supervision --------------------------------------------------------------------------------

@blp.route("/lots/<int:lot_id>/suspend")
class LotSuspend(MethodView):
    @permission("trading.lots.suspend")
    @blp.arguments(s.ReasonSchema)
    @blp.response(200, s.LotSchema)
    def post(self, data, lot_id):
        """Suspend a lot (supervision instruction, EBM Art.52)."""
        lot = services.suspend_lot(actor=g.user, lot=get_or_404(Lot, lot_id), reason=data["reason"])
        commit()
        return lot


@blp.route("/lots/<int:lot_id>/resume")
class LotResume(MethodView):
    @permission("trading.lots.resume")
    @blp.arguments(s.ResumeSchema)
    @blp.response(200, s.LotSchema)
    def post(self, data, lot_id):
        """Lift a suspension: the lot returns to the state it was in."""
        lot = services.resume_lot(actor=g.user, lot=get_or_404(Lot, lot_id), reason=data["reason"])
        commit()
        return lot


@blp.route("/lots/<int:lot_id>/audit")
class LotAudit(MethodView):
    @permission("trading.lots.audit")
    @blp.response(200, s.AuditItemSchema(many=True))
    def get(self, lot_id):
        """The lot's audit trail, oldest first (EBM Art.49)."""
        return services.lot_audit_trail(get_or_404(Lot, lot_id))


@blp.route("/blacklist")
class Blacklist(MethodView):
    @permission("trading.blacklist.read")
    @blp.response(200, s.BlacklistSchema(many=True))
    def get(self):
        """Listings in force (失信黑名单)."""
        return services.in_force()

    @permission("trading.blacklist.manage")
    @blp.arguments(s.BlacklistCreateSchema)
    @blp.response(201, s.BlacklistSchema)
    def post(self, data):
        """List an enterprise or a person, with reason, legal basis and period."""
        entry = services.add_entry(actor=g.user, **data)
        commit()
        return entry


@blp.route("/blacklist/<int:blacklist_entry_id>/revoke")
class BlacklistRevoke(MethodView):
    @permission("trading.blacklist.manage")
    @blp.arguments(s.ReasonSchema)
    @blp.response(200, s.BlacklistSchema)
    def post(self, data, blacklist_entry_id):
        """Lift a listing early; the record stays."""
        entry = services.revoke_entry(actor=g.user, entry=get_or_404(BlacklistEntry, blacklist_entry_id),
                                      reason=data["reason"])
        commit()
        return entry
