"""The archivist's pages: search records, show one with its proof, and verify it in place."""
from __future__ import annotations

import json

from flask import Blueprint, render_template, request

from archive import schemas as s
from archive import services
from archive.models import ArchiveRecord
from archive.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from archive.services import inspect
from core.errors import DomainError, ValidationFailed
from core.permissions import PARAM_MODELS, permission

bp = Blueprint("archive_pages", __name__, url_prefix="/archive", template_folder="templates")
PARAM_MODELS["record_id"] = ArchiveRecord


@bp.get("/")
@permission("archive.pages.search")
def search():
    """Find records by lot, party, event type and date; bad filters are reported, never a 500."""
    errors = s.RecordQuerySchema().validate(request.args)
    if errors:
        raise ValidationFailed("invalid search filter", code="invalid_filter", errors=errors)
    query = s.RecordQuerySchema().load(request.args)
    return render_template("archive/search.html", records=services.search(**query), query=request.args,
                           checkpoint=services.latest_checkpoint(), pending=services.pending_count())


@bp.get("/records/<int:record_id>")
@permission("archive.pages.record")
def record(record_id):
    rec = services.get_record(record_id)
    try:
        detail = inspect.record_detail(rec)
    except DomainError as err:
        return render_template("archive/record.html", rec=rec, error=err.detail, detail=None), err.status
    return render_template("archive/record.html", rec=rec, detail=detail, error=None,
                           payload=json.dumps(detail["envelope"]["payload"], ensure_ascii=False, indent=2))


@bp.get("/records/<int:record_id>/verify")
@permission("archive.pages.record")
def verify(record_id):
    rec = services.get_record(record_id)
    report = inspect.verify_record(rec)
    return render_template("archive/verify.html", rec=rec, report=report)
