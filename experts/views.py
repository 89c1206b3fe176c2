"""Pool manager pages: the pool with statuses, and an import form (CSV/xlsx) with row-level errors."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, g, render_template, request
from sqlalchemy import select

from core.db import db
from core.events import commit
from core.permissions import permission
from experts import permissions as _permissions  # noqa: F401  (declares the operations)
from experts import services
from experts.models import Expert

bp = Blueprint("experts_pages", __name__, template_folder="templates", url_prefix="/experts")


@bp.get("/pool")
@permission("experts.pages.pool")
def pool():
    experts = db.session.scalars(select(Expert).order_by(Expert.id).limit(500)).all()
    return render_template("experts/pool.html", experts=experts, result=None)


@bp.post("/pool/import")
@permission("experts.pages.pool")
def import_pool():
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if upload is None or suffix not in (".csv", ".xlsx"):
        result = {"admitted": [], "errors": [{"row": 0, "error": "invalid_file", "detail": ".csv or .xlsx"}]}
        return render_template("experts/pool.html", experts=[], result=result), 422
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        try:
            rows = services.read_rows(path)
        except Exception:  # a corrupt spreadsheet is the user's input, not a server fault
            rows = None
    if rows is None:
        result = {"admitted": [], "errors": [{"row": 0, "error": "unreadable_file", "detail": suffix}]}
        return render_template("experts/pool.html", experts=[], result=result), 422
    result = services.import_rows(actor=g.user, rows=rows)
    commit()
    experts = db.session.scalars(select(Expert).order_by(Expert.id).limit(500)).all()
    return render_template("experts/pool.html", experts=experts, result=result)
